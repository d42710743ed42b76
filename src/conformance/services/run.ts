/**
 * `skiff conformance services`: deploy the fixture, start one probe agent per source namespace, probe every
 * cell, judge each against kube-proxy's behaviour (model.ts), report. A cell that does not pass is probed
 * again (twice, 2 s apart) before it counts: the proxies converging on the fixture's Services is not what
 * the matrix measures, and a real mismatch is deterministic.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { ApiClient } from '../../kubelet/api.js';
import { podNetnsName } from '../../kubelet/pod.js';
import { CLIENT_IP, nsName, underlayIPv6 } from '../../lab/addressing.js';
import { labPaths, skiffScript } from '../../lab/paths.js';
import type { LabState } from '../../lab/state.js';
import { ipFamilyOf } from '../../net/ip.js';
import { getAddrs } from '../../os/net.js';
import { namedNs, nsenterArgv } from '../../os/ns.js';
import { spawnProgram } from '../../os/process.js';
import type { ProbeAnswer, ProbeRequest } from './agent.js';
import {
  deployFixture,
  type Deployed,
  labFamilies,
  layoutFor,
  type Layout,
  nodeAddress,
  removeFixture,
} from './fixture.js';
import {
  type Cell,
  type CellFacts,
  cellName,
  cellsFor,
  describeExpectation,
  expectFor,
  type Expectation,
  type Family,
  judge,
  type SourceKind,
  serviceName,
  type Try,
  type Verdict,
} from './model.js';

export interface RunOptions {
  /** only the cells whose name matches */
  focus?: RegExp;
  /** keep the fixture afterwards (to look at it) */
  keep?: boolean;
  /** progress lines (stderr) */
  log?: (line: string) => void;
}

interface CellResult {
  cell: Cell;
  name: string;
  expected: Expectation;
  verdict: Verdict;
  /** how many rounds it took (1: passed at once) */
  rounds: number;
}

export interface MatrixReport {
  mode: LabState['proxyMode'];
  cni: LabState['cni'];
  families: Family[];
  results: CellResult[];
  passed: number;
  failed: number;
}

/** One agent process in one namespace; requests are matched to answers by id. */
class ProbeAgent {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<number, (a: ProbeAnswer) => void>();
  private nextId = 1;
  private exited = false;

  constructor(
    readonly source: SourceKind,
    netns: string,
  ) {
    const argv = nsenterArgv(namedNs(netns), [process.execPath, skiffScript(), 'conformance', 'probe-agent']);
    this.child = spawnProgram(argv, { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child.stdin?.on('error', () => undefined);
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const a = JSON.parse(line) as ProbeAnswer;
      this.waiting.get(a.id)?.(a);
      this.waiting.delete(a.id);
    });
    this.child.on('exit', () => {
      this.exited = true;
      for (const [id, w] of this.waiting) w({ id, tries: [{ ok: false, err: 'probe agent exited' }] });
      this.waiting.clear();
    });
  }

  probe(r: Omit<ProbeRequest, 'id'>): Promise<Try[]> {
    if (this.exited) return Promise.resolve([{ ok: false, err: 'probe agent exited' }]);
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, (a) => resolve(a.tries));
      this.child.stdin?.write(`${JSON.stringify({ id, ...r })}\n`);
    });
  }

  stop(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      this.child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      this.child.stdin?.end();
    });
  }
}

/** Who each source is: its namespace, node, address and pod name. */
interface SourceInfo {
  netns: string;
  node?: string;
  pod?: string;
  ips: string[];
}

