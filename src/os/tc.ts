import { readFileSync } from 'node:fs';
import { run, runRaw } from './exec.js';
import { inNs, type NsRef } from './ns.js';

/**
 * Traffic control through the tc CLI: typed operations rendered to `tc -batch -` lines, applied in one
 * process per namespace (tc stops at the first failing line), and the qdiscs of a link read back as JSON.
 * Enough for the bandwidth CNI plugin: a token bucket (tbf) as a link's root qdisc, an ingress qdisc, and a
 * match-all u32 filter that redirects a link's ingress to another link (an ifb) with mirred.
 */
export type TcOp =
  /** `qdisc add dev DEV root handle 1: tbf rate RATEbps burst BURST limit LIMIT` (all in bytes) */
  | { op: 'tbf'; dev: string; rateBytes: number; burstBytes: number; limitBytes: number }
  /** `qdisc add dev DEV handle ffff: ingress` */
  | { op: 'ingress'; dev: string }
  /** every packet arriving on DEV is redirected to the egress of TO (needs DEV's ingress qdisc) */
  | { op: 'redirect'; dev: string; to: string }
  /** delete DEV's root or ingress qdisc */
  | { op: 'qdisc-del'; dev: string; parent: 'root' | 'ingress' };

function token(s: string): string {
  if (!/^[A-Za-z0-9_.@-]{1,15}$/.test(s)) throw new Error(`unsafe device name for tc batch: ${JSON.stringify(s)}`);
  return s;
}

function uint(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`tc: not a non-negative integer: ${n}`);
  return String(n);
}

function renderTcOp(o: TcOp): string {
  switch (o.op) {
    case 'tbf':
      return (
        `qdisc add dev ${token(o.dev)} root handle 1: tbf rate ${uint(o.rateBytes)}bps ` +
        `burst ${uint(o.burstBytes)} limit ${uint(o.limitBytes)}`
      );
    case 'ingress':
      return `qdisc add dev ${token(o.dev)} handle ffff: ingress`;
    case 'redirect':
      // The reference's filter: protocol all, pref 1, match-all u32 key, flowid 1:1, mirred egress redirect.
      return (
        `filter add dev ${token(o.dev)} parent ffff: protocol all prio 1 u32 match u32 0 0 flowid 1:1 ` +
        `action mirred egress redirect dev ${token(o.to)}`
      );
    case 'qdisc-del':
      return o.parent === 'root' ? `qdisc del dev ${token(o.dev)} root` : `qdisc del dev ${token(o.dev)} ingress`;
  }
}

function tcArgv(ns: NsRef, args: readonly string[]): string[] {
  return ns.kind === 'named' ? ['tc', '-n', ns.name, ...args] : inNs(ns, ['tc', ...args]);
}

/** Apply ops in one `tc -batch -` in ns; throws ExecError with tc's message at the first failing line. */
export async function applyTcOps(ns: NsRef, ops: readonly TcOp[]): Promise<void> {
  if (!ops.length) return;
  await run(tcArgv(ns, ['-batch', '-']), { input: ops.map(renderTcOp).join('\n') + '\n' });
}

/** Apply each op on its own, ignoring failures (undo of a partial change, where some objects never existed). */
export async function applyTcOpsBestEffort(ns: NsRef, ops: readonly TcOp[]): Promise<void> {
  if (!ops.length) return;
  await runRaw(tcArgv(ns, ['-force', '-batch', '-']), { input: ops.map(renderTcOp).join('\n') + '\n' });
}

/** One qdisc as `tc -j qdisc show` prints it (tbf options: rate in bytes/s, burst in bytes, lat in µs). */
export interface TcQdisc {
  kind: string;
  handle: string;
  root?: boolean;
  parent?: string;
  options?: { rate?: number; burst?: number; lat?: number; limit?: number };
}

/** The qdiscs of one link; undefined when the link does not exist. */
export async function listQdiscs(ns: NsRef, dev: string): Promise<TcQdisc[] | undefined> {
  const r = await runRaw(tcArgv(ns, ['-j', 'qdisc', 'show', 'dev', token(dev)]));
  if (r.code !== 0) {
    if (/Cannot find device|does not exist/.test(r.stderr)) return undefined;
    throw new Error(`tc qdisc show dev ${dev}: ${r.stderr.trim()}`);
  }
  return JSON.parse(r.stdout || '[]') as TcQdisc[];
}

let tick: number | undefined;

/**
 * The kernel's packet-scheduler clock: µs per tick, as iproute2 and the Go netlink library derive it from
 * /proc/net/psched. A tbf's buffer is kept in ticks, so a plugin that computes qdisc values needs it.
 */
export function tickInUsec(): number {
  if (tick === undefined) {
    const [t2us, us2t, clockRes] = readFileSync('/proc/net/psched', 'utf8')
      .trim()
      .split(/\s+/)
      .map((h) => parseInt(h, 16)) as [number, number, number];
    // iproute2's compatibility rule: a nanosecond clock advertises a multiplier of 1000 that really is 1.
    const t2 = clockRes === 1_000_000_000 ? us2t : t2us;
    tick = (t2 / us2t) * (clockRes / 1_000_000);
  }
  return tick;
}
