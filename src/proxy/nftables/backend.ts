import { conntrackDeleteUdp } from '../../os/conntrack.js';
import { nftApply, nftListTableObjects, Transaction, type NftOp } from '../../os/nft.js';
import { nsOf } from '../../os/ns.js';
import { errorMessage } from '../../util/errors.js';
import type { BackendOptions, ProxyBackend, SyncStats } from '../backend.js';
import type { DesiredState, ServiceState } from '../model/types.js';
import {
  affinityMapName,
  affinityMapSpec,
  classOps,
  className,
  classRules,
  REGULAR_CHAINS,
  renderService,
  STATIC_MAPS,
  staticChains,
  TABLE,
  type ClassSpec,
} from './layout.js';
import { elemText, type Elem } from '../nftvocab.js';
import { ElementMirror, splitId } from './mirror.js';

const PRECREATE_MAX_ENDPOINTS = 8;
const PRECREATE_KINDS: [ClassSpec['kind'], ClassSpec['masq']][] = [
  ['ip', 'o'],
  ['ip', 'm'],
  ['ip', 'n'],
  ['np', 'm'],
  ['np', 'n'],
];

/** A UDP (address, port) → endpoint IPs, to clear conntrack entries of endpoints that went away. */
interface UdpTarget {
  origDst?: string;
  port: number;
  eps: Set<string>;
}

function udpTargets(st: ServiceState | undefined): Map<string, UdpTarget> {
  const out = new Map<string, UdpTarget>();
  for (const sp of st?.ports ?? []) {
    if (sp.protocol !== 'UDP') continue;
    const add = (origDst: string | undefined, port: number, eps: readonly { ip: string }[]): void => {
      out.set(`${origDst ?? ''}:${port}`, { origDst, port, eps: new Set(eps.map((e) => e.ip)) });
    };
    for (const ip of sp.clusterIPs) add(ip, sp.port, sp.clusterEndpoints);
    for (const ip of [...sp.externalIPs, ...sp.loadBalancerIPs]) add(ip, sp.port, sp.externalEndpoints);
    if (sp.nodePort) add(undefined, sp.nodePort, sp.externalEndpoints);
  }
  return out;
}

/**
 * nftables mode: one table `ip skiff`, never touching any other. Every sync is one `nft -f -`
 * transaction; a partial sync sends only element deletes/adds (and any class chain not yet present) for
 * the services that changed, computed against an in-memory mirror. A full sync flushes and refills the
 * table in place in one transaction (no window where VIPs stop answering), which also adopts a table left
 * by a previous run and repairs drift.
 */
/** The kernel seam: the real nft by default, a recorder in unit tests. */
export interface NftDriver {
  apply(text: string): Promise<void>;
  listObjects(): Promise<{ chains: string[]; maps: string[]; sets: string[] } | undefined>;
  conntrackDeleteUdp(f: Parameters<typeof conntrackDeleteUdp>[0]): Promise<number>;
}

export function kernelDriver(netns?: string): NftDriver {
  const ns = nsOf(netns);
  return {
    apply: (text) => nftApply(text, ns),
    listObjects: () => nftListTableObjects(TABLE, ns),
    conntrackDeleteUdp: (f) => conntrackDeleteUdp(f, ns),
  };
}

/** One service's rendering, cached per ServiceState object: the model replaces a service's state object
 * whenever it changes and never mutates one, so an unchanged object needs no re-rendering. */
interface CachedRender {
  cidr: string | undefined;
  elems: Elem[];
  /** class chain name → spec */
  classes: [string, ClassSpec][];
}

export class NftablesBackend implements ProxyBackend {
  readonly mode = 'nftables';
  private readonly mirror = new ElementMirror();
  private readonly classes = new Map<string, ClassSpec>();
  private udp = new Map<string, Map<string, UdpTarget>>();
  /** The state each service's UDP targets were computed from (skip unchanged services on a full sync). */
  private udpFrom = new Map<string, ServiceState>();
  private readonly renders = new WeakMap<ServiceState, CachedRender>();
  /** False after a failed apply: the mirror's idea of the kernel may then be wrong anywhere, and the next
   * full sync rebuilds it whole instead of only for the elements it touched. */
  private kernelExact = true;
  private staticRuleCount = 0;
  private adopted = false;

