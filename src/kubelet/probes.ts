import type { ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { connect } from 'node:net';
import { spawnInContainer } from '../os/container.js';
import type { Container, Probe } from './types.js';
import { containerCapabilities } from './view.js';

/**
 * One probe attempt: httpGet (2xx/3xx), tcpSocket (connect), exec (exit 0, run inside the container's
 * namespaces with nsenter). Never throws: a failure is an outcome with the reason.
 */
export function resolvePort(port: number | string, container: Container): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/** One attempt's outcome; `output` says why it failed, in the kubelet's words (the Unhealthy event's text). */
export interface ProbeOutcome {
  ok: boolean;
  output: string;
}

const MAX_EXEC_OUTPUT = 10 * 1024;

export async function runProbe(
  probe: Probe,
  container: Container,
  podIP: string,
  initPid: number,
): Promise<ProbeOutcome> {
  const timeoutMs = probe.timeoutSeconds * 1000;
  if (probe.httpGet) {
    const port = resolvePort(probe.httpGet.port, container);
    if (!port) return { ok: false, output: `port ${String(probe.httpGet.port)} not found in the container` };
    const host = probe.httpGet.host ?? podIP;
    const path = probe.httpGet?.path ?? '/';
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;
    const headers: Record<string, string> = { 'user-agent': 'skiff-probe/1.0' };
    for (const h of probe.httpGet.httpHeaders ?? []) headers[h.name] = h.value;
    return new Promise<ProbeOutcome>((resolve) => {
      const req = request({ host, port, path, method: 'GET', headers, timeout: timeoutMs }, (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve(
          code >= 200 && code < 400
            ? { ok: true, output: '' }
            : { ok: false, output: `HTTP probe failed with statuscode: ${code}` },
        );
      });
      req.on('timeout', () =>
        req.destroy(new Error('context deadline exceeded (Client.Timeout exceeded while awaiting headers)')),
      );
      req.on('error', (e: NodeJS.ErrnoException) =>
        resolve({ ok: false, output: `Get "${url}": ${netError(e, host, port)}` }),
      );
      req.end();
    });
  }
  if (probe.tcpSocket) {
    const port = resolvePort(probe.tcpSocket.port, container);
    if (!port) return { ok: false, output: `port ${String(probe.tcpSocket.port)} not found in the container` };
    const host = probe.tcpSocket?.host ?? podIP;
    return new Promise<ProbeOutcome>((resolve) => {
      const sock = connect({ host, port, timeout: timeoutMs });
      sock.on('connect', () => {
        sock.destroy();
        resolve({ ok: true, output: '' });
      });
      sock.on('timeout', () => {
        sock.destroy();
        resolve({ ok: false, output: `dial tcp ${host}:${port}: i/o timeout` });
      });
      sock.on('error', (e: NodeJS.ErrnoException) =>
        resolve({ ok: false, output: `dial tcp ${host}:${port}: ${netError(e, host, port)}` }),
      );
    });
  }
  if (probe.exec) {
    const cmd = probe.exec.command;
    if (cmd.length === 0) return { ok: false, output: 'exec probe has no command' };
    return new Promise<ProbeOutcome>((resolve) => {
      let child: ChildProcess;
      try {
        child = spawnInContainer(initPid, cmd, { stdio: ['ignore', 'pipe', 'pipe'] }, containerCapabilities(container));
      } catch {
        resolve({ ok: false, output: 'container is still starting' }); // still building its root view
        return;
      }
      let out = '';
      const take = (d: Buffer) => {
        if (out.length < MAX_EXEC_OUTPUT) out += d.toString('utf8');
      };
      child.stdout?.on('data', take);
      child.stderr?.on('data', take);
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.on('error', (e) => {
        clearTimeout(timer);
        resolve({ ok: false, output: e.message });
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        if (timedOut) resolve({ ok: false, output: `command ${JSON.stringify(cmd.join(' '))} timed out` });
        else resolve({ ok: code === 0, output: out.slice(0, MAX_EXEC_OUTPUT).trim() });
      });
    });
  }
  return { ok: false, output: 'probe has no handler' };
}

/** Node's socket errors as Go's net package words them ("connect: connection refused"). */
function netError(e: NodeJS.ErrnoException, host: string, port: number): string {
  if (e.code === 'ECONNREFUSED') return 'connect: connection refused';
  if (e.code === 'EHOSTUNREACH') return 'connect: no route to host';
  if (e.code === 'ENETUNREACH') return 'connect: network is unreachable';
  return e.message.replace(` ${host}:${port}`, '');
}

/** Consecutive-result bookkeeping for one probe (thresholds as Kubernetes applies them). */
export class ProbeTracker {
  private successes = 0;
  private failures = 0;
  result: boolean;
  nextAt: number;

  constructor(
    readonly probe: Probe,
    initial: boolean,
    startedAtMs: number,
  ) {
    this.result = initial;
    this.nextAt = startedAtMs + probe.initialDelaySeconds * 1000;
  }

  due(now: number): boolean {
    return now >= this.nextAt;
  }

  /** Record one attempt; returns true when the overall result flipped. */
  record(ok: boolean, now: number): boolean {
    this.nextAt = now + this.probe.periodSeconds * 1000;
    if (ok) {
      this.successes++;
      this.failures = 0;
      if (!this.result && this.successes >= this.probe.successThreshold) {
        this.result = true;
        return true;
      }
    } else {
      this.failures++;
      this.successes = 0;
      if (this.result && this.failures >= this.probe.failureThreshold) {
        this.result = false;
        return true;
      }
    }
    return false;
  }

  get failureCount(): number {
    return this.failures;
  }
}
