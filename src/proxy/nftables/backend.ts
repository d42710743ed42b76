import { nftApply, nftListTableObjects, Transaction, type NftOp } from '../../os/nft.js';
import { nsOf } from '../../os/ns.js';
import { errorMessage } from '../../util/errors.js';
import type { BackendOptions, ProxyBackend, SyncStats } from '../backend.js';
import { kernelConntrack, reconcileUdpConntrack, servingFrontends, type ConntrackOps } from '../conntrack.js';
import { familyFacts } from '../model/families.js';
import type { DesiredState, IPFamily, ServiceState } from '../model/types.js';
import type { TableRef } from '../../os/nft.js';
import {
  bucketChain,
  bucketChainDef,
  bucketOps,
  bucketsOf,
  classOps,
  className,
  classRules,
  epsMap,
  epsMapDef,
  REGULAR_CHAINS,
  renderService,
  staticMaps,
  staticChains,
  tableOf,
  type ClassSpec,
  type LayoutOptions,
  type OwnChain,
  type OwnSet,
} from './layout.js';
import { elementOps, elemText, localTraffic, nodePortIpElems, type Elem } from '../nftvocab.js';
import { ElementMirror, splitId } from './mirror.js';

const PRECREATE_MAX_ENDPOINTS = 8;
const PRECREATE_KINDS: [ClassSpec['kind'], ClassSpec['masq']][] = [
  ['ip', 'o'],
  ['ip', 'm'],
  ['ip', 'n'],
  ['np', 'm'],
  ['np', 'n'],
];

/**
 * nftables mode, one family: one table (`ip skiff` or `ip6 skiff`), never touching any other. Every sync is one `nft -f -`
 * transaction; a partial sync sends only element deletes/adds (and any class chain not yet present) for
 * the services that changed, computed against an in-memory mirror. A full sync flushes and refills the
 * table in place in one transaction (no window where VIPs stop answering), which also adopts a table left
 * by a previous run and repairs drift.
 */
/** The kernel seam: the real nft by default, a recorder in unit tests. */
export interface NftDriver {
  apply(text: string): Promise<void>;
  listObjects(): Promise<{ chains: string[]; maps: string[]; sets: string[] } | undefined>;
  conntrack: ConntrackOps;
}

export function kernelDriver(netns?: string, table: TableRef = tableOf(4)): NftDriver {
  const ns = nsOf(netns);
  return {
    apply: (text) => nftApply(text, ns),
    listObjects: () => nftListTableObjects(table, ns),
    conntrack: kernelConntrack(netns),
  };
}

/** One service's rendering, cached per ServiceState object: the model replaces a service's state object
 * whenever it changes and never mutates one, so an unchanged object needs no re-rendering. */
interface CachedRender {
  elems: Elem[];
  /** class chain name → spec */
  classes: [string, ClassSpec][];
  chains: OwnChain[];
  sets: OwnSet[];
}

/** Objects a single service owns (affinity services): chain name → rules, set name → spec. */
interface Owned {
  chains: Map<string, string[]>;
  sets: Map<string, string>;
}

type Listing = { chains: string[]; maps: string[]; sets: string[] };

export class NftablesBackend implements ProxyBackend {
  readonly mode = 'nftables';
  private readonly mirror = new ElementMirror();
  private readonly classes = new Map<string, ClassSpec>();
  /** Bucket maps and chains that exist: [kind][short-circuit?] → count. */
  private buckets = { ip: [0, 0], np: [0, 0] };
  private readonly owned = new Map<string, Owned>();
  private readonly renders = new WeakMap<ServiceState, CachedRender>();
  /** False after a failed apply: the mirror's idea of the kernel may then be wrong anywhere, and the next
   * full sync rebuilds it whole (and lists the kernel again) instead of only what it touched. */
  private kernelExact = true;
  private staticRuleCount = 0;
  private adopted = false;

  private readonly nft: NftDriver;
  private readonly family: IPFamily;
  private readonly table: TableRef;

  constructor(
    private readonly opts: BackendOptions,
    driver?: NftDriver,
  ) {
    this.family = opts.family ?? 4;
    this.table = tableOf(this.family);
    this.nft = driver ?? kernelDriver(opts.netns, this.table);
  }

