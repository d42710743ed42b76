import type { ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { connect } from 'node:net';
import { spawnInContainer } from '../os/container.js';
import type { Container, Probe } from './types.js';
import { containerCapabilities } from './view.js';

/**
 * One probe attempt: httpGet (2xx/3xx), tcpSocket (connect), exec (exit 0, run inside the container's
 * namespaces with nsenter). Returns true on success; never throws.
 */
export function resolvePort(port: number | string, container: Container): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

export async function runProbe(probe: Probe, container: Container, podIP: string, initPid: number): Promise<boolean> {
  const timeoutMs = probe.timeoutSeconds * 1000;
  if (probe.httpGet) {
    const port = resolvePort(probe.httpGet.port, container);
    if (!port) return false;
    const host = probe.httpGet.host ?? podIP;
    const headers: Record<string, string> = { 'user-agent': 'skiff-probe/1.0' };
    for (const h of probe.httpGet.httpHeaders ?? []) headers[h.name] = h.value;
    return new Promise<boolean>((resolve) => {
      const req = request(
        { host, port, path: probe.httpGet?.path ?? '/', method: 'GET', headers, timeout: timeoutMs },
        (res) => {
          res.resume();
          const code = res.statusCode ?? 0;
          resolve(code >= 200 && code < 400);
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve(false));
      req.end();
    });
  }
  if (probe.tcpSocket) {
    const port = resolvePort(probe.tcpSocket.port, container);
    if (!port) return false;
    return new Promise<boolean>((resolve) => {
      const sock = connect({ host: probe.tcpSocket?.host ?? podIP, port, timeout: timeoutMs });
      sock.on('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.on('timeout', () => {
        sock.destroy();
        resolve(false);
      });
      sock.on('error', () => resolve(false));
    });
  }
  if (probe.exec) {
    const cmd = probe.exec.command;
    if (cmd.length === 0) return false;
    return new Promise<boolean>((resolve) => {
      let child: ChildProcess;
      try {
        child = spawnInContainer(initPid, cmd, { stdio: 'ignore' }, containerCapabilities(container));
      } catch {
        resolve(false); // still building its root view
        return;
      }
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', () => {
        clearTimeout(timer);
        resolve(false);
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve(code === 0);
      });
    });
  }
  return false;
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
