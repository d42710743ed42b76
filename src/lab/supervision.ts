import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { isSameProcess, type ProcessIdentity } from '../os/process.js';
import { exponentialBackoff } from '../util/backoff.js';

/**
 * The lab's supervision, as files under DIR/supervise (the daemon is `skiff supervise`, see supervisor-daemon.ts):
 *   units/NAME.json    what to run (written by `skiff up`): argv, log file, environment
 *   status/NAME.json   what runs (written by the daemon only): state, pid, restarts, the last exit
 *   control/NAME       a request (`skiff restart|stop|start`), consumed by the daemon
 * One daemon for every component, as systemd is one on the Vagrant VMs: a Node process per component would
 * cost ~40 MiB each. Everything is level-triggered: the daemon converges on the unit files every second and
 * at once on SIGHUP, so a lost signal only delays.
 */
const unitSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
  argv: z.array(z.string()).min(1),
  log: z.string(),
  env: z.record(z.string()).default({}),
  netns: z.string().optional(),
});
export type Unit = z.infer<typeof unitSchema>;

const exitSchema = z.object({
  code: z.number().int().nullable(),
  signal: z.string().nullable(),
  at: z.string(),
  /** how long that run lasted */
  ranMs: z.number(),
  /** `skiff restart`/`stop` asked for it (not a crash) */
  requested: z.boolean(),
});
export type UnitExit = z.infer<typeof exitSchema>;

const unitStatusSchema = z.object({
  name: z.string(),
  /** running: a child is up; backoff: it exited and restarts at nextStartAt; stopped: by request or shutdown */
  state: z.enum(['running', 'backoff', 'stopped']),
  pid: z.number().int().optional(),
  startTicks: z.number().optional(),
  startedAt: z.string().optional(),
  /** starts after the first one, whatever the cause (as a container's restartCount) */
  restarts: z.number().int(),
  /** stopped by `skiff stop NAME`: stays stopped (across daemon restarts) until `skiff start NAME` */
  held: z.boolean().optional(),
  lastExit: exitSchema.optional(),
  nextStartAt: z.string().optional(),
});
export type UnitStatus = z.infer<typeof unitStatusSchema>;

export type ControlRequest = 'restart' | 'stop' | 'start';
const CONTROL = new Set<string>(['restart', 'stop', 'start']);

export interface SupervisionPaths {
  dir: string;
  units: string;
  status: string;
  control: string;
  /** written by the daemon once its signal handlers are in place */
  ready: string;
}

export function supervisionPaths(dir: string): SupervisionPaths {
  return {
    dir,
    units: join(dir, 'units'),
    status: join(dir, 'status'),
    control: join(dir, 'control'),
    ready: join(dir, 'ready'),
  };
}

function writeAtomic(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

function readJson<T>(file: string, schema: z.ZodType<T, z.ZodTypeDef, unknown>): T | undefined {
  try {
    return schema.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    return undefined; // absent, or being replaced (writes are atomic, so only absent in practice)
  }
}

function jsonNames(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

export function writeUnit(p: SupervisionPaths, u: Unit): void {
  mkdirSync(p.units, { recursive: true, mode: 0o700 });
  writeAtomic(join(p.units, `${u.name}.json`), JSON.stringify(unitSchema.parse(u), null, 2));
}

export function readUnits(p: SupervisionPaths): Unit[] {
  return jsonNames(p.units).flatMap((n) => readJson(join(p.units, `${n}.json`), unitSchema) ?? []);
}

export function writeStatus(p: SupervisionPaths, s: UnitStatus): void {
  mkdirSync(p.status, { recursive: true, mode: 0o700 });
  writeAtomic(join(p.status, `${s.name}.json`), JSON.stringify(s, null, 2));
}

export function removeStatus(p: SupervisionPaths, name: string): void {
  rmSync(join(p.status, `${name}.json`), { force: true });
}

export function readStatus(p: SupervisionPaths, name: string): UnitStatus | undefined {
  return readJson(join(p.status, `${name}.json`), unitStatusSchema);
}

/** The unit's current process, if one is running (pid + start time, so a recycled pid never counts). */
export function runningProcess(p: SupervisionPaths, name: string): ProcessIdentity | undefined {
  const s = readStatus(p, name);
  if (s?.state !== 'running' || s.pid === undefined || s.startTicks === undefined) return undefined;
  const id = { pid: s.pid, startTicks: s.startTicks };
  return isSameProcess(id) ? id : undefined;
}

export function requestControl(p: SupervisionPaths, name: string, req: ControlRequest): void {
  mkdirSync(p.control, { recursive: true, mode: 0o700 });
  writeAtomic(join(p.control, name), req);
}

/** Pending requests, each removed as it is read (the newest request per unit wins). */
export function takeControlRequests(p: SupervisionPaths): Map<string, ControlRequest> {
  const out = new Map<string, ControlRequest>();
  if (!existsSync(p.control)) return out;
  for (const name of readdirSync(p.control).filter((f) => !f.endsWith('.tmp'))) {
    const file = join(p.control, name);
    let req: string;
    try {
      req = readFileSync(file, 'utf8').trim();
    } catch {
      continue;
    }
    rmSync(file, { force: true });
    if (CONTROL.has(req)) out.set(name, req as ControlRequest);
  }
  return out;
}

/**
 * Restart back-off, as the kubelet's CrashLoopBackOff (and systemd's RestartSec with RestartSteps): the first
 * restart after `baseMs`, doubling per consecutive crash up to `maxMs`; a run that lasted `resetAfterMs` or
 * longer counts as healthy and starts the series again.
 */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1000, maxMs: 30_000, resetAfterMs: 10_000 };

/** `consecutive` is the number of crashes in a row including this one (≥ 1). */
export function restartDelayMs(policy: BackoffPolicy, consecutive: number): number {
  return exponentialBackoff(Math.max(consecutive, 1), policy);
}

/** Crashes in a row after a run of `ranMs` that followed `previous` crashes in a row. */
export function nextConsecutive(policy: BackoffPolicy, previous: number, ranMs: number): number {
  return ranMs >= policy.resetAfterMs ? 1 : previous + 1;
}

/** "code 1", "SIGKILL", "restarted" — a last exit in one word or two, for `skiff status`. */
export function describeExit(e: UnitExit | undefined): string {
  if (!e) return '-';
  if (e.requested) return 'restarted';
  return e.signal ? e.signal : `code ${e.code ?? '?'}`;
}
