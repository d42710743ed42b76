/**
 * `skiff trace`: one probe from a source namespace to a Service, followed through the lab's node
 * namespaces with nft tracing (both proxy modes: nftables mode does the whole path in the kernel; userspace
 * mode redirects to a listener of the proxy, whose backend connection is read from the node's sockets),
 * then explained: route, chains, map elements, DNAT, masquerade, the pod that answered, or where and why the
 * probe was dropped or rejected.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { nodeName, nsName } from '../lab/addressing.js';
import type { LabState } from '../lab/state.js';
import { componentProcess } from '../lab/supervisor.js';
import { conntrackFlowsFrom, type CtEntry } from '../os/conntrack.js';
import { nftGetElement, startNftTrace, sweepTraceTables, traceTableRef, type NftTrace } from '../os/nfttrace.js';
import { namedNs } from '../os/ns.js';
import { procChildren } from '../os/proc.js';
import { listSockets, routeGet, startProbe, type ProbeResult, type SocketEntry } from '../os/probe.js';
import { mapLookup, evalKey, parseTrace, type TraceEvent, type TracePacket } from './events.js';
import {
  labApi,
  podByIP,
  resolveDestination,
  resolveSource,
  type Destination,
  type Source,
  type Via,
} from './target.js';

/** DSCP 45: an unassigned code point, so nothing but the probe carries it. */
const PROBE_DSCP = 0x2d;

export interface TraceOptions {
  from: string;
  to: string;
  proto?: 'TCP' | 'UDP';
  via?: Via;
  node?: string;
  /** TCP: the HTTP path asked (default /hostname); UDP: the datagram (default "hostname") */
  path?: string;
  data?: string;
  timeoutS?: number;
}

interface Hop {
  node: string;
  /** one line per trace event worth showing */
  lines: string[];
  /** set when the kernel dropped or rejected the probe here */
  stop?: { verdict: 'drop' | 'reject'; where: string };
  conntrack?: CtEntry;
}

interface ProxyChoice {
  node: string;
  /** the proxy's backend connection: from (the node's address) → endpoint */
  from: string;
  endpoint: string;
}

export interface TraceReport {
  mode: string;
  source: Source;
  destination: Destination;
  probe: { proto: 'tcp' | 'udp'; sport: number; dscp: number };
  route: string;
  hops: Hop[];
  dnat?: { to: string; node: string };
  masquerade?: { as: string; node: string };
  proxyChoice?: ProxyChoice;
  answeringPod?: string;
  result: ProbeResult;
  verdict: 'answered' | 'rejected' | 'dropped' | 'no answer';
  why: string;
}

function fmtPacket(p: TracePacket): string {
  const dev = [p.iif ? `in ${p.iif}` : '', p.oif ? `out ${p.oif}` : ''].filter(Boolean).join(' ');
  const flow = `${p.saddr ?? '?'}:${p.sport ?? '?'} → ${p.daddr ?? '?'}:${p.dport ?? '?'} ${p.proto ?? ''}`.trim();
  return `${flow}${dev ? ` (${dev})` : ''}${p.mark && p.mark !== '0x00000000' ? ` mark ${p.mark}` : ''}`;
}

/** What a rule did, in words, when its text says it (DNAT, masquerade, redirect, reject, marks). */
function gloss(rule: string, verdict: string): string | undefined {
  if (/\breject\b/.test(rule)) return 'REJECTED (TCP reset / ICMP port unreachable)';
  if (verdict === 'drop') return 'DROPPED';
  if (/\bredirect to\b/.test(rule)) return "redirected to the userspace proxy's listener (portal)";
  if (/\bmasquerade\b/.test(rule)) return 'masqueraded (source NAT to the outgoing address)';
  if (/\bdnat\b/.test(rule)) return 'DNAT';
  if (/jump mark-for-masquerade/.test(rule)) return 'marked for masquerade';
  if (/meta mark & \S+ == 0 return/.test(rule)) return 'not marked for masquerade: source kept';
  if (/numgen random/.test(rule)) return `endpoint bucket picked at random: ${verdict}`;
  return undefined;
}

