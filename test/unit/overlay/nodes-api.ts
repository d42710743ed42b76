/**
 * A minimal in-process stand-in for the API server's Node endpoints (list, watch as JSON lines,
 * merge-patch), on 127.0.0.1 only, for testing the vxlan agent's API mode without the whole control plane.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface FakeNode {
  apiVersion: 'v1';
  kind: 'Node';
  metadata: { name: string; resourceVersion: string; annotations?: Record<string, string> };
  spec: { podCIDR?: string };
  status: { addresses: { type: string; address: string }[]; conditions?: unknown[] };
}

export function fakeNode(name: string, podCIDR: string, ip: string, annotations?: Record<string, string>): FakeNode {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, resourceVersion: '0', ...(annotations ? { annotations } : {}) },
    spec: { podCIDR },
    status: { addresses: [{ type: 'InternalIP', address: ip }] },
  };
}

export class NodesApi {
  private rv = 1;
  readonly nodes = new Map<string, FakeNode>();
  readonly watchers = new Set<ServerResponse>();
  readonly patches: { contentType: string; name: string; body: unknown }[] = [];
  private server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    for (const w of this.watchers) w.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** A kubeconfig for this server (plain HTTP, which client-node allows only with skip-tls-verify). */
  writeKubeconfig(dir: string): string {
    const file = join(dir, 'kubeconfig');
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          { name: 'c', cluster: { server: `http://127.0.0.1:${this.port}`, 'insecure-skip-tls-verify': true } },
        ],
        users: [{ name: 'u', user: { token: 't' } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'x',
      }),
    );
    return file;
  }

  upsert(n: FakeNode): void {
    const type = this.nodes.has(n.metadata.name) ? 'MODIFIED' : 'ADDED';
    n.metadata.resourceVersion = String(++this.rv);
    this.nodes.set(n.metadata.name, n);
    this.emit(type, n);
  }

  remove(name: string): void {
    const n = this.nodes.get(name);
    if (!n) return;
    this.nodes.delete(name);
    n.metadata.resourceVersion = String(++this.rv);
    this.emit('DELETED', n);
  }

  private emit(type: 'ADDED' | 'MODIFIED' | 'DELETED', n: FakeNode): void {
    for (const w of this.watchers) w.write(JSON.stringify({ type, object: n }) + '\n');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.pathname === '/api/v1/nodes') {
      res.setHeader('content-type', 'application/json');
      if (url.searchParams.get('watch') === 'true') {
        res.writeHead(200);
        res.flushHeaders();
        this.watchers.add(res);
        req.on('close', () => this.watchers.delete(res));
        return;
      }
      res.end(
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'NodeList',
          metadata: { resourceVersion: String(this.rv) },
          items: [...this.nodes.values()],
        }),
      );
      return;
    }
    const m = /^\/api\/v1\/nodes\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'PATCH' && m) {
      let text = '';
      for await (const c of req) text += String(c);
      const name = decodeURIComponent(m[1]!);
      const patch = JSON.parse(text) as { metadata?: { annotations?: Record<string, string> } };
      this.patches.push({ contentType: String(req.headers['content-type']), name, body: patch });
      const n = this.nodes.get(name);
      if (!n) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"kind":"Status","code":404}');
        return;
      }
      n.metadata.annotations = { ...(n.metadata.annotations ?? {}), ...(patch.metadata?.annotations ?? {}) };
      this.upsert(n);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(n));
      return;
    }
    res.writeHead(404).end();
  }
}
