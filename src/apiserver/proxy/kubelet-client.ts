import { existsSync, readFileSync } from 'node:fs';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { connect, type TLSSocket } from 'node:tls';
import { kubeletClientFiles } from '../auth/pki.js';
import type { KubeletLocation } from './location.js';

/**
 * The API server's connections to kubelets: TLS with its kubelet-client certificate (auth/pki.ts), verifying
 * the kubelet's serving certificate against the cluster CA (it names the node's IP).
 */
export class KubeletClient {
  private readonly tls: { cert: string; key: string; ca: string };

  constructor(stateDir: string) {
    const f = kubeletClientFiles(stateDir);
    this.tls = { cert: readFileSync(f.cert, 'utf8'), key: readFileSync(f.key, 'utf8'), ca: readFileSync(f.ca, 'utf8') };
  }

  /** TLS options for a request of one's own to a kubelet (nodes/proxy). */
  tlsOptions(): { cert: string; key: string; ca: string; servername: undefined } {
    return { ...this.tls, servername: undefined };
  }

  static available(stateDir: string): boolean {
    const f = kubeletClientFiles(stateDir);
    return existsSync(f.cert) && existsSync(f.key);
  }

  /** A plain request (logs, nodes/proxy); the response streams. */
  request(loc: KubeletLocation, method: string, headers: Record<string, string>): Promise<IncomingMessage> {
    const opts: RequestOptions = {
      host: loc.host,
      port: loc.port,
      path: loc.path,
      method,
      headers,
      ...this.tls,
      servername: undefined,
      timeout: 10_000,
    };
    return new Promise((resolve, reject) => {
      const req = httpsRequest(opts, resolve);
      req.on('timeout', () => req.destroy(new Error(`kubelet ${loc.host}:${loc.port} did not answer`)));
      req.on('error', reject);
      req.end();
    });
  }

  /** A raw TLS connection for an upgraded (WebSocket/SPDY) stream. */
  connect(loc: KubeletLocation): Promise<TLSSocket> {
    return new Promise((resolve, reject) => {
      const s = connect({
        host: loc.host,
        port: loc.port,
        ...this.tls,
        servername: undefined,
        ALPNProtocols: ['http/1.1'],
      });
      const t = setTimeout(() => s.destroy(new Error(`kubelet ${loc.host}:${loc.port} did not answer`)), 10_000);
      s.once('secureConnect', () => {
        clearTimeout(t);
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
  }
}