  private readonly nft: NftDriver;

  constructor(
    private readonly opts: BackendOptions,
    driver?: NftDriver,
  ) {
    this.nft = driver ?? kernelDriver(opts.netns);
  }

  async init(): Promise<void> {
    this.staticRuleCount = staticChains().reduce((n, [, , rules]) => n + rules.length, 0);
  }

  private get cidr(): string | undefined {
    return this.opts.node.clusterCIDR;
  }

  private render(st: ServiceState): CachedRender {
    const cidr = this.cidr;
    const hit = this.renders.get(st);
    if (hit && hit.cidr === cidr) return hit;
    const r = renderService(st, cidr);
    const out: CachedRender = { cidr, elems: r.elems, classes: r.classes.map((c) => [className(c), c]) };
    this.renders.set(st, out);
    return out;
  }

  async sync(desired: DesiredState, changed: ReadonlySet<string> | 'full'): Promise<SyncStats> {
    const oldUdp = this.udp;
    const stats = changed === 'full' ? await this.fullSync(desired) : await this.partialSync(desired, changed);
    // Only after the kernel accepted the change: forget UDP flows to endpoints that are gone.
    const keys = changed === 'full' ? new Set([...oldUdp.keys(), ...desired.keys()]) : changed;
    const next = new Map(oldUdp);
    for (const key of keys) {
      const st = desired.get(key);
      // Unchanged state object (a periodic full sync): same targets, nothing to clear.
      if (st && this.udpFrom.get(key) === st) continue;
      if (st) this.udpFrom.set(key, st);
      else this.udpFrom.delete(key);
      const now = udpTargets(st);
      if (now.size) next.set(key, now);
      else next.delete(key);
      for (const [tk, before] of oldUdp.get(key) ?? []) {
        const after = now.get(tk)?.eps ?? new Set<string>();
        for (const ip of before.eps) {
          if (after.has(ip)) continue;
          try {
            await this.nft.conntrackDeleteUdp({ origDst: before.origDst, origPortDst: before.port, dstNat: ip });
          } catch (err) {
            this.opts.log?.warn({ err: errorMessage(err) }, 'conntrack cleanup failed');
          }
        }
      }
    }
    this.udp = next;
    return stats;
  }

  private ruleCount(): number {
    let n = this.staticRuleCount;
    for (const c of this.classes.values()) n += classRules(c, this.cidr).length;
    return n;
  }

  private async partialSync(desired: DesiredState, changed: ReadonlySet<string>): Promise<SyncStats> {
    const tx = new Transaction();
    const touched = new Set<string>();
    const newClasses = new Map<string, ClassSpec>();
    for (const key of changed) {
      const st = desired.get(key);
      const r = st ? this.render(st) : undefined;
      for (const [name, c] of r?.classes ?? []) {
        if (!this.classes.has(name) && !newClasses.has(name)) newClasses.set(name, c);
      }
      for (const id of this.mirror.setService(key, r?.elems)) touched.add(id);
    }
    const dels = new Map<string, string[]>();
    const adds = new Map<string, string[]>();
    const push = (m: Map<string, string[]>, map: string, text: string): void => {
      const l = m.get(map);
      if (l) l.push(text);
      else m.set(map, [text]);
    };
    const kernelUpdates: [string, string | undefined][] = [];
    for (const id of touched) {
      const want = this.mirror.wanted(id);
      const have = this.mirror.kernel.get(id);
      if (want === have) continue;
      const [map, key] = splitId(id);
      if (have !== undefined) push(dels, map, key);
      if (want !== undefined) push(adds, map, elemText({ map, key, value: want }));
      kernelUpdates.push([id, want]);
    }
    for (const [map, elements] of dels) tx.add({ verb: 'delete', kind: 'element', table: TABLE, name: map, elements });
    for (const c of newClasses.values()) for (const op of classOps(c, this.cidr, false)) tx.add(op);
    for (const [map, elements] of adds) tx.add({ verb: 'add', kind: 'element', table: TABLE, name: map, elements });
    const text = tx.empty ? '' : tx.render();
    if (text) {
      try {
        await this.nft.apply(text);
      } catch (err) {
        this.kernelExact = false;
        throw err;
      }
    }
    for (const [id, v] of kernelUpdates) {
      if (v === undefined) this.mirror.kernel.delete(id);
      else this.mirror.kernel.set(id, v);
    }
    for (const [name, c] of newClasses) this.classes.set(name, c);
    return { full: false, rules: this.ruleCount(), elements: this.mirror.kernel.size, bytes: text.length };
  }