async function explain(node: string, ns: string, events: TraceEvent[]): Promise<Hop> {
  const hop: Hop = { node, lines: [] };
  let pkt: TracePacket = {};
  let lastPacket = '';
  for (const e of events) {
    const where = `${e.family} ${e.table} ${e.chain}`;
    if (e.kind === 'packet') {
      pkt = e.packet;
      const text = fmtPacket(e.packet);
      if (text !== lastPacket) hop.lines.push(`[${where}] packet ${text}`);
      lastPacket = text;
      continue;
    }
    if (e.kind !== 'rule') {
      if (e.verdict === 'drop') {
        hop.lines.push(`[${where}] policy drop: DROPPED`);
        hop.stop ??= { verdict: 'drop', where: `${where} (policy)` };
      }
      continue;
    }
    let line = `[${where}] ${e.rule} → ${e.verdict}`;
    const lookup = mapLookup(e.rule);
    const key = lookup ? evalKey(lookup.key, pkt) : undefined;
    if (lookup && key) {
      const elem = await nftGetElement(namedNs(ns), { family: e.family as 'ip', name: e.table }, lookup.map, key);
      line += `\n      map ${lookup.map} element ${elem ?? `${key} (no longer present)`}`;
    }
    const g = gloss(e.rule, e.verdict);
    if (g) line += `\n      ${g}`;
    hop.lines.push(line);
    if (e.verdict === 'drop' && !hop.stop)
      hop.stop = { verdict: /\breject\b/.test(e.rule) ? 'reject' : 'drop', where: `${where}: ${e.rule}` };
  }
  return hop;
}

/** Descendants of a process (the proxy's node process under its provision script). */
function descendants(pid: number, depth = 4): number[] {
  if (depth === 0) return [pid];
  return [pid, ...procChildren(pid).flatMap((c) => descendants(c, depth - 1))];
}

function proxyPids(lab: LabState, node: string): Set<number> {
  const p = componentProcess(lab.stateDir, `proxy-${node}`);
  return new Set(p ? descendants(p.pid) : []);
}

const sockKey = (s: SocketEntry): string => `${s.local}>${s.peer}`;

/** The userspace proxy's new backend connections to the Service's endpoints, per node. */
async function proxyBackends(
  lab: LabState,
  nodes: string[],
  proto: 'tcp' | 'udp',
  endpoints: Set<string>,
  before: Map<string, Set<string>>,
): Promise<ProxyChoice[]> {
  const out: ProxyChoice[] = [];
  for (const node of nodes) {
    const pids = proxyPids(lab, node);
    const seen = before.get(node) ?? new Set();
    for (const s of await listSockets(namedNs(nsName(lab.prefix, node)), proto)) {
      if (seen.has(sockKey(s)) || !endpoints.has(s.peer) || !s.pids.some((p) => pids.has(p))) continue;
      out.push({ node, from: s.local, endpoint: s.peer });
    }
  }
  return out;
}

async function snapshot(lab: LabState, nodes: string[], proto: 'tcp' | 'udp'): Promise<Map<string, Set<string>>> {
  const m = new Map<string, Set<string>>();
  for (const node of nodes)
    m.set(node, new Set((await listSockets(namedNs(nsName(lab.prefix, node)), proto)).map(sockKey)));
  return m;
}