function sources(lab: LabState, layout: Layout, d: Deployed): Map<SourceKind, SourceInfo> {
  const podSource = (name: string): SourceInfo => {
    const p = d.pods.get(name);
    if (!p) throw new Error(`skiff conformance: pod ${name} is missing`);
    return { netns: podNetnsName(nsName(lab.prefix, p.node), p.uid), node: p.node, pod: name, ips: p.ips };
  };
  const host = (node: string): SourceInfo => ({ netns: nsName(lab.prefix, node), node, ips: [] });
  const out = new Map<SourceKind, SourceInfo>([
    ['pod-endpoint-node', podSource(layout.clientOnEndpointNode)],
    ['pod-self', podSource('be-a')],
    ['host-endpoint-node', host(layout.endpointNode)],
    ['client', { netns: nsName(lab.prefix, 'client'), ips: [CLIENT_IP, underlayIPv6(CLIENT_IP)] }],
  ]);
  if (layout.clientOnOtherNode) out.set('pod-other-node', podSource(layout.clientOnOtherNode));
  if (layout.otherNode) out.set('host-other-node', host(layout.otherNode));
  return out;
}

/** Where a cell's probe goes and which node it enters by (undefined: the Service has no such address). */
function target(
  c: Cell,
  src: SourceInfo,
  layout: Layout,
  d: Deployed,
): { host: string; port: number; entryNode?: string } | undefined {
  const svc = d.services.get(serviceName(c.service));
  if (!svc) return undefined;
  const portName = c.proto === 'TCP' ? 'tcp' : 'udp';
  const sp = svc.spec.ports?.find((p) => p.name === portName);
  if (!sp) return undefined;
  const ofFamily = (ips: (string | undefined)[] | undefined): string | undefined =>
    ips?.find((ip) => ip !== undefined && ipFamilyOf(ip) === c.family);
  const entryNode =
    c.source === 'client'
      ? c.entry === 'other-node'
        ? layout.otherNode
        : c.entry === 'endpoint-node'
          ? layout.endpointNode
          : undefined
      : src.node;
  switch (c.service.type) {
    case 'ClusterIP': {
      const host = ofFamily(svc.spec.clusterIPs);
      return host ? { host, port: sp.port } : undefined;
    }
    case 'NodePort':
      return entryNode && sp.nodePort
        ? { host: nodeAddress(entryNode, c.family), port: sp.nodePort, entryNode }
        : undefined;
    case 'LoadBalancer': {
      const host = ofFamily(svc.status?.loadBalancer?.ingress?.map((i) => i.ip));
      return host ? { host, port: sp.port, ...(c.source !== 'client' ? { entryNode } : {}) } : undefined;
    }
    case 'ExternalIP': {
      // pods and hosts send to the endpoint node's address; their own node's proxy captures it
      const via = c.source === 'client' ? entryNode : layout.endpointNode;
      return via ? { host: nodeAddress(via, c.family), port: sp.port, entryNode } : undefined;
    }
  }
}

async function nodeAddresses(lab: LabState, nodes: number): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (let i = 1; i <= nodes; i++) {
    const node = `node${i}`;
    const links = await getAddrs(namedNs(nsName(lab.prefix, node)));
    out.set(node, new Set(links.flatMap((l) => (l.addr_info ?? []).map((a) => a.local))));
  }
  return out;
}

