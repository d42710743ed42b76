/**
 * `skiff logs COMPONENT...|pod/NAME [-f]`: a component's log, human-readable (the components write pino JSON
 * lines; pino-pretty renders them, other lines pass as they are), or a pod's container log through the API
 * (pods/log, what `kubectl logs` reads). Logs are one file per component per lab run (logs/; the run before
 * is in logs/previous/, `--previous`).
 */
import { Command, InvalidArgumentError } from 'commander';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { prettyFactory } from 'pino-pretty';
import { ApiClient } from '../kubelet/api.js';
import { labPaths } from '../lab/paths.js';
import { DEFAULT_STATE_DIR, readLab } from '../lab/state.js';
import { labComponents, resolveComponents } from '../lab/supervisor.js';
import { UserError, errorMessage } from '../util/errors.js';
import { parseArgs } from './parse.js';

interface Options {
  stateDir: string;
  follow: boolean;
  tail?: number;
  raw: boolean;
  previous: boolean;
  namespace: string;
  container?: string;
}

function count(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a whole number ≥ 0, got "${v}"`);
  return n;
}

export async function main(argv: string[]): Promise<void> {
  const cmd = new Command('skiff logs')
    .description('print component logs (kubelet-node1, kubelet = every node’s, supervisor) or pod/NAME’s')
    .argument('<target...>', 'component names (skiff status lists them) or pod/NAME')
    .option('--state-dir <dir>', 'lab state directory', DEFAULT_STATE_DIR)
    .option('-f, --follow', 'keep printing as the log grows (Ctrl-C ends)', false)
    .option('--tail <n>', 'only the last n lines', count)
    .option('--raw', 'component logs as written (JSON lines), not rendered', false)
    .option('-p, --previous', 'the previous lab run’s log (component), or the previous container’s (pod)', false)
    .option('-n, --namespace <ns>', 'namespace of pod/NAME', 'default')
    .option('-c, --container <name>', 'container of pod/NAME');
  if (!parseArgs(cmd, argv)) return;
  const o = cmd.opts<Options>();
  const dir = resolve(o.stateDir);
  const lab = readLab(dir);
  if (!lab) throw new UserError(`no lab in ${dir} (skiff up makes one)`, 2);
  const targets = cmd.args;
  const pods = targets.filter((t) => t.startsWith('pod/'));
  if (pods.length > 0) {
    if (targets.length > 1) throw new UserError('skiff logs: one pod/NAME at a time, without components', 2);
    await podLogs(dir, pods[0]!.slice('pod/'.length), o);
    return;
  }
  const files = componentLogs(dir, targets, o.previous);
  await printLogs(files, o);
}

/** name → log file; several components may share one (the two forwarders). */
function componentLogs(dir: string, names: string[], previous: boolean): Map<string, string> {
  const logs = labPaths(dir).logs;
  const byName = new Map(labComponents(dir).map((c) => [c.name, c.log]));
  byName.set('supervisor', join(logs, 'supervisor.log'));
  const out = new Map<string, string>();
  for (const n of names) {
    let resolved: string[];
    if (byName.has(n)) resolved = [n];
    else {
      try {
        resolved = resolveComponents(dir, [n]);
      } catch (err) {
        throw new UserError(`${errorMessage(err)}, supervisor`, 2);
      }
    }
    for (const r of resolved) {
      const file = byName.get(r)!;
      out.set(r, previous ? join(dirname(file), 'previous', basename(file)) : file);
    }
  }
  for (const [name, file] of out) {
    if (!existsSync(file)) throw new UserError(`${name}: no log at ${file}${previous ? ' (no previous run)' : ''}`);
  }
  return out;
}

async function printLogs(files: Map<string, string>, o: Options): Promise<void> {
  const pretty = o.raw ? (l: string) => `${l}\n` : renderer();
  const label = files.size > 1 ? (n: string) => `[${n}] ` : () => '';
  const unique = new Map<string, string>(); // file → first name (a shared file is printed once)
  for (const [n, f] of files) if (![...unique.keys()].includes(f)) unique.set(f, n);
  for (const [file, name] of unique) {
    let lines = readFileSync(file, 'utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    if (o.tail !== undefined) lines = o.tail === 0 ? [] : lines.slice(-o.tail);
    for (const l of lines) process.stdout.write(label(name) + pretty(l));
  }
  if (!o.follow) return;
  await followFiles(unique, (name, line) => process.stdout.write(label(name) + pretty(line)));
}

/** pino JSON → `[12:00:01.123] INFO: kubelet: message {"node":"node1"}`; anything else as written. */
function renderer(): (line: string) => string {
  const render = prettyFactory({
    colorize: process.stdout.isTTY,
    singleLine: true,
    ignore: 'pid,hostname,component',
    messageFormat: '{component}: {msg}',
    translateTime: 'SYS:HH:MM:ss.l',
  });
  return (line) => {
    if (!line.startsWith('{')) return `${line}\n`;
    try {
      return render(JSON.parse(line) as object);
    } catch {
      return `${line}\n`;
    }
  };
}

/** tail -f for several files: poll their sizes, print whole new lines, until SIGINT/SIGTERM. */
function followFiles(files: Map<string, string>, onLine: (name: string, line: string) => void): Promise<void> {
  const offsets = new Map([...files.keys()].map((f) => [f, statSync(f).size]));
  const partial = new Map<string, string>();
  return new Promise((done) => {
    const timer = setInterval(() => {
      for (const [file, name] of files) {
        let size: number;
        try {
          size = statSync(file).size;
        } catch {
          continue;
        }
        const from = offsets.get(file) ?? 0;
        if (size < from) offsets.set(file, 0); // truncated or replaced: start over
        if (size <= from) continue;
        const buf = Buffer.alloc(size - from);
        const fd = openSync(file, 'r');
        try {
          readSync(fd, buf, 0, buf.length, from);
        } finally {
          closeSync(fd);
        }
        offsets.set(file, size);
        const text = (partial.get(file) ?? '') + buf.toString('utf8');
        const parts = text.split('\n');
        partial.set(file, parts.pop() ?? '');
        for (const l of parts) onLine(name, l);
      }
    }, 250);
    const stop = (): void => {
      clearInterval(timer);
      done();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

async function podLogs(dir: string, name: string, o: Options): Promise<void> {
  const api = new ApiClient(labPaths(dir).adminKubeconfig);
  const q = new URLSearchParams();
  if (o.container) q.set('container', o.container);
  if (o.follow) q.set('follow', 'true');
  if (o.previous) q.set('previous', 'true');
  if (o.tail !== undefined) q.set('tailLines', String(o.tail));
  const path = `/api/v1/namespaces/${encodeURIComponent(o.namespace)}/pods/${encodeURIComponent(name)}/log${q.size ? `?${q}` : ''}`;
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  try {
    await api.stream(path, (c) => process.stdout.write(c), abort.signal);
  } catch (err) {
    throw new UserError(`skiff logs pod/${name}: ${errorMessage(err)}`);
  }
}
