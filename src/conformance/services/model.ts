/**
 * The services conformance matrix, as data: every cell (Service type × source × policy × protocol × family)
 * and what kube-proxy does in it. Pure: no kernel, no API; the runner (run.ts) fills in what happened and
 * `judge` compares. The rules, with the kube-proxy source each comes from, are written out in
 * docs/conformance.md; each rule below names the one it implements.
 */

type SvcType = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalIP';
type TrafficPolicy = 'Cluster' | 'Local';
type Affinity = 'None' | 'ClientIP';
type Proto = 'TCP' | 'UDP';
export type Family = 4 | 6;
export type ProxyMode = 'nftables' | 'userspace';

/**
 * Who sends. The fixture puts endpoints on the "endpoint node" (and, with three nodes or more, one on a
 * second node) and none on the "other node".
 */
export type SourceKind =
  'pod-endpoint-node' | 'pod-other-node' | 'pod-self' | 'host-endpoint-node' | 'host-other-node' | 'client';

const SOURCES: readonly SourceKind[] = [
  'pod-endpoint-node',
  'pod-other-node',
  'pod-self',
  'host-endpoint-node',
  'host-other-node',
  'client',
];

/** Which node the external client sends a NodePort or external-IP probe to; the network picks for LB IPs. */
type Entry = 'endpoint-node' | 'other-node';

export interface ServiceShape {
  type: SvcType;
  /** externalTrafficPolicy (only for the externally reachable types) */
  etp?: TrafficPolicy;
  itp: TrafficPolicy;
  affinity: Affinity;
}

export interface Cell {
  service: ServiceShape;
  proto: Proto;
  family: Family;
  source: SourceKind;
  /** only for the external client's NodePort and external-IP cells */
  entry?: Entry;
}

/** Which endpoints may answer. */
type Backends =
  | { kind: 'all' }
  /** the endpoints on this node only */
  | { kind: 'node'; node: 'endpoint-node' | 'source-node' }
  /** the endpoints of one node, whichever the network delivered to (an announced LB IP) */
  | { kind: 'one-node' };

/**
 * The source address the endpoint sees:
 * - `source`: the sender's own address (a pod talking to itself through its Service is the exception: it
 *   is masqueraded, kube-proxy's hairpin rule, so it then sees an address of its node);
 * - `source-node`: an address of the sender's node (the node's own traffic, or masqueraded there);
 * - `entry-node`: an address of the node the client sent to;
 * - `some-node`: an address of a node (the announcing one, which the test does not pick);
 * - `client`: the external client's address, preserved.
 */
type SeenAs = 'source' | 'source-node' | 'entry-node' | 'some-node' | 'client';

export type Expectation =
  | { answers: true; backends: Backends; sticky: boolean; seenAs: SeenAs; rule: string }
  | { answers: false; rule: string };

