import type { Endpoint } from '../model/types.js';

/**
 * ClientIP affinity of one service port: client address → the endpoint it sticks to. One table is shared by
 * every listener of the port (cluster IP, external IPs, LoadBalancer IPs, NodePort), as kube-proxy's
 * per-endpoint affinity sets are shared by all of a port's destinations.
 */
export class AffinityTable {
  readonly clients = new Map<string, { ep: string; expires: number }>();

  /** Forget clients whose endpoint is no longer one of the port's endpoints. */
  prune(live: ReadonlySet<string>): void {
    for (const [client, a] of this.clients) if (!live.has(a.ep)) this.clients.delete(client);
  }
}

/**
 * Round robin with optional ClientIP affinity, as the original userspace kube-proxy's LoadBalancerRR.
 * Pure apart from the clock passed in.
 */
export class RoundRobin {
  private endpoints: Endpoint[] = [];
  private next = 0;
  private readonly affinity: Map<string, { ep: string; expires: number }>;
  affinitySeconds = 0;

  constructor(table: AffinityTable = new AffinityTable()) {
    this.affinity = table.clients;
  }

  update(endpoints: readonly Endpoint[], affinitySeconds: number): void {
    this.endpoints = [...endpoints];
    this.affinitySeconds = affinitySeconds;
    if (!affinitySeconds) this.affinity.clear();
    if (this.next >= this.endpoints.length) this.next = 0;
  }

  get size(): number {
    return this.endpoints.length;
  }

  has(key: string): boolean {
    return this.endpoints.some((e) => epKey(e) === key);
  }

  /** The endpoint for a new connection from `clientIP`; `skip` lists endpoints that just failed. */
  pick(clientIP: string, now: number, skip: ReadonlySet<string> = new Set()): Endpoint | undefined {
    if (!this.endpoints.length) return undefined;
    if (this.affinitySeconds) {
      const a = this.affinity.get(clientIP);
      if (a && a.expires > now && !skip.has(a.ep)) {
        const ep = this.endpoints.find((e) => epKey(e) === a.ep);
        if (ep) {
          a.expires = now + this.affinitySeconds * 1000;
          return ep;
        }
      }
    }
    for (let i = 0; i < this.endpoints.length; i++) {
      const ep = this.endpoints[this.next % this.endpoints.length] as Endpoint;
      this.next = (this.next + 1) % this.endpoints.length;
      if (skip.has(epKey(ep))) continue;
      if (this.affinitySeconds)
        this.affinity.set(clientIP, { ep: epKey(ep), expires: now + this.affinitySeconds * 1000 });
      return ep;
    }
    return undefined;
  }
}

export function epKey(e: { ip: string; port: number }): string {
  return `${e.ip}:${e.port}`;
}