  /** Read at every use: the server updates node facts (the NodePort addresses) and then asks for a full
   * sync. What per-service renders depend on (CIDR, masquerade flags) is fixed for the process. */
  private get layout(): LayoutOptions {
    const n = familyFacts(this.opts.node, this.family);
    return {
      family: this.family,
      clusterCIDR: n.clusterCIDR,
      detectLocalMode: n.detectLocalMode,
      nodePodCIDR: n.nodePodCIDR,
      podBridgeInterface: n.podBridgeInterface,
      podInterfaceNamePrefix: n.podInterfaceNamePrefix,
      masqueradeBit: n.masqueradeBit,
      masqueradeAll: n.masqueradeAll,
      serviceCIDR: n.serviceCIDR,
      nodePortIPs: n.nodePortIPs,
    };
  }

  async init(): Promise<void> {
    this.staticRuleCount = staticChains(this.layout).reduce((n, [, , rules]) => n + rules.length, 0);
  }

  private render(st: ServiceState): CachedRender {
    const hit = this.renders.get(st);
    if (hit) return hit;
    const r = renderService(st, this.layout);
    const out: CachedRender = {
      elems: r.elems,
      classes: r.classes.map((c) => [className(c), c]),
      chains: r.chains,
      sets: r.sets,
    };
    this.renders.set(st, out);
    return out;
  }

  async sync(desired: DesiredState, changed: ReadonlySet<string> | 'full'): Promise<SyncStats> {
    const stats = changed === 'full' ? await this.fullSync(desired) : await this.partialSync(desired, changed);
    // Only after the kernel accepted the change: UDP flows whose DNAT target is not a serving endpoint any
    // more are removed, after every sync (the first one after a restart included), as kube-proxy.
    await reconcileUdpConntrack(this.nft.conntrack, servingFrontends(desired, this.family), 'source-ip', this.opts.log);
    return stats;
  }

  private ruleCount(): number {
    let n = this.staticRuleCount;
    for (const c of this.classes.values()) n += classRules(c, this.layout).length;
    for (const k of ['ip', 'np'] as const) n += this.buckets[k][0]! + this.buckets[k][1]!;
    for (const o of this.owned.values()) for (const rules of o.chains.values()) n += rules.length;
    return n;
  }

  /** Bucket maps/chains the given classes need beyond what exists (and the new counts). */
  private static bucketGrowth(
    classes: Iterable<ClassSpec>,
    have: NftablesBackend['buckets'],
    f: IPFamily,
  ): { ops: NftOp[]; want: NftablesBackend['buckets'] } {
    const ops: NftOp[] = [];
    const want = { ip: [...have.ip], np: [...have.np] };
    for (const c of classes) {
      const b = bucketsOf(c);
      want[c.kind][0] = Math.max(want[c.kind][0]!, b.eps);
      want[c.kind][1] = Math.max(want[c.kind][1]!, b.sc);
    }
    for (const k of ['ip', 'np'] as const) {
      ops.push(...bucketOps(k, have[k][0]!, want[k][0]!, false, f), ...bucketOps(k, have[k][1]!, want[k][1]!, true, f));
    }
    return { ops, want };
  }

  private static ownedOf(r: CachedRender | undefined): Owned | undefined {
    if (!r || (!r.chains.length && !r.sets.length)) return undefined;
    return {
      chains: new Map(r.chains.map((c) => [c.name, c.rules])),
      sets: new Map(r.sets.map((x) => [x.name, x.spec])),
    };
  }