export const SERVICE_SHAPES: readonly ServiceShape[] = (() => {
  const out: ServiceShape[] = [];
  const pols: TrafficPolicy[] = ['Cluster', 'Local'];
  const affs: Affinity[] = ['None', 'ClientIP'];
  for (const type of ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalIP'] as const)
    for (const etp of type === 'ClusterIP' ? [undefined] : pols)
      for (const itp of pols) for (const affinity of affs) out.push({ type, ...(etp ? { etp } : {}), itp, affinity });
  return out;
})();

/** The Service's object name: short, DNS-1035, and saying its shape (np-el-ic-ac: NodePort, ETP Local, ...). */
export function serviceName(s: ServiceShape): string {
  const t = { ClusterIP: 'cip', NodePort: 'np', LoadBalancer: 'lb', ExternalIP: 'eip' }[s.type];
  const p = (x: TrafficPolicy): string => (x === 'Local' ? 'l' : 'c');
  return [t, ...(s.etp ? [`e${p(s.etp)}`] : []), `i${p(s.itp)}`, s.affinity === 'ClientIP' ? 'ac' : 'an'].join('-');
}

function isPodSource(s: SourceKind): boolean {
  return s.startsWith('pod-');
}

/**
 * The cells of a lab. `otherNode`: the lab has a node without endpoints (one node: no such cells).
 * `families`: the lab's service families. LoadBalancer cells of a family are left out when the lab's pool
 * gives no address of that family (`lbFamilies`).
 */
export function cellsFor(o: {
  otherNode: boolean;
  families: readonly Family[];
  lbFamilies: readonly Family[];
}): Cell[] {
  const out: Cell[] = [];
  const usable = (s: SourceKind): boolean => o.otherNode || !s.endsWith('other-node');
  for (const family of o.families)
    for (const service of SERVICE_SHAPES) {
      if (service.type === 'LoadBalancer' && !o.lbFamilies.includes(family)) continue;
      for (const proto of ['TCP', 'UDP'] as const)
        for (const source of SOURCES.filter(usable)) {
          // A ClusterIP is reachable from inside the cluster only: the client is no cell of it.
          if (service.type === 'ClusterIP' && source === 'client') continue;
          const viaNode = source === 'client' && (service.type === 'NodePort' || service.type === 'ExternalIP');
          if (!viaNode) out.push({ service, proto, family, source });
          else
            for (const entry of (['endpoint-node', 'other-node'] as const).filter(
              (e) => o.otherNode || e === 'endpoint-node',
            ))
              out.push({ service, proto, family, source, entry });
        }
    }
  return out;
}

export function cellName(c: Cell): string {
  const s = c.service;
  const pol = [s.etp ? `etp=${s.etp}` : '', `itp=${s.itp}`, `affinity=${s.affinity}`].filter(Boolean).join(' ');
  const to = c.entry ? ` via ${c.entry}` : '';
  return `${s.type} ${pol} ${c.proto} v${c.family} from ${c.source}${to}`;
}

/** Does the sender's node have endpoints? (the endpoint node does, the other node does not) */
function sourceNodeHasEndpoints(src: SourceKind): boolean {
  return src !== 'pod-other-node' && src !== 'host-other-node';
}

/**
 * What kube-proxy does, nftables mode (pkg/proxy/nftables/proxier.go, syncProxyRules):
 * - internal traffic (a ClusterIP): ITP Local goes to this node's endpoints and is dropped where there are
 *   none ("has no local endpoints"); traffic from outside the cluster CIDR (the node itself) is masqueraded;
 * - external destinations (NodePort, external IPs, LoadBalancer IPs; each is captured by the proxy of the
 *   node it reaches, a pod's or the node's own traffic on its own node): ETP Cluster masquerades and
 *   balances over every endpoint; ETP Local sends pods to every endpoint unmasqueraded ("short-circuit pod
 *   traffic"), the node itself to every endpoint masqueraded ("masquerade local traffic", "short-circuit
 *   local traffic"), and anyone else to this node's endpoints with its address preserved, dropped where
 *   there are none;
 * - ClientIP affinity keeps a client on one endpoint; an LB IP is announced only by a node with a local
 *   endpoint when ETP is Local (MetalLB L2).
 * ITP never applies to external destinations; ETP never to the ClusterIP.
 */
export function expectNftables(c: Cell): Expectation {
  const sticky = c.service.affinity === 'ClientIP';
  const src = c.source;
  if (c.service.type === 'ClusterIP') {
    if (c.service.itp === 'Local' && !sourceNodeHasEndpoints(src))
      return { answers: false, rule: 'ITP Local, no endpoint on the sender’s node: dropped' };
    const backends: Backends = c.service.itp === 'Local' ? { kind: 'node', node: 'source-node' } : { kind: 'all' };
    const seenAs: SeenAs = isPodSource(src) ? 'source' : 'source-node';
    return {
      answers: true,
      backends,
      sticky,
      seenAs,
      rule: isPodSource(src) ? 'pod → ClusterIP: not masqueraded' : 'off-cluster source → ClusterIP: masqueraded',
    };
  }
  if (c.service.etp !== 'Local')
    return {
      answers: true,
      backends: { kind: 'all' },
      sticky,
      seenAs: src === 'client' ? (c.entry ? 'entry-node' : 'some-node') : 'source-node',
      rule: 'ETP Cluster: masqueraded, every endpoint',
    };
  if (isPodSource(src))
    return {
      answers: true,
      backends: { kind: 'all' },
      sticky,
      seenAs: 'source',
      rule: 'ETP Local from a pod: short-circuit to every endpoint',
    };
  if (src !== 'client')
    return {
      answers: true,
      backends: { kind: 'all' },
      sticky,
      seenAs: 'source-node',
      rule: 'ETP Local from the node: masqueraded, short-circuit to every endpoint',
    };
  if (!c.entry)
    return {
      answers: true,
      backends: { kind: 'one-node' },
      sticky,
      seenAs: 'client',
      rule: 'ETP Local LB IP: announced by a node with endpoints, its endpoints, client address kept',
    };
  if (c.entry === 'other-node')
    return { answers: false, rule: 'ETP Local, external client at a node without endpoints: dropped' };
  return {
    answers: true,
    backends: { kind: 'node', node: 'endpoint-node' },
    sticky,
    seenAs: 'client',
    rule: 'ETP Local, external client: this node’s endpoints, client address kept',
  };
}

/**
 * userspace mode: which endpoints answer is the same as in nftables mode (its `portals_sc` short-circuit,
 * its Local listeners), but the endpoint always sees the proxy's own connection, from the node that took
 * the connection: the sender's node, or the node the client sent to (docs/proxy.md, "three limits").
 */
export function expectUserspace(c: Cell): Expectation {
  const e = expectNftables(c);
  if (!e.answers) return e;
  const seenAs: SeenAs = c.source !== 'client' ? 'source-node' : c.entry ? 'entry-node' : 'some-node';
  return { ...e, seenAs, rule: `${e.rule}; userspace: seen from the proxy’s node` };
}

export function expectFor(mode: ProxyMode, c: Cell): Expectation {
  return mode === 'nftables' ? expectNftables(c) : expectUserspace(c);
}

/** One try: the endpoint that answered (its hostname) and the address it saw, or why there was no answer. */
export type Try = { ok: true; backend: string; seen: string } | { ok: false; err: string };

/** What the judge needs to know about the lab: endpoints per node, addresses per node, who sent. */
export interface CellFacts {
  /** endpoint pod name → its node */
  endpointNode: ReadonlyMap<string, string>;
  /** node name → every address it has (in all its interfaces) */
  nodeAddrs: ReadonlyMap<string, ReadonlySet<string>>;
  endpointNodeName: string;
  /** the sender's node (pods and hosts) */
  sourceNode?: string;
  /** the sender's own address (pods) */
  sourceIP?: string;
  /** the sending pod's name (pod sources) */
  sourcePod?: string;
  /** the node the client sent to */
  entryNode?: string;
  clientIP: string;
}

export interface Verdict {
  pass: boolean;
  observed: string;
  /** why it did not pass */
  detail?: string;
}

function describeTries(tries: readonly Try[]): string {
  if (tries.length === 0) return 'nothing sent';
  const failed = tries.filter((t): t is { ok: false; err: string } => !t.ok);
  const ok = tries.filter((t): t is { ok: true; backend: string; seen: string } => t.ok);
  const parts: string[] = [];
  if (ok.length) {
    const bs = [...new Set(ok.map((t) => t.backend))].sort().join(',');
    const ss = [...new Set(ok.map((t) => t.seen))].sort().join(',');
    parts.push(`${ok.length}/${tries.length} answered by ${bs}, seen as ${ss}`);
  }
  if (failed.length) parts.push(`${failed.length}/${tries.length} ${[...new Set(failed.map((t) => t.err))].join(',')}`);
  return parts.join('; ');
}

export function describeExpectation(e: Expectation): string {
  if (!e.answers) return 'no answer (dropped)';
  const b =
    e.backends.kind === 'all'
      ? 'any endpoint'
      : e.backends.kind === 'one-node'
        ? 'endpoints of one node'
        : `endpoints on the ${e.backends.node.replace('-', ' ')}`;
  return `${b}${e.sticky ? ', always the same' : ''}, seen as ${e.seenAs}`;
}

/** Compare what happened with what kube-proxy does. */
export function judge(e: Expectation, tries: readonly Try[], f: CellFacts): Verdict {
  const observed = describeTries(tries);
  const fail = (detail: string): Verdict => ({ pass: false, observed, detail });
  if (tries.length === 0) return fail('no try was made');
  if (!e.answers) {
    const answered = tries.find((t) => t.ok);
    if (answered) return fail('answered, but kube-proxy drops this traffic');
    const notTimeout = tries.find((t) => !t.ok && t.err !== 'timeout');
    if (notTimeout && !notTimeout.ok) return fail(`${notTimeout.err}, but kube-proxy drops (no reject, no error)`);
    return { pass: true, observed };
  }
  const ok: { backend: string; seen: string }[] = [];
  for (const t of tries) {
    if (!t.ok) return fail(`a try failed (${t.err})`);
    ok.push(t);
  }
  for (const t of ok) if (!f.endpointNode.has(t.backend)) return fail(`${t.backend} is not an endpoint of the Service`);
  const nodesOf = new Set(ok.map((t) => f.endpointNode.get(t.backend)));
  if (e.backends.kind === 'node') {
    const want = e.backends.node === 'endpoint-node' ? f.endpointNodeName : f.sourceNode;
    if ([...nodesOf].some((n) => n !== want)) return fail(`answered from ${[...nodesOf].join(',')}, not ${want}`);
  } else if (e.backends.kind === 'one-node' && nodesOf.size > 1) {
    return fail(`answered from several nodes (${[...nodesOf].join(',')})`);
  }
  if (e.sticky && new Set(ok.map((t) => t.backend)).size > 1) return fail('ClientIP affinity: the endpoint changed');
  const isNodeAddr = (node: string | undefined, ip: string): boolean =>
    node !== undefined && (f.nodeAddrs.get(node)?.has(ip) ?? false);
  const anyNode = (ip: string): boolean => [...f.nodeAddrs.values()].some((s) => s.has(ip));
  for (const t of ok) {
    let good: boolean;
    switch (e.seenAs) {
      case 'source':
        // hairpin: a pod that reaches itself is masqueraded to its node
        good = t.backend === f.sourcePod ? isNodeAddr(f.sourceNode, t.seen) : t.seen === f.sourceIP;
        break;
      case 'source-node':
        good = isNodeAddr(f.sourceNode, t.seen);
        break;
      case 'entry-node':
        good = isNodeAddr(f.entryNode, t.seen);
        break;
      case 'some-node':
        good = anyNode(t.seen);
        break;
      case 'client':
        good = t.seen === f.clientIP;
        break;
    }
    if (!good) return fail(`${t.backend} saw ${t.seen}, expected ${e.seenAs}`);
  }
  return { pass: true, observed };
}
