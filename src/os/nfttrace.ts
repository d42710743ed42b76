import { runRaw } from './exec.js';
import { nftApply, nftDeleteTable, nftListJson, Transaction, type TableRef } from './nft.js';
import { inNs, type NsRef } from './ns.js';
import { procExists } from './proc.js';
import { spawnProgram } from './process.js';

/**
 * nftables packet tracing for one probe (`skiff trace`): a temporary table whose base chains, hooked before
 * conntrack and NAT, set `meta nftrace` on the probe's packets only, and an `nft monitor` that prints every
 * chain and rule those packets meet in the namespace. The trace flag is per packet and the kernel clears
 * it when a packet crosses into another namespace, so each namespace the probe may pass gets its own table
 * and monitor. Both are removed afterwards, also on failure; a table left by a killed run (its pid in the
 * name) is swept by the next one.
 */
const TRACE_PREFIX = 'skiff-trace-';
/** Below the raw hook (-300) and conntrack (-200): the flag is set before anything else sees the packet. */
const TRACE_PRIORITY = -350;
/** An upper bound on a monitor's life, whatever happens to the process that started it. */
const MONITOR_MAX_S = 120;

export function traceTableRef(runId: string): TableRef {
  if (!/^[a-z0-9-]+$/.test(runId)) throw new Error(`invalid trace run id ${JSON.stringify(runId)}`);
  return { family: 'ip', name: `${TRACE_PREFIX}${process.pid}-${runId}` };
}

/** The trace table: prerouting (packets arriving) and output (packets the namespace sends) set nftrace. */
export function traceTableText(t: TableRef, match: string): string {
  const tx = new Transaction()
    .add({ verb: 'add', kind: 'table', table: t })
    .add({ verb: 'delete', kind: 'table', table: t })
    .add({ verb: 'add', kind: 'table', table: t });
  for (const hook of ['prerouting', 'output']) {
    const spec = `type filter hook ${hook} priority ${TRACE_PRIORITY}; policy accept;`;
    tx.add({ verb: 'add', kind: 'chain', table: t, name: hook, spec });
    tx.add({ verb: 'add', kind: 'rule', table: t, chain: hook, rule: `${match} meta nftrace set 1` });
  }
  return tx.render();
}

export interface NftTrace {
  /** Lines `nft monitor` printed so far that are trace events ("trace id ..."). */
  events(): string[];
  /** Remove the table and stop the monitor (idempotent). */
  stop(): Promise<void>;
}

/**
 * Start a monitor in `ns`, then install the trace table; resolves once the monitor has printed the table's
 * creation (so it is subscribed before the probe is sent). Throws, having removed both, if it never does.
 */
export async function startNftTrace(ns: NsRef, t: TableRef, match: string, timeoutMs = 5000): Promise<NftTrace> {
  const argv = inNs(ns, ['timeout', String(MONITOR_MAX_S), 'nft', 'monitor']);
  const child = spawnProgram(argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  child.stdout?.on('data', (b: Buffer) => {
    const parts = (partial + b.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  const exited = new Promise<void>((resolve) => {
    child.once('close', () => resolve());
    child.once('error', () => resolve());
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    try {
      await nftDeleteTable(t, ns);
    } finally {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      child.kill('SIGKILL');
    }
  };
  const created = `add table ${t.family} ${t.name}`;
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`nft monitor exited: ${stderr.trim() || `code ${child.exitCode}`}`);
      // re-created on every attempt: the monitor may not have been subscribed for the previous one
      await nftApply(traceTableText(t, match), ns);
      const until = Date.now() + 500;
      while (Date.now() < until && !lines.some((l) => l.trim() === created))
        await new Promise((r) => setTimeout(r, 25));
      if (lines.some((l) => l.trim() === created)) {
        return { events: () => lines.filter((l) => l.startsWith('trace id ')), stop };
      }
    }
    throw new Error(`nft monitor did not report the trace table within ${timeoutMs} ms`);
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Delete trace tables whose run (the pid in their name) is gone: what a killed `skiff trace` left. */
export async function sweepTraceTables(ns: NsRef): Promise<string[]> {
  const doc = await nftListJson(ns);
  const gone: string[] = [];
  for (const item of doc.nftables) {
    const table = item.table as { family?: string; name?: string } | undefined;
    const m = table?.name?.startsWith(TRACE_PREFIX) ? /^skiff-trace-(\d+)-/.exec(table.name) : null;
    if (!table?.name || !m || procExists(Number(m[1]))) continue;
    await nftDeleteTable({ family: table.family as TableRef['family'], name: table.name }, ns);
    gone.push(table.name);
  }
  return gone;
}

/** One element of a map or set, as nft prints it ("KEY : VALUE"), or undefined when it holds no such key. */
export async function nftGetElement(ns: NsRef, t: TableRef, map: string, key: string): Promise<string | undefined> {
  if (!/^[A-Za-z0-9_.:/ -]+$/.test(key) || !/^[A-Za-z0-9_.-]+$/.test(map)) return undefined;
  const res = await runRaw(['nft', 'get', 'element', t.family, t.name, map, `{ ${key} }`], { ns, timeoutMs: 5000 });
  if (res.code !== 0) return undefined;
  const m = /elements = \{\s*([^}]*?)\s*\}/.exec(res.stdout);
  return m?.[1];
}
