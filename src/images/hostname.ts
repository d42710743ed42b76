import { createServer } from 'node:http';
import { hostname } from 'node:os';
import type { Running } from './netexec.js';
import { parseImageFlags } from './flags.js';

/** skiff/hostname: like Kubernetes' serve_hostname, answers every request with the pod's hostname. */
export function parseHostnameArgs(argv: string[]): { port: number } {
  const f = parseImageFlags(argv, ['port']);
  return { port: f.int('port', 9376) };
}

/**
 * `plain`: agnhost serve-hostname / registry.k8s.io/serve_hostname, which answer the bare hostname;
 * otherwise skiff/hostname's "Container Hostname: <name>" line.
 */
export async function startHostname(opts: { port: number; plain?: boolean }): Promise<Running> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(opts.plain ? hostname() : `Container Hostname: ${hostname()}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '0.0.0.0', () => resolve());
  });
  return {
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