export async function runTrace(lab: LabState, o: TraceOptions): Promise<TraceReport> {
  const api = labApi(lab);
  const source = await resolveSource(api, lab, o.from);
  const destination = await resolveDestination(api, lab, source, o);
  const proto = destination.protocol === 'UDP' ? 'udp' : 'tcp';
  const timeoutS = o.timeoutS ?? 2;
  const nodes = Array.from({ length: lab.nodes }, (_, i) => nodeName(i + 1));
  const sport = randomInt(20_000, 30_000);
  const table = traceTableRef(randomBytes(4).toString('hex'));
  // the first packet only: the SYN (TCP) or the datagram (UDP) decides the whole path
  const l4 = proto === 'tcp' ? 'tcp flags & (syn | ack) == syn' : 'meta l4proto udp';
  const match = `ip dscp 0x${PROBE_DSCP.toString(16)} ${l4}`;
  const traces = new Map<string, NftTrace>();
  const endpointSet = new Set(destination.endpoints.map((e) => `${e.ip}:${e.port}`));
  // Ctrl-C or a kill mid-trace: remove the tables before going (a SIGKILL is left to the next run's sweep)
  const onSignal = (): void => {
    void Promise.allSettled([...traces.values()].map((t) => t.stop())).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for (const node of nodes) {
      const ns = namedNs(nsName(lab.prefix, node));
      await sweepTraceTables(ns);
      traces.set(node, await startNftTrace(ns, table, match));
    }
    const srcNs = namedNs(source.netns);
    const route = await routeGet(srcNs, destination.host);
    const userspace = lab.proxyMode === 'userspace';
    const before = userspace ? await snapshot(lab, nodes, proto) : new Map<string, Set<string>>();
    const probe = startProbe(srcNs, {
      proto,
      host: destination.host,
      port: destination.port,
      sport,
      tos: PROBE_DSCP << 2,
      timeoutS,
    });
    let choices: ProxyChoice[] = [];
    const connected = await probe.connected;
    if (userspace && connected && proto === 'tcp') {
      // the proxy connects to a backend as it accepts: wait (bounded) for that connection to show
      for (let i = 0; i < 20 && !choices.length; i++) {
        choices = await proxyBackends(lab, nodes, proto, endpointSet, before);
        if (!choices.length) await new Promise((r) => setTimeout(r, 50));
      }
    }
    const payload =
      proto === 'tcp'
        ? `GET ${o.path ?? '/hostname'} HTTP/1.0\r\nHost: ${destination.service.split('/')[1]}\r\nConnection: close\r\n\r\n`
        : (o.data ?? 'hostname');
    const result = await probe.send(payload);
    // UDP flows are made on the first datagram and kept while idle-timeout lasts
    if (userspace && proto === 'udp') choices = await proxyBackends(lab, nodes, proto, endpointSet, before);
    await new Promise((r) => setTimeout(r, 300)); // the monitors print asynchronously
    const hops: Hop[] = [];
    for (const node of nodes) {
      const events = parseTrace(traces.get(node)?.events() ?? [], table.name);
      if (!events.length) continue;
      const ns = nsName(lab.prefix, node);
      const hop = await explain(node, ns, events);
      const first = events.find((e) => e.kind === 'packet');
      const saddr = first?.kind === 'packet' ? first.packet.saddr : undefined;
      if (saddr && first?.kind === 'packet' && first.packet.sport === sport) {
        hop.conntrack = (await conntrackFlowsFrom(proto, saddr, sport, namedNs(ns)))[0];
      }
      hops.push(hop);
    }
    return await conclude(api, lab, { source, destination, route, hops, result, choices, sport, proto });
  } finally {
    for (const t of traces.values()) await t.stop().catch(() => undefined);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function conclude(
  api: ReturnType<typeof labApi>,
  lab: LabState,
  r: {
    source: Source;
    destination: Destination;
    route: string;
    hops: Hop[];
    result: ProbeResult;
    choices: ProxyChoice[];
    sport: number;
    proto: 'tcp' | 'udp';
  },
): Promise<TraceReport> {
  const report: TraceReport = {
    mode: lab.proxyMode,
    source: r.source,
    destination: r.destination,
    probe: { proto: r.proto, sport: r.sport, dscp: PROBE_DSCP },
    route: r.route,
    hops: r.hops,
    result: r.result,
    verdict: 'no answer',
    why: '',
  };
  for (const h of r.hops) {
    const ct = h.conntrack;
    if (!ct) continue;
    const dnatTo = `${ct.reply.src}:${ct.reply.sport}`;
    if (!report.dnat && (ct.reply.src !== ct.orig.dst || ct.reply.sport !== ct.orig.dport))
      report.dnat = { to: dnatTo, node: h.node };
    if (!report.masquerade && ct.reply.dst !== ct.orig.src) report.masquerade = { as: ct.reply.dst, node: h.node };
  }
  report.proxyChoice = r.choices[0];
  const target = report.proxyChoice?.endpoint ?? report.dnat?.to;
  const targetIP = target?.replace(/:\d+$/, '');
  if (targetIP) {
    const ep = r.destination.endpoints.find((e) => e.ip === targetIP);
    report.answeringPod = ep?.pod ? `${ep.pod} on ${ep.node ?? '?'}` : await podByIP(api, targetIP);
  }
  const stop = r.hops.find((h) => h.stop);
  if (r.result.outcome === 'answered') {
    report.verdict = 'answered';
    report.why = report.answeringPod ? `answered by pod ${report.answeringPod} (${target})` : 'answered';
  } else if (stop?.stop) {
    report.verdict = stop.stop.verdict === 'reject' ? 'rejected' : 'dropped';
    report.why = `${report.verdict} on ${stop.node} by ${stop.stop.where}`;
  } else if (r.result.outcome === 'refused') {
    report.verdict = 'rejected';
    report.why = `refused (${r.result.message || 'connection refused'}) with no rule seen rejecting it: nothing listens`;
  } else {
    report.why = `${r.result.outcome}${r.result.message ? ` (${r.result.message})` : ''}`;
  }
  if (r.destination.endpoints.length === 0) report.why += '; the Service has no endpoints';
  return report;
}
