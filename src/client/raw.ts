import { request as httpsRequest } from 'node:https';
import { request as httpRequest, type RequestOptions } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';

/** An HTTP error from a raw request, shaped like client-node's (numeric `code`, server `body`). */
export class RawApiError extends Error {
  constructor(
    readonly code: number,
    readonly body: string,
  ) {
    let msg = body;
    try {
      msg = (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      /* not JSON */
    }
    super(`HTTP ${code}: ${msg.slice(0, 300)}`);
    this.name = 'RawApiError';
  }
}

/**
 * A GET returning the parsed JSON as the server sent it. Informers list through this rather than the
 * generated clients so listed objects have exactly the same shape (string timestamps) as watched ones.
 */
export async function rawGet<T>(kc: KubeConfig, path: string, timeoutMs = 30_000): Promise<T> {
  return rawRequest<T>(kc, 'GET', path, undefined, timeoutMs);
}

/** Any request with an optional JSON body (a patch names its content type); parses the JSON answer. */
export async function rawRequest<T>(
  kc: KubeConfig,
  method: string,
  path: string,
  body?: { contentType: string; value: unknown },
  timeoutMs = 30_000,
): Promise<T> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/$/, '') + path);
  const payload = body ? Buffer.from(JSON.stringify(body.value)) : undefined;
  const opts: RequestOptions & Record<string, unknown> = {
    method,
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port,
    path: url.pathname + url.search,
    headers: {
      accept: 'application/json',
      ...(payload ? { 'content-type': body!.contentType, 'content-length': payload.length } : {}),
    },
  };
  await kc.applyToHTTPSOptions(opts);
  const req = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<T>((resolve, reject) => {
    const r = req(opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 0) >= 300) return reject(new RawApiError(res.statusCode ?? 0, text));
        try {
          resolve(JSON.parse(text) as T);
        } catch (err) {
          reject(err);
        }
      });
    });
    r.setTimeout(timeoutMs, () => r.destroy(new Error(`${method} ${path}: timed out after ${timeoutMs} ms`)));
    r.on('error', reject);
    r.end(payload);
  });
}