  /** The whole table's content for `desired`, flushing and refilling what exists (or, with `recreate`,
   * deleting and recreating the table) — either way one transaction. */
  private fullTransaction(
    classes: Map<string, ClassSpec>,
    existing: { chains: string[]; maps: string[]; sets: string[] } | undefined,
    recreate: boolean,
  ): Transaction {
    const tx = new Transaction();
    const t = TABLE;
    // Class chains for small endpoint counts exist from the start, so a partial sync that scales a
    // service (2 → 3 endpoints) stays an elements-only transaction (adding a chain makes nft load more).
    for (let n = 1; n <= PRECREATE_MAX_ENDPOINTS; n++) {
      for (const [kind, masq] of PRECREATE_KINDS) {
        const c: ClassSpec = { kind, n, masq: masq === 'o' && !this.cidr ? 'n' : masq, affinity: 0 };
        classes.set(className(c), c);
      }
    }
    const chains = staticChains();
    const wantedChains = new Set([...chains.map(([n]) => n), ...classes.keys()]);
    const wantedMaps = new Set(STATIC_MAPS.map(([, n]) => n));
    for (const c of classes.values()) if (c.affinity) wantedMaps.add(affinityMapName(c.kind, c.affinity));

    tx.add({ verb: 'add', kind: 'table', table: t });
    if (recreate) tx.add({ verb: 'delete', kind: 'table', table: t }).add({ verb: 'add', kind: 'table', table: t });
    const ex = recreate ? undefined : existing;
    for (const [kind, name, spec] of STATIC_MAPS) {
      tx.add({ verb: 'add', kind, table: t, name, spec });
      if (ex && [...ex.maps, ...ex.sets].includes(name)) tx.add({ verb: 'flush', kind, table: t, name });
    }
    const specs = new Map(chains.map(([n, spec]) => [n, spec]));
    for (const name of ex?.chains ?? []) {
      // `add` first: flushing a chain someone deleted would fail the whole transaction.
      tx.add({ verb: 'add', kind: 'chain', table: t, name, spec: specs.get(name) });
      tx.add({ verb: 'flush', kind: 'chain', table: t, name });
    }
    for (const name of ex?.chains ?? []) {
      if (!wantedChains.has(name)) tx.add({ verb: 'delete', kind: 'chain', table: t, name });
    }
    for (const name of ex?.maps ?? []) {
      if (wantedMaps.has(name)) continue;
      const aff = /^aff_(ip|np)_(\d+)$/.exec(name);
      if (aff)
        tx.add({
          verb: 'add',
          kind: 'map',
          table: t,
          name,
          spec: affinityMapSpec(aff[1] as 'ip' | 'np', Number(aff[2])),
        });
      tx.add({ verb: 'delete', kind: 'map', table: t, name });
    }
    for (const name of ex?.sets ?? [])
      if (!wantedMaps.has(name)) tx.add({ verb: 'delete', kind: 'set', table: t, name });
    // Class chains first: the verdict-map elements and base chains refer to them.
    for (const c of classes.values()) for (const op of classOps(c, this.cidr, false)) tx.add(op);
    for (const [name, spec, rules] of chains) {
      if (REGULAR_CHAINS.has(name)) {
        tx.add({ verb: 'add', kind: 'chain', table: t, name });
        for (const rule of rules) tx.add({ verb: 'add', kind: 'rule', table: t, chain: name, rule });
      }
    }
    for (const [map, elements] of this.mirror.wantedTextByMap())
      tx.add({ verb: 'add', kind: 'element', table: t, name: map, elements });
    for (const [name, spec, rules] of chains) {
      if (!spec) continue;
      tx.add({ verb: 'add', kind: 'chain', table: t, name, spec });
      for (const rule of rules) tx.add({ verb: 'add', kind: 'rule', table: t, chain: name, rule });
    }
    return tx;
  }

