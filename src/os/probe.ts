import { run, runRaw } from './exec.js';
import { inNs, ipArgv, type NsRef } from './ns.js';
import { spawnProgram } from './process.js';

/**
 * One probe connection for `skiff trace`, sent by socat from inside a namespace: a fixed source port and
 * a TOS byte the trace rules match, so the kernel's tracing follows this probe and nothing else, even
 * after NAT rewrote its addresses. The connection is held open until `send` is called, so the caller can
 * look at the sockets it created on the way (the userspace proxy's backend connection) while they exist.
 */
export interface ProbeSpec {
  proto: 'tcp' | 'udp';
  host: string;
  port: number;
  sport: number;
  /** the whole TOS byte (DSCP << 2) */
  tos: number;
  timeoutS: number;
}

type ProbeOutcome = 'answered' | 'refused' | 'unreachable' | 'timeout' | 'silent' | 'error';

export interface ProbeResult {
  outcome: ProbeOutcome;
  /** what the server sent back (truncated to 4 KiB) */
  reply: string;
  /** socat's error line, when there is one */
  message: string;
  /** ms from start to exit */
  ms: number;
}

export interface RunningProbe {
  /** Resolves true once the connection is up (TCP handshake done; UDP socket connected), false if it failed. */
  connected: Promise<boolean>;
  /** Send the payload and end our side; resolves with the outcome. */
  send(payload: string): Promise<ProbeResult>;
}

function outcomeOf(code: number, stderr: string, reply: string): ProbeOutcome {
  if (reply) return 'answered';
  if (/Connection refused/.test(stderr)) return 'refused';
  if (/No route to host|Network is unreachable|Host is unreachable|Destination Host Unreachable/.test(stderr))
    return 'unreachable';
  if (/timed out|Operation now in progress/.test(stderr)) return 'timeout';
  return code === 0 ? 'silent' : 'error';
}

export function startProbe(ns: NsRef, p: ProbeSpec): RunningProbe {
  const t = String(p.timeoutS);
  const target =
    p.proto === 'tcp'
      ? `TCP4:${p.host}:${p.port},sourceport=${p.sport},reuseaddr,tos=${p.tos},connect-timeout=${t}`
      : `UDP4:${p.host}:${p.port},sourceport=${p.sport},reuseaddr,tos=${p.tos}`;
  // -d -d: socat says "starting data transfer loop" once connected; -t/-T bound the exchange
  const argv = inNs(ns, ['timeout', String(p.timeoutS * 3 + 5), 'socat', '-d', '-d', '-t', t, '-T', t, '-', target]);
  const started = Date.now();
  const child = spawnProgram(argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let onConnected: (v: boolean) => void = () => undefined;
  const connected = new Promise<boolean>((resolve) => (onConnected = resolve));
  child.stdout?.on('data', (b: Buffer) => {
    if (stdout.length < 4096) stdout += b.toString('utf8');
  });
  child.stderr?.on('data', (b: Buffer) => {
    stderr += b.toString('utf8');
    if (/starting data transfer loop/.test(stderr)) onConnected(true);
  });
  child.stdin?.on('error', () => undefined);
  const done = new Promise<ProbeResult>((resolve) => {
    const finish = (code: number): void => {
      onConnected(false);
      const errLine = stderr.split('\n').find((l) => / E /.test(l)) ?? '';
      resolve({
        outcome: outcomeOf(code, stderr, stdout),
        reply: stdout.slice(0, 4096),
        message: errLine.replace(/^.*? E /, '').trim(),
        ms: Date.now() - started,
      });
    };
    child.once('error', () => finish(127));
    child.once('close', (code, signal) => finish(code ?? (signal ? 128 : 1)));
  });
  return {
    connected,
    send: async (payload) => {
      child.stdin?.end(payload);
      return done;
    },
  };
}

/** The route a packet to `dst` takes from `ns` (`ip route get`), in iproute2's words, or its error. */
export async function routeGet(ns: NsRef, dst: string): Promise<string> {
  const res = await runRaw(ipArgv(ns, ['route', 'get', dst]), { timeoutMs: 5000 });
  const text = (res.code === 0 ? res.stdout : res.stderr).split('\n')[0]?.trim() ?? '';
  return text.replace(/\s+/g, ' ').replace(/ cache$/, '');
}

/** A socket as `ss -H -n -p` prints it. */
export interface SocketEntry {
  state: string;
  local: string;
  peer: string;
  pids: number[];
  fds: number[];
}

/** TCP or UDP sockets of a namespace with their owning processes. */
export async function listSockets(ns: NsRef, proto: 'tcp' | 'udp'): Promise<SocketEntry[]> {
  const out = await run(inNs(ns, ['ss', '-H', '-n', '-p', proto === 'tcp' ? '-t' : '-u', '-a']), { timeoutMs: 5000 });
  return parseSs(out);
}

export function parseSs(out: string): SocketEntry[] {
  const res: SocketEntry[] = [];
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5) continue;
    const [state, , , local, peer, ...rest] = f as [string, string, string, string, string, ...string[]];
    const users = rest.join(' ');
    res.push({
      state,
      local,
      peer,
      pids: [...users.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])),
      fds: [...users.matchAll(/fd=(\d+)/g)].map((m) => Number(m[1])),
    });
  }
  return res;
}
