import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { procCwd, procNetnsId } from '../os/proc.js';
import { CniCode, CniError } from './errors.js';
import { type CniPlugin, runPlugin } from './skel.js';
import type { NetConf } from './spec/types.js';

/**
 * The resident side of the plugin relay (src/cni/shim.sh): a long-running process that runs plugin calls
 * in-process, so a CNI call costs a few tiny process starts instead of a Node start. It only serves calls
 * it can serve exactly as the plugin process would: same build (the prelude's build id), same network
 * namespace (checked by the shim and again here), a plugin type it has. Anything else is declined with
 * "-", and the shim runs the plugin itself.
 *
 * Wire format (one call per connection). Request: "<build> <pid> <path of the invoked plugin>\n", then the
 * caller's environment as `env -0` prints it, one more NUL, then the plugin's stdin; the shim half-closes.
 * Reply: "<exit code>:<stdout>" or "-:" (declined).
 */
export const DEFAULT_SOCKET = '/run/skiff/cni.sock';
export const DECLINED = '-:';

export interface CniRequest {
  build: string;
  pid: number;
  self: string;
  env: Record<string, string>;
  stdin: string;
}

/** Parse one request; undefined when it is malformed. */
export function parseRequest(buf: Buffer): CniRequest | undefined {
  const nl = buf.indexOf(0x0a);
  if (nl < 0) return undefined;
  const header = buf.subarray(0, nl).toString('utf8');
  const m = /^(\S+) (\d+) (.+)$/.exec(header);
  if (!m) return undefined;
  const env: Record<string, string> = {};
  let pos = nl + 1;
  for (;;) {
    const z = buf.indexOf(0, pos);
    if (z < 0) return undefined; // no terminating empty entry
    const entry = buf.subarray(pos, z).toString('utf8');
    pos = z + 1;
    if (entry === '') break;
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return {
    build: m[1] as string,
    pid: Number(m[2]),
    self: m[3] as string,
    env,
    stdin: buf.subarray(pos).toString('utf8'),
  };
}

export interface DaemonOptions {
  socket: string;
  build: string;
  /** Plugins by type (the file name the runtime invoked). */
  plugins: Record<string, CniPlugin<NetConf>>;
  log?: (msg: string) => void;
}

export interface CniDaemon {
  server: Server;
  close(): Promise<void>;
}

/** Run one request; resolves to the reply text. */
export async function serveRequest(
  req: CniRequest,
  opts: Pick<DaemonOptions, 'build' | 'plugins' | 'log'>,
  ownNetns = procNetnsId('self'),
): Promise<string> {
  const plugin = opts.plugins[basename(req.self)];
  if (req.build !== opts.build || !plugin) return DECLINED;
  // The shim compared namespaces already; check again from this side (its pid, our view of /proc).
  if (!ownNetns || procNetnsId(req.pid) !== ownNetns) return DECLINED;
  // $0 is what the runtime exec'd: absolute when found on CNI_PATH; else relative to the caller's cwd.
  let self = req.self;
  if (!isAbsolute(self)) {
    try {
      self = resolve(procCwd(req.pid), self);
    } catch {
      return DECLINED;
    }
  }
  let out = '';
  const code = await runPlugin(plugin, {
    env: req.env,
    readStdin: () => req.stdin,
    stdout: (t) => void (out += t),
    stderr: (t) => void process.stderr.write(t),
    self,
  });
  const e = req.env;
  opts.log?.(
    `${e.CNI_COMMAND ?? '-'} ${basename(req.self)} ${e.CNI_CONTAINERID ?? '-'}/${e.CNI_IFNAME ?? '-'} exit ${code}`,
  );
  return `${code}:${out}`;
}

function errorReply(err: unknown): string {
  const e = err instanceof CniError ? err : new CniError(CniCode.Unknown, (err as Error)?.message ?? String(err));
  return `1:${JSON.stringify(e.toJSON(undefined), null, 4)}`;
}

function handle(sock: Socket, opts: DaemonOptions): void {
  const chunks: Buffer[] = [];
  let size = 0;
  sock.on('data', (b: Buffer) => {
    size += b.length;
    if (size > 16 << 20)
      sock.destroy(); // no CNI call is this large
    else chunks.push(b);
  });
  sock.on('error', () => undefined);
  sock.on('end', () => {
    const req = parseRequest(Buffer.concat(chunks));
    const reply = req ? serveRequest(req, opts).catch(errorReply) : Promise.resolve(DECLINED);
    void reply.then((text) => sock.end(text));
  });
}

/** Is something accepting connections on this socket? */
function listening(path: string): Promise<boolean> {
  return new Promise((res) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      res(true);
    });
    c.once('error', () => res(false));
  });
}

export async function startDaemon(opts: DaemonOptions): Promise<CniDaemon> {
  const pidFile = `${opts.socket}.pid`;
  mkdirSync(dirname(opts.socket), { recursive: true, mode: 0o755 });
  if (await listening(opts.socket)) throw new Error(`another skiff-cnid is already listening on ${opts.socket}`);
  rmSync(opts.socket, { force: true });
  // allowHalfOpen: the shim half-closes after the request and still reads the reply.
  const server = createServer({ allowHalfOpen: true }, (s) => handle(s, opts));
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(opts.socket, () => res());
  });
  chmodSync(opts.socket, 0o600); // root's plugins only: a call can change the node's network
  writeFileSync(pidFile, `${process.pid}\n`);
  opts.log?.(`serving ${Object.keys(opts.plugins).join(', ')} on ${opts.socket} (build ${opts.build})`);
  return {
    server,
    close: () =>
      new Promise<void>((res) => {
        rmSync(pidFile, { force: true });
        server.close(() => res());
        rmSync(opts.socket, { force: true });
      }),
  };
}