  /** Bring the mirror up to `desired` (only services whose state object changed cost anything); returns
   * the element ids that changed and every class chain in use. */
  private updateMirror(desired: DesiredState): { touched: Set<string>; classes: Map<string, ClassSpec> } {
    const touched = new Set<string>();
    const classes = new Map<string, ClassSpec>();
    const gone = [...this.mirror.services()].filter((key) => !desired.has(key));
    for (const key of gone) for (const id of this.mirror.setService(key, undefined)) touched.add(id);
    for (const [key, st] of desired) {
      const r = this.render(st);
      for (const [name, c] of r.classes) classes.set(name, c);
      for (const id of this.mirror.setService(key, r.elems)) touched.add(id);
    }
    return { touched, classes };
  }

  /** What this process created (the kernel is listed only once, to adopt a previous run's table). */
  private known(): { chains: string[]; maps: string[]; sets: string[] } {
    const chains = [...staticChains().map(([n]) => n), ...this.classes.keys()];
    const maps = STATIC_MAPS.filter(([k]) => k === 'map').map(([, n]) => n);
    for (const c of this.classes.values()) if (c.affinity) maps.push(affinityMapName(c.kind, c.affinity));
    return { chains, maps: [...new Set(maps)], sets: STATIC_MAPS.filter(([k]) => k === 'set').map(([, n]) => n) };
  }

  private async fullSync(desired: DesiredState): Promise<SyncStats> {
    const existing = this.adopted ? this.known() : await this.nft.listObjects();
    const { touched, classes } = this.updateMirror(desired);
    let text = this.fullTransaction(classes, existing, false).render();
    try {
      try {
        await this.nft.apply(text);
      } catch (err) {
        if (!existing) throw err;
        // The table exists with an incompatible shape (an older layout): replace it, still atomically.
        this.opts.log?.warn({ err: errorMessage(err) }, 'adopting the table failed; recreating it in one transaction');
        text = this.fullTransaction(classes, existing, true).render();
        await this.nft.apply(text);
      }
    } catch (err) {
      this.kernelExact = false;
      throw err;
    }
    this.classes.clear();
    for (const [n, c] of classes) this.classes.set(n, c);
    // The kernel held what was wanted before (after every successful sync it does), so only the elements
    // this sync touched can differ; after a failed apply nothing is known and the whole mirror is rebuilt.
    if (this.kernelExact) this.mirror.kernelIsWantedFor(touched);
    else this.mirror.kernelIsWanted();
    this.kernelExact = true;
    this.adopted = true;
    return { full: true, rules: this.ruleCount(), elements: this.mirror.kernel.size, bytes: text.length };
  }

  async cleanup(): Promise<void> {
    const ops: NftOp[] = [
      { verb: 'add', kind: 'table', table: TABLE },
      { verb: 'delete', kind: 'table', table: TABLE },
    ];
    const tx = new Transaction();
    for (const op of ops) tx.add(op);
    await this.nft.apply(tx.render());
    this.mirror.clear();
    this.classes.clear();
    this.udp.clear();
    this.udpFrom.clear();
    this.kernelExact = true;
  }
}
