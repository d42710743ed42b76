/**
 * The probe agent: one process per source namespace (`skiff conformance probe-agent`, started by the runner
 * inside the pod's, node's or client's network namespace), so hundreds of probes cost one process start per
 * source rather than one per probe. It reads one JSON request per line on stdin and writes one JSON answer per
 * line on stdout; requests run concurrently, the tries of one request one after another (affinity is about
 * consecutive connections).
 *
 * A try asks the endpoint (skiff/netexec) two things over ONE flow, so both answers come from the same
 * endpoint: its hostname, then the address it sees the client as. TCP: two HTTP requests on one kept-alive
 * connection. UDP: "hostname" then "clientip" from one connected socket (one conntrack entry, one endpoint).
 */
import { Agent, request as httpRequest } from 'node:http';
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import type { Try } from './model.js';

const probeRequestSchema = z.object({
  id: z.number().int(),
  proto: z.enum(['TCP', 'UDP']),
  host: z.string().refine((h) => isIP(h) !== 0, 'an IP address'),
  port: z.number().int().min(1).max(65535),
  tries: z.number().int().min(1).max(20),
  timeoutMs: z.number().int().min(100).max(30_000),
});
export type ProbeRequest = z.infer<typeof probeRequestSchema>;

export interface ProbeAnswer {
  id: number;
  tries: Try[];
}

/** "10.244.1.5:43210" or "[fd00::5]:43210" → the address alone */
export function addressOf(hostPort: string): string {
  const s = hostPort.trim();
  const v6 = /^\[([^\]]+)\]:\d+$/.exec(s);
  if (v6) return v6[1] as string;
  const i = s.lastIndexOf(':');
  return i > 0 && isIP(s.slice(0, i)) === 4 ? s.slice(0, i) : s;
}

function errName(e: unknown): string {
  const code = (e as { code?: string }).code;
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'unreachable';
  if (code === 'ECONNRESET') return 'reset';
  return code ?? (e as Error).message ?? String(e);
}

function httpGet(agent: Agent, host: string, port: number, path: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host, port, path, agent, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () =>
        res.statusCode === 200 ? resolve(body.trim()) : reject(new Error(`HTTP ${res.statusCode}`)),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
    req.on('error', reject);
    req.end();
  });
}

async function tcpTry(r: ProbeRequest): Promise<Try> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const backend = await httpGet(agent, r.host, r.port, '/hostname', r.timeoutMs);
    const seen = await httpGet(agent, r.host, r.port, '/clientip', r.timeoutMs);
    return { ok: true, backend, seen: addressOf(seen) };
  } catch (e) {
    return { ok: false, err: errName(e) };
  } finally {
    agent.destroy();
  }
}

function udpTry(r: ProbeRequest): Promise<Try> {
  return new Promise((resolve) => {
    const sock = createSocket(isIP(r.host) === 6 ? 'udp6' : 'udp4');
    const answers: string[] = [];
    let settled = false;
    const done = (t: Try): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.close();
      resolve(t);
    };
    const timer = setTimeout(() => done({ ok: false, err: 'timeout' }), r.timeoutMs);
    sock.on('error', (e) => done({ ok: false, err: errName(e) }));
    sock.on('message', (m) => {
      answers.push(m.toString('utf8').trim());
      if (answers.length === 1) sock.send('clientip');
      else done({ ok: true, backend: answers[0] as string, seen: addressOf(answers[1] as string) });
    });
    sock.connect(r.port, r.host, () => sock.send('hostname'));
  });
}

async function probe(r: ProbeRequest): Promise<ProbeAnswer> {
  const tries: Try[] = [];
  for (let i = 0; i < r.tries; i++) tries.push(await (r.proto === 'TCP' ? tcpTry(r) : udpTry(r)));
  return { id: r.id, tries };
}

/** Serve requests from stdin until it ends, then exit once every answer is written. */
export async function runProbeAgent(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<void> {
  const pending: Promise<void>[] = [];
  for await (const line of createInterface({ input })) {
    if (!line.trim()) continue;
    const parsed = probeRequestSchema.safeParse(JSON.parse(line));
    if (!parsed.success) {
      output.write(`${JSON.stringify({ error: parsed.error.issues.map((i) => i.message).join('; ') })}\n`);
      continue;
    }
    pending.push(probe(parsed.data).then((a) => void output.write(`${JSON.stringify(a)}\n`)));
  }
  await Promise.all(pending);
}
