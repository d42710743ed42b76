import { runRaw } from '../os/exec.js';
import { namedNs } from '../os/ns.js';

/**
 * One HTTP GET from inside a lab namespace (socat: no curl needed, nothing in the root namespace).
 * Returns the response body, or undefined on any failure (connection refused, timeout, non-HTTP).
 */
export async function httpGetIn(
  netns: string,
  host: string,
  port: number,
  path = '/',
  timeoutS = 2,
): Promise<string | undefined> {
  const res = await runRaw(
    ['socat', '-t', String(timeoutS), '-T', String(timeoutS), '-', `TCP:${host}:${port},connect-timeout=${timeoutS}`],
    {
      ns: namedNs(netns),
      input: `GET ${path} HTTP/1.0\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      timeoutMs: (timeoutS + 2) * 1000,
    },
  );
  if (res.code !== 0) return undefined;
  const idx = res.stdout.indexOf('\r\n\r\n');
  if (!/^HTTP\/1\.[01] 2\d\d/.test(res.stdout) || idx < 0) return undefined;
  return res.stdout.slice(idx + 4);
}

/** "Container Hostname: web-abc\n" → "web-abc" */
export function servedHostname(body: string | undefined): string | undefined {
  const m = /Container Hostname: (\S+)/.exec(body ?? '');
  return m?.[1] ?? (body?.trim() || undefined);
}
