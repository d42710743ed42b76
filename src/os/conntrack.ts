import { runRaw } from './exec.js';
import { CURRENT_NS, type NsRef } from './ns.js';

/**
 * Connection-tracking cleanup through the conntrack CLI. UDP has no connection teardown, so when a
 * service endpoint goes away the kernel would keep steering a client's flow to it until the entry times
 * out; the proxy deletes those entries (as kube-proxy does).
 */
export interface UdpFlowFilter {
  /** Original destination address (the service VIP / external IP); omit for NodePorts. */
  origDst?: string;
  /** Original destination port (the service port or NodePort). */
  origPortDst?: number;
  /** The endpoint address the flow was DNATed to; omit for every flow to that destination (portmap ADD). */
  dstNat?: string;
  /** The reply direction's source (the endpoint that answers, NATed or not: kube-proxy's filter). */
  replySrc?: string;
  /** The reply direction's source port (a userspace proxy's listener after a redirect). */
  replyPortSrc?: number;
  family?: 'ipv4' | 'ipv6';
}

export function conntrackDeleteArgv(f: UdpFlowFilter): string[] {
  const argv = ['conntrack', '-D', '-f', f.family ?? 'ipv4', '-p', 'udp'];
  if (f.origDst) argv.push('--orig-dst', f.origDst);
  if (f.origPortDst) argv.push('--orig-port-dst', String(f.origPortDst));
  if (f.dstNat) argv.push('--dst-nat', f.dstNat);
  if (f.replySrc) argv.push('--reply-src', f.replySrc);
  if (f.replyPortSrc) argv.push('--reply-port-src', String(f.replyPortSrc));
  return argv;
}

/** Delete matching UDP flows; returns how many went. "0 flow entries" (exit 1) is not an error. */
export async function conntrackDeleteUdp(f: UdpFlowFilter, ns: NsRef = CURRENT_NS): Promise<number> {
  const argv = conntrackDeleteArgv(f);
  const res = await runRaw(argv, { ns, timeoutMs: 10_000 });
  const m = /(\d+) flow entries have been deleted/.exec(res.stderr + res.stdout);
  if (res.code !== 0 && !m) throw new Error(`${argv.join(' ')}: exit ${res.code}: ${res.stderr.trim()}`);
  return m ? Number(m[1]) : 0;
}

/** One UDP conntrack entry: the original tuple and the reply tuple (after NAT, who answers). */
export interface UdpFlow {
  origSrc: string;
  origDst: string;
  origSport: number;
  origDport: number;
  replySrc: string;
  replySport: number;
}

/**
 * Parse `conntrack -L -p udp` output ("udp 17 29 src=A dst=B sport=P dport=Q [UNREPLIED] src=C dst=D
 * sport=R dport=S mark=0 use=1"): the first src/dst/sport/dport are the original direction, the second
 * the reply. Lines that do not have both tuples are skipped. Pure.
 */
export function parseConntrackUdp(text: string): UdpFlow[] {
  const out: UdpFlow[] = [];
  for (const line of text.split('\n')) {
    if (!/^\s*udp\s/.test(line)) continue;
    const src: string[] = [];
    const dst: string[] = [];
    const sport: number[] = [];
    const dport: number[] = [];
    for (const m of line.matchAll(/\b(src|dst|sport|dport)=(\S+)/g)) {
      const [, k, v] = m as unknown as [string, string, string];
      if (k === 'src') src.push(v);
      else if (k === 'dst') dst.push(v);
      else if (k === 'sport') sport.push(Number(v));
      else dport.push(Number(v));
    }
    if (src.length < 2 || dst.length < 2 || sport.length < 2 || dport.length < 2) continue;
    out.push({
      origSrc: src[0]!,
      origDst: dst[0]!,
      origSport: sport[0]!,
      origDport: dport[0]!,
      replySrc: src[1]!,
      replySport: sport[1]!,
    });
  }
  return out;
}

/** Every UDP conntrack entry of one family in the namespace. */
export async function conntrackListUdp(family: 'ipv4' | 'ipv6', ns: NsRef = CURRENT_NS): Promise<UdpFlow[]> {
  const argv = ['conntrack', '-L', '-f', family, '-p', 'udp'];
  const res = await runRaw(argv, { ns, timeoutMs: 10_000 });
  if (res.code !== 0) throw new Error(`${argv.join(' ')}: exit ${res.code}: ${res.stderr.trim()}`);
  return parseConntrackUdp(res.stdout);
}

/** One direction of a conntrack entry. */
interface CtTuple {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
}

export interface CtEntry {
  proto: string;
  state?: string;
  orig: CtTuple;
  reply: CtTuple;
  flags: string[];
}

/** `conntrack -L` lines → entries: the first src/dst/sport/dport group is the original direction. */
export function parseConntrack(out: string): CtEntry[] {
  const entries: CtEntry[] = [];
  for (const line of out.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words.length < 4 || !/^[a-z0-9]+$/.test(words[0] ?? '')) continue;
    const tuples: CtTuple[] = [];
    const flags: string[] = [];
    let state: string | undefined;
    for (const w of words.slice(3)) {
      const kv = /^(src|dst|sport|dport)=(.+)$/.exec(w);
      if (!kv) {
        if (/^\[.+\]$/.test(w)) flags.push(w.slice(1, -1));
        else if (/^[A-Z_]+$/.test(w)) state = w;
        continue;
      }
      const [, k, v] = kv as unknown as [string, 'src' | 'dst' | 'sport' | 'dport', string];
      if (k === 'src') tuples.push({ src: v, dst: '' });
      const cur = tuples[tuples.length - 1];
      if (!cur) continue;
      if (k === 'dst') cur.dst = v;
      else if (k === 'sport' || k === 'dport') cur[k] = Number(v);
    }
    const [orig, reply] = tuples;
    if (orig && reply) entries.push({ proto: words[0] as string, state, orig, reply, flags });
  }
  return entries;
}

/** Entries whose original direction came from `src:sport` (the flow of one probe). */
export async function conntrackFlowsFrom(
  proto: 'tcp' | 'udp',
  src: string,
  sport: number,
  ns: NsRef = CURRENT_NS,
): Promise<CtEntry[]> {
  const argv = ['conntrack', '-L', '-p', proto, '--orig-src', src, '--orig-port-src', String(sport)];
  const res = await runRaw(argv, { ns, timeoutMs: 10_000 });
  if (res.code !== 0 && !/flow entries have been shown/.test(res.stderr))
    throw new Error(`${argv.join(' ')}: exit ${res.code}: ${res.stderr.trim()}`);
  return parseConntrack(res.stdout);
}
