import type { KubeConfig, V1Lease } from '@kubernetes/client-node';
import { Informer } from '../../client/informer.js';
import { RawApiError, rawRequest } from '../../client/raw.js';
import type { Logger } from '../../util/log.js';
import { errorMessage } from '../../util/errors.js';

/**
 * Which nodes' proxies are alive to announce LoadBalancer IPs (MetalLB's speaker list, here kept with
 * coordination.k8s.io/v1 Leases instead of memberlist): each proxy renews a short Lease of its own, and a
 * member is live while its Lease was renewed within its duration. A node whose proxy dies drops out in
 * about one lease duration, long before the node-lifecycle grace period turns the Node NotReady.
 */
export interface Membership {
  start(): void;
  /** Leave (delete this node's Lease), so the others take over at once. */
  stop(): Promise<void>;
  /** The live members, sorted. */
  live(): string[];
  onChange(cb: (live: string[]) => void): void;
}

const ANNOUNCER_NAMESPACE = 'kube-system';
const ANNOUNCER_LEASE_PREFIX = 'skiff-l2-announcer-';
/** Short, so failover takes seconds: renewed 4 times per duration, so one lost renewal changes nothing. */
const ANNOUNCER_LEASE_SECONDS = 2;

/** A member's Lease as last observed: its renewTime and when (local clock) that value was first seen. */
export interface Observed {
  renewTime: string;
  atMs: number;
  durationMs: number;
}

/**
 * Live members: those whose renewTime changed within their lease duration of `nowMs`. Liveness is judged
 * by when this process saw the renewal (as client-go's leader election does), not by the renewTime value
 * itself, so clock skew between nodes does not matter. Pure.
 */
export function liveMembers(seen: ReadonlyMap<string, Observed>, nowMs: number): string[] {
  return [...seen]
    .filter(([, o]) => nowMs < o.atMs + o.durationMs)
    .map(([n]) => n)
    .sort();
}

/** When the next live member expires (ms since epoch), if any. Pure. */
export function nextExpiry(seen: ReadonlyMap<string, Observed>, nowMs: number): number | undefined {
  let next: number | undefined;
  for (const o of seen.values()) {
    const t = o.atMs + o.durationMs;
    if (t > nowMs && (next === undefined || t < next)) next = t;
  }
  return next;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
function microTime(d = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

const LEASES = `/apis/coordination.k8s.io/v1/namespaces/${ANNOUNCER_NAMESPACE}/leases`;

export class LeaseMembership implements Membership {
  private readonly seen = new Map<string, Observed>();
  private readonly informer: Informer<V1Lease>;
  private readonly handlers: ((live: string[]) => void)[] = [];
  private renewTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private renewing = false;
  private last: V1Lease | undefined;
  private lastLive = '';
  private stopped = false;

  constructor(
    private readonly kc: KubeConfig,
    private readonly nodeName: string,
    private readonly log?: Logger,
    private readonly durationSeconds = ANNOUNCER_LEASE_SECONDS,
  ) {
    this.informer = new Informer<V1Lease>(kc, { path: LEASES, log });
    this.informer.on((type, lease) => this.observe(type === 'delete' ? undefined : lease, lease));
  }

  private get leaseName(): string {
    return `${ANNOUNCER_LEASE_PREFIX}${this.nodeName}`;
  }

  start(): void {
    this.stopped = false;
    this.informer.start();
    void this.renew();
    this.renewTimer = setInterval(() => void this.renew(), (this.durationSeconds * 1000) / 4);
  }

  live(): string[] {
    return liveMembers(this.seen, Date.now());
  }

  onChange(cb: (live: string[]) => void): void {
    this.handlers.push(cb);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.renewTimer);
    clearTimeout(this.expiryTimer);
    this.informer.stop();
    try {
      await rawRequest(this.kc, 'DELETE', `${LEASES}/${this.leaseName}`, undefined, 5000);
    } catch (err) {
      if (!(err instanceof RawApiError && err.code === 404)) {
        this.log?.warn({ err: errorMessage(err) }, 'cannot delete the L2 announcer lease; it expires by itself');
      }
    }
  }

  /** A Lease arrived (or went): update what was seen of its holder. */
  private observe(lease: V1Lease | undefined, from: V1Lease): void {
    const name = from.metadata?.name ?? '';
    if (!name.startsWith(ANNOUNCER_LEASE_PREFIX)) return;
    const holder = name.slice(ANNOUNCER_LEASE_PREFIX.length);
    if (holder === this.nodeName) return; // our own liveness is our own renewals
    const renewTime = lease?.spec?.renewTime as unknown as string | undefined;
    if (!lease || !renewTime) this.seen.delete(holder);
    else {
      const prev = this.seen.get(holder);
      const durationMs = (lease.spec?.leaseDurationSeconds ?? this.durationSeconds) * 1000;
      const now = Date.now();
      if (!prev) {
        // First sight (a start, a relist): live only if its renewal is recent by its own clock too, so a
        // Lease left by a node that died before we started is not taken for a live member.
        const t = Date.parse(renewTime);
        if (Number.isFinite(t) && now < t + durationMs) this.seen.set(holder, { renewTime, atMs: now, durationMs });
      } else if (prev.renewTime !== renewTime) this.seen.set(holder, { renewTime, atMs: now, durationMs });
    }
    this.emit();
  }

  private async renew(): Promise<void> {
    if (this.renewing || this.stopped) return;
    this.renewing = true;
    const spec = { holderIdentity: this.nodeName, leaseDurationSeconds: this.durationSeconds, renewTime: microTime() };
    const t0 = Date.now();
    try {
      const path = `${LEASES}/${this.leaseName}`;
      const json = { contentType: 'application/json', value: {} as unknown };
      try {
        if (!this.last) this.last = await rawRequest<V1Lease>(this.kc, 'GET', path, undefined, 5000);
        json.value = { ...this.last, spec: { ...this.last.spec, ...spec } };
        this.last = await rawRequest<V1Lease>(this.kc, 'PUT', path, json, 5000);
      } catch (err) {
        this.last = undefined;
        if (!(err instanceof RawApiError && err.code === 404)) throw err;
        json.value = {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.leaseName, namespace: ANNOUNCER_NAMESPACE },
          spec,
        };
        this.last = await rawRequest<V1Lease>(this.kc, 'POST', LEASES, json, 5000);
      }
      if (!this.stopped) {
        this.seen.set(this.nodeName, { renewTime: spec.renewTime, atMs: t0, durationMs: this.durationSeconds * 1000 });
        this.emit();
      }
    } catch (err) {
      this.log?.warn({ err: errorMessage(err) }, 'cannot renew the L2 announcer lease');
      this.emit(); // our own entry may have expired
    } finally {
      this.renewing = false;
    }
  }

  /** Tell the handlers if the live set changed, and wake up again when the next member would expire. */
  private emit(): void {
    if (this.stopped) return;
    const now = Date.now();
    const live = liveMembers(this.seen, now);
    const key = live.join(',');
    if (key !== this.lastLive) {
      this.lastLive = key;
      for (const h of this.handlers) h(live);
    }
    clearTimeout(this.expiryTimer);
    const next = nextExpiry(this.seen, now);
    if (next !== undefined) this.expiryTimer = setTimeout(() => this.emit(), next - now + 5);
  }
}
