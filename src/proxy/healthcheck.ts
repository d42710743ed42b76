import { createServer, type Server } from 'node:http';
import type { Logger } from '../util/log.js';
import { errorMessage } from '../util/errors.js';
import type { DesiredState } from './model/types.js';

/**
 * healthCheckNodePort servers for externalTrafficPolicy: Local services, answering like kube-proxy:
 * 200 with the count of local endpoints when there is one, 503 otherwise, so an external load balancer
 * sends traffic only to nodes that have an endpoint.
 */
export class HealthCheckServers {
  private readonly servers = new Map<number, { server: Server; key: string; local: number }>();

  constructor(private readonly log?: Logger) {}

  async sync(desired: DesiredState): Promise<void> {
    const want = new Map<number, { key: string; local: number }>();
    for (const st of desired.values()) {
      if (st.healthCheckNodePort) want.set(st.healthCheckNodePort, { key: st.key, local: st.localEndpoints });
    }
    for (const [port, entry] of this.servers) {
      const w = want.get(port);
      if (w) {
        entry.key = w.key;
        entry.local = w.local;
      } else {
        this.servers.delete(port);
        entry.server.close();
      }
    }
    for (const [port, w] of want) {
      if (this.servers.has(port)) continue;
      const entry = { server: createServer(), key: w.key, local: w.local };
      entry.server.on('request', (_req, res) => {
        const [namespace, name] = entry.key.split('/');
        res.writeHead(entry.local > 0 ? 200 : 503, {
          'content-type': 'application/json',
          'X-Content-Type-Options': 'nosniff',
        });
        res.end(
          JSON.stringify({ service: { namespace, name }, localEndpoints: entry.local, serviceProxyHealthy: true }),
        );
      });
      try {
        await new Promise<void>((resolve, reject) => {
          entry.server.once('error', reject);
          entry.server.listen(port, '0.0.0.0', () => resolve());
        });
        this.servers.set(port, entry);
      } catch (err) {
        this.log?.warn({ port, service: w.key, err: errorMessage(err) }, 'health check node port unavailable');
      }
    }
  }

  close(): void {
    for (const e of this.servers.values()) e.server.close();
    this.servers.clear();
  }
}