/** Run fn over items, at most `limit` at a time. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export async function runServicesMatrix(lab: LabState, o: RunOptions = {}): Promise<MatrixReport> {
  const log = o.log ?? (() => undefined);
  const api = new ApiClient(labPaths(lab.stateDir).adminKubeconfig);
  const layout = layoutFor(lab.nodes);
  const families = labFamilies(lab);
  log(`skiff conformance: deploying the fixture (${layout.backends.size} endpoints, ${families.length} families)`);
  const d = await deployFixture(api, layout, families);
  const agents: ProbeAgent[] = [];
  try {
    const srcs = sources(lab, layout, d);
    const bySource = new Map<SourceKind, ProbeAgent>();
    for (const [kind, info] of srcs) {
      const a = new ProbeAgent(kind, info.netns);
      agents.push(a);
      bySource.set(kind, a);
    }
    const nodeAddrs = await nodeAddresses(lab, lab.nodes);
    const lbFamilies = families.filter((f) =>
      [...d.services.values()].some(
        (s) =>
          s.metadata.name.startsWith('lb-') &&
          (s.status?.loadBalancer?.ingress ?? []).some((i) => i.ip && ipFamilyOf(i.ip) === f),
      ),
    );
    const cells = cellsFor({ otherNode: layout.otherNode !== undefined, families, lbFamilies }).filter(
      (c) => !o.focus || o.focus.test(cellName(c)),
    );
    const endpointNode = new Map(layout.backends);
    log(`skiff conformance: ${cells.length} cells, ${lab.proxyMode} mode`);

    const runCell = async (c: Cell): Promise<{ expected: Expectation; verdict: Verdict }> => {
      const expected = expectFor(lab.proxyMode, c);
      const src = srcs.get(c.source);
      const agent = bySource.get(c.source);
      const t = src ? target(c, src, layout, d) : undefined;
      if (!src || !agent || !t)
        return { expected, verdict: { pass: false, observed: 'no address to probe', detail: 'fixture incomplete' } };
      const tries = await agent.probe({
        proto: c.proto,
        host: t.host,
        port: t.port,
        tries: expected.answers ? 4 : 1,
        timeoutMs: expected.answers ? 3000 : 1500,
      });
      const facts: CellFacts = {
        endpointNode,
        nodeAddrs,
        endpointNodeName: layout.endpointNode,
        sourceNode: src.node,
        sourceIP: src.ips.find((ip) => ipFamilyOf(ip) === c.family),
        sourcePod: src.pod,
        entryNode: t.entryNode,
        clientIP: c.family === 4 ? CLIENT_IP : underlayIPv6(CLIENT_IP),
      };
      return { expected, verdict: judge(expected, tries, facts) };
    };

    const results: CellResult[] = [];
    let todo = cells.map((cell) => ({ cell, rounds: 0 }));
    for (let round = 1; round <= 3 && todo.length; round++) {
      if (round > 1) {
        log(`skiff conformance: ${todo.length} cells again (round ${round})`);
        await delay(2000);
      }
      const out = await pool(todo, 24, async (x) => ({ ...x, rounds: round, ...(await runCell(x.cell)) }));
      todo = [];
      for (const r of out) {
        if (r.verdict.pass || round === 3)
          results.push({
            cell: r.cell,
            name: cellName(r.cell),
            expected: r.expected,
            verdict: r.verdict,
            rounds: r.rounds,
          });
        else todo.push({ cell: r.cell, rounds: r.rounds });
      }
    }
    results.sort((a, b) => cells.indexOf(a.cell) - cells.indexOf(b.cell));
    const passed = results.filter((r) => r.verdict.pass).length;
    return { mode: lab.proxyMode, cni: lab.cni, families, results, passed, failed: results.length - passed };
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
    if (!o.keep) await removeFixture(api);
  }
}

/** The table: one line per cell, what kube-proxy does, what happened. */
export function formatMatrix(r: MatrixReport, o: { onlyFailures?: boolean } = {}): string {
  const rows = r.results.filter((x) => !o.onlyFailures || !x.verdict.pass);
  const head = ['RESULT', 'CELL', 'KUBE-PROXY', 'OBSERVED'];
  const lines = rows.map((x) => [
    x.verdict.pass ? 'pass' : 'FAIL',
    x.name,
    describeExpectation(x.expected),
    x.verdict.pass ? x.verdict.observed : `${x.verdict.observed} (${x.verdict.detail ?? ''})`,
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
  const fmt = (l: string[]): string =>
    l
      .map((s, i) => (i < l.length - 1 ? s.padEnd(w[i] as number) : s))
      .join('  ')
      .trimEnd();
  const families = r.families.map((f) => `IPv${f}`).join('+');
  const summary = `${r.passed}/${r.results.length} cells pass (${r.mode} mode, ${r.cni} CNI, ${families})`;
  return [fmt(head), ...lines.map(fmt), summary].join('\n') + '\n';
}