  private async partialSync(desired: DesiredState, changed: ReadonlySet<string>): Promise<SyncStats> {
    const tx = new Transaction();
    const t = this.table;
    const touched = new Set<string>();
    const newClasses = new Map<string, ClassSpec>();
    const ownedNext = new Map<string, Owned | undefined>();
    for (const key of changed) {
      const st = desired.get(key);
      const r = st ? this.render(st) : undefined;
      for (const [name, c] of r?.classes ?? []) {
        if (!this.classes.has(name) && !newClasses.has(name)) newClasses.set(name, c);
      }
      for (const id of this.mirror.setService(key, r?.elems)) touched.add(id);
      ownedNext.set(key, NftablesBackend.ownedOf(r));
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
    for (const [map, elements] of dels) tx.add({ verb: 'delete', kind: 'element', table: t, name: map, elements });
    const growth = NftablesBackend.bucketGrowth(newClasses.values(), this.buckets, this.family);
    for (const op of growth.ops) tx.add(op);
    for (const c of newClasses.values()) for (const op of classOps(c, this.layout, false)) tx.add(op);
    // Chains and sets of affinity services: new sets, then chains (re)written whole where they changed.
    const stale: Owned = { chains: new Map(), sets: new Map() };
    for (const [key, next] of ownedNext) {
      const prev = this.owned.get(key);
      for (const [name, spec] of next?.sets ?? []) {
        if (prev?.sets.get(name) !== spec) tx.add({ verb: 'add', kind: 'set', table: t, name, spec });
      }
      for (const [name, rules] of next?.chains ?? []) {
        const before = prev?.chains.get(name);
        if (before && before.join('\n') === rules.join('\n')) continue;
        tx.add({ verb: 'add', kind: 'chain', table: t, name });
        if (before) tx.add({ verb: 'flush', kind: 'chain', table: t, name });
        for (const rule of rules) tx.add({ verb: 'add', kind: 'rule', table: t, chain: name, rule });
      }
      for (const [name, rules] of prev?.chains ?? []) if (!next?.chains.has(name)) stale.chains.set(name, rules);
      for (const [name, spec] of prev?.sets ?? []) if (!next?.sets.has(name)) stale.sets.set(name, spec);
    }
    for (const [map, elements] of adds) tx.add({ verb: 'add', kind: 'element', table: t, name: map, elements });
    for (const name of stale.chains.keys()) tx.add({ verb: 'flush', kind: 'chain', table: t, name });
    for (const name of stale.chains.keys()) tx.add({ verb: 'delete', kind: 'chain', table: t, name });
    for (const name of stale.sets.keys()) tx.add({ verb: 'delete', kind: 'set', table: t, name });
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
    this.buckets = growth.want;
    for (const [key, next] of ownedNext) {
      if (next) this.owned.set(key, next);
      else this.owned.delete(key);
    }
    return { full: false, rules: this.ruleCount(), elements: this.mirror.kernel.size, bytes: text.length };
  }

  /** Names of the bucket maps and chains for these counts. */
  private static bucketNames(b: NftablesBackend['buckets']): { maps: string[]; chains: string[] } {
    const maps: string[] = [];
    const chains: string[] = [];
    for (const k of ['ip', 'np'] as const) {
      for (const sc of [false, true]) {
        for (let i = 0; i < b[k][sc ? 1 : 0]!; i++) {
          maps.push(epsMap(k, i, sc));
          chains.push(bucketChain(k, i, sc));
        }
      }
    }
    return { maps, chains };
  }

  /** The whole table's content for `desired`, flushing and refilling what exists (or, with `recreate`,
   * deleting and recreating the table) — either way one transaction. */
  private fullTransaction(
    classes: Map<string, ClassSpec>,
    owned: Owned,
    existing: Listing | undefined,
    recreate: boolean,
  ): { tx: Transaction; buckets: NftablesBackend['buckets'] } {
    const tx = new Transaction();
    const t = this.table;
    const STATIC_MAPS = staticMaps(this.family);
    // Class chains for small endpoint counts exist from the start, so a partial sync that scales a
    // service (2 → 3 endpoints) stays an elements-only transaction (adding a chain makes nft load more).
    for (let n = 1; n <= PRECREATE_MAX_ENDPOINTS; n++) {
      for (const [kind, masq] of PRECREATE_KINDS) {
        const c: ClassSpec = { kind, n, masq: masq === 'o' && !localTraffic(this.layout) ? 'n' : masq };
        if (!classes.has(className(c))) classes.set(className(c), c);
      }
    }
    const buckets = {
      ip: [PRECREATE_MAX_ENDPOINTS, PRECREATE_MAX_ENDPOINTS],
      np: [PRECREATE_MAX_ENDPOINTS, PRECREATE_MAX_ENDPOINTS],
    };
    for (const c of classes.values()) {
      const b = bucketsOf(c);
      buckets[c.kind][0] = Math.max(buckets[c.kind][0]!, b.eps);
      buckets[c.kind][1] = Math.max(buckets[c.kind][1]!, b.sc);
    }
    const bn = NftablesBackend.bucketNames(buckets);
    const chains = staticChains(this.layout);
    const wantedChains = new Set([...chains.map(([n]) => n), ...classes.keys(), ...bn.chains, ...owned.chains.keys()]);
    const flushedMaps = new Set([...STATIC_MAPS.map(([, n]) => n), ...bn.maps]);
    const wantedSets = new Set([...flushedMaps, ...owned.sets.keys()]);

    tx.add({ verb: 'add', kind: 'table', table: t });
    if (recreate) tx.add({ verb: 'delete', kind: 'table', table: t }).add({ verb: 'add', kind: 'table', table: t });
    const ex = recreate ? undefined : existing;
    const exMaps = new Set([...(ex?.maps ?? []), ...(ex?.sets ?? [])]);
    for (const [kind, name, spec] of STATIC_MAPS) {
      tx.add({ verb: 'add', kind, table: t, name, spec });
      if (exMaps.has(name)) tx.add({ verb: 'flush', kind, table: t, name });
    }
    for (const k of ['ip', 'np'] as const) {
      for (const sc of [false, true]) {
        for (let i = 0; i < buckets[k][sc ? 1 : 0]!; i++) {
          const [, name, spec] = epsMapDef(k, i, sc, this.family);
          tx.add({ verb: 'add', kind: 'map', table: t, name, spec });
          if (exMaps.has(name)) tx.add({ verb: 'flush', kind: 'map', table: t, name });
        }
      }
    }
    // Affinity sets keep their contents (the remembered clients) across full syncs and restarts.
    for (const [name, spec] of owned.sets) tx.add({ verb: 'add', kind: 'set', table: t, name, spec });
    const specs = new Map(chains.map(([n, spec]) => [n, spec]));
    for (const name of ex?.chains ?? []) {
      // `add` first: flushing a chain someone deleted would fail the whole transaction.
      tx.add({ verb: 'add', kind: 'chain', table: t, name, spec: specs.get(name) });
      tx.add({ verb: 'flush', kind: 'chain', table: t, name });
    }
    for (const name of ex?.chains ?? []) {
      if (!wantedChains.has(name)) tx.add({ verb: 'delete', kind: 'chain', table: t, name });
    }
    for (const name of ex?.maps ?? [])
      if (!wantedSets.has(name)) tx.add({ verb: 'delete', kind: 'map', table: t, name });
    for (const name of ex?.sets ?? [])
      if (!wantedSets.has(name)) tx.add({ verb: 'delete', kind: 'set', table: t, name });
    // Regular chains first, in dependency order: what verdicts and rules jump to must exist.
    for (const [name, , rules] of chains) {
      if (!REGULAR_CHAINS.has(name)) continue;
      tx.add({ verb: 'add', kind: 'chain', table: t, name });
      for (const rule of rules) tx.add({ verb: 'add', kind: 'rule', table: t, chain: name, rule });
    }
    for (const k of ['ip', 'np'] as const) {
      for (const sc of [false, true]) {
        for (let i = 0; i < buckets[k][sc ? 1 : 0]!; i++) {
          const [name, , rules] = bucketChainDef(k, i, sc, this.family);
          tx.add({ verb: 'add', kind: 'chain', table: t, name });
          for (const rule of rules) tx.add({ verb: 'add', kind: 'rule', table: t, chain: name, rule });
        }
      }
    }
    for (const c of classes.values()) for (const op of classOps(c, this.layout, false)) tx.add(op);
    for (const name of owned.chains.keys()) tx.add({ verb: 'add', kind: 'chain', table: t, name });
    for (const [name, rules] of owned.chains) {
      for (const rule of rules) tx.add({ verb: 'add', kind: 'rule', table: t, chain: name, rule });
    }
    for (const [map, elements] of this.mirror.wantedTextByMap())
      tx.add({ verb: 'add', kind: 'element', table: t, name: map, elements });
    for (const op of elementOps(t, nodePortIpElems(this.layout))) tx.add(op);
    for (const [name, spec, rules] of chains) {
      if (!spec) continue;
      tx.add({ verb: 'add', kind: 'chain', table: t, name, spec });
      for (const rule of rules) tx.add({ verb: 'add', kind: 'rule', table: t, chain: name, rule });
    }
    return { tx, buckets };
  }

  /** Bring the mirror up to `desired` (only services whose state object changed cost anything); returns
   * the element ids that changed, every class chain in use and the services' own chains and sets. */
  private updateMirror(desired: DesiredState): {
    touched: Set<string>;
    classes: Map<string, ClassSpec>;
    owned: Map<string, Owned>;
  } {
    const touched = new Set<string>();
    const classes = new Map<string, ClassSpec>();
    const owned = new Map<string, Owned>();
    const gone = [...this.mirror.services()].filter((key) => !desired.has(key));
    for (const key of gone) for (const id of this.mirror.setService(key, undefined)) touched.add(id);
    for (const [key, st] of desired) {
      const r = this.render(st);
      for (const [name, c] of r.classes) classes.set(name, c);
      for (const id of this.mirror.setService(key, r.elems)) touched.add(id);
      const o = NftablesBackend.ownedOf(r);
      if (o) owned.set(key, o);
    }
    return { touched, classes, owned };
  }

  /** What this process created (the kernel is listed only once, to adopt a previous run's table). */
  private known(): Listing {
    const bn = NftablesBackend.bucketNames(this.buckets);
    const chains = [...staticChains(this.layout).map(([n]) => n), ...this.classes.keys(), ...bn.chains];
    const STATIC_MAPS = staticMaps(this.family);
    const sets = STATIC_MAPS.filter(([k]) => k === 'set').map(([, n]) => n);
    for (const o of this.owned.values()) {
      chains.push(...o.chains.keys());
      sets.push(...o.sets.keys());
    }
    return { chains, maps: [...STATIC_MAPS.filter(([k]) => k === 'map').map(([, n]) => n), ...bn.maps], sets };
  }

  private async fullSync(desired: DesiredState): Promise<SyncStats> {
    const existing = this.adopted && this.kernelExact ? this.known() : await this.nft.listObjects();
    const { touched, classes, owned } = this.updateMirror(desired);
    const all: Owned = { chains: new Map(), sets: new Map() };
    for (const o of owned.values()) {
      for (const [n, r] of o.chains) all.chains.set(n, r);
      for (const [n, s] of o.sets) all.sets.set(n, s);
    }
    let built = this.fullTransaction(classes, all, existing, false);
    let text = built.tx.render();
    try {
      try {
        await this.nft.apply(text);
      } catch (err) {
        if (!existing) throw err;
        // The table exists with an incompatible shape (an older layout): replace it, still atomically.
        this.opts.log?.warn({ err: errorMessage(err) }, 'adopting the table failed; recreating it in one transaction');
        built = this.fullTransaction(classes, all, existing, true);
        text = built.tx.render();
        await this.nft.apply(text);
      }
    } catch (err) {
      this.kernelExact = false;
      throw err;
    }
    this.classes.clear();
    for (const [n, c] of classes) this.classes.set(n, c);
    this.buckets = built.buckets;
    this.owned.clear();
    for (const [k, o] of owned) this.owned.set(k, o);
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
      { verb: 'add', kind: 'table', table: this.table },
      { verb: 'delete', kind: 'table', table: this.table },
    ];
    const tx = new Transaction();
    for (const op of ops) tx.add(op);
    await this.nft.apply(tx.render());
    this.mirror.clear();
    this.classes.clear();
    this.owned.clear();
    this.buckets = { ip: [0, 0], np: [0, 0] };
    this.kernelExact = true;
    this.adopted = false;
  }
}
