import { request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';

/**
 * A small JSON REST client over the kubeconfig's credentials. The kubelet needs exactly: get, create,
 * merge-patch (status subresources), delete with options, and a line-delimited watch that it restarts
 * itself — so it talks HTTP directly and uses @kubernetes/client-node only for kubeconfig handling
 * (TLS material, bearer token), which keeps error handling and reconnects in our hands.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export class ApiClient {
  private readonly kc = new KubeConfig();
  readonly server: URL;

  constructor(kubeconfigFile: string) {
    this.kc.loadFromFile(kubeconfigFile);
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error(`${kubeconfigFile}: no current cluster`);
    this.server = new URL(cluster.server);
  }

  private async options(method: string, path: string, headers: Record<string, string>): Promise<RequestOptions> {
    const opts: RequestOptions = {
      method,
      hostname: this.server.hostname,
      port: this.server.port || (this.server.protocol === 'https:' ? 443 : 80),
      path,
      headers: { accept: 'application/json', ...headers },
    };
    await this.kc.applyToHTTPSOptions(opts);
    return opts;
  }

  private send(opts: RequestOptions, body?: string) {
    const req = this.server.protocol === 'https:' ? httpsRequest(opts) : httpRequest(opts);
    if (body !== undefined) req.end(body);
    else req.end();
    return req;
  }

  async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const opts = await this.options(
      method,
      path,
      payload === undefined
        ? {}
        : { 'content-type': contentType, 'content-length': String(Buffer.byteLength(payload)) },
    );
    opts.timeout = 15_000;
    return new Promise<T>((resolve, reject) => {
      const req = this.send(opts, payload);
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timeout`)));
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : {};
          } catch {
            parsed = { message: text };
          }
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300) return resolve(parsed as T);
          const st = parsed as { reason?: string; message?: string };
          reject(new ApiError(code, st.reason ?? '', `${method} ${path}: ${code} ${st.message ?? text}`));
        });
      });
    });
  }

  /**
   * GET `path` and hand its body to `onChunk` as it arrives (pods/log with follow); resolves when the server
   * ends it or `signal` aborts; a non-2xx answer rejects with the Status message.
   */
  async stream(path: string, onChunk: (chunk: Buffer) => void, signal: AbortSignal): Promise<void> {
    const opts = await this.options('GET', path, { accept: '*/*' });
    return new Promise<void>((resolve, reject) => {
      const req = this.send(opts);
      const abort = (): void => {
        req.destroy();
        resolve();
      };
      signal.addEventListener('abort', abort, { once: true });
      req.on('error', (e) => (signal.aborted ? resolve() : reject(e)));
      req.on('response', (res) => {
        const code = res.statusCode ?? 0;
        if (code < 200 || code >= 300) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let message = text;
            try {
              message = (JSON.parse(text) as { message?: string }).message ?? text;
            } catch {
              /* not a Status */
            }
            reject(new ApiError(code, '', `GET ${path}: ${code} ${message}`));
          });
          return;
        }
        res.on('data', onChunk);
        res.on('end', () => {
          signal.removeEventListener('abort', abort);
          resolve();
        });
        res.on('error', () => resolve());
      });
    });
  }

  /**
   * Watch `path` from `resourceVersion`; calls onEvent per event; resolves when the server ends the
   * stream or `signal` aborts; rejects on HTTP errors (410 → ApiError 410: caller relists).
   */
  async watch<T>(
    path: string,
    params: Record<string, string>,
    onEvent: (e: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const q = new URLSearchParams({ ...params, watch: 'true', allowWatchBookmarks: 'true' });
    const opts = await this.options('GET', `${path}?${q.toString()}`, {});
    return new Promise<void>((resolve, reject) => {
      const req = this.send(opts);
      const abort = (): void => {
        req.destroy();
        resolve();
      };
      signal.addEventListener('abort', abort, { once: true });
      req.on('error', (e) => {
        signal.removeEventListener('abort', abort);
        if (signal.aborted) resolve();
        else reject(e);
      });
      req.on('response', (res) => {
        const code = res.statusCode ?? 0;
        if (code !== 200) {
          res.resume();
          signal.removeEventListener('abort', abort);
          return reject(new ApiError(code, '', `watch ${path}: ${code}`));
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            let ev: WatchEvent<T>;
            try {
              ev = JSON.parse(line) as WatchEvent<T>;
            } catch {
              continue;
            }
            if (ev.type === 'ERROR') {
              const st = ev.object as { code?: number; message?: string };
              req.destroy();
              signal.removeEventListener('abort', abort);
              return reject(new ApiError(st.code ?? 500, '', `watch ${path}: ${st.message ?? 'error event'}`));
            }
            onEvent(ev);
          }
        });
        res.on('end', () => {
          signal.removeEventListener('abort', abort);
          resolve();
        });
        res.on('error', () => {
          signal.removeEventListener('abort', abort);
          resolve();
        });
      });
    });
  }
}

export function isStatus(err: unknown, code: number): boolean {
  return err instanceof ApiError && err.status === code;
}
