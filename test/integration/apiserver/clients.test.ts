/**
 * The API server against the clients people use besides kubectl: the official Python client (Debian's
 * python3-kubernetes) and plain HTTP as the parameter codec sees it; plus the details kube-apiserver gets
 * right (invalid resourceVersions, object size limits, the kubernetes Service reconciled on every start).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type RunningApiServer } from '../../../src/apiserver/index.js';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { rawRequest, tokenOf, type ServerProc } from './server.js';

const PYTHON = '/usr/bin/python3';
const PY_CLIENT = join(import.meta.dirname, 'peers/python-client.py');

const lab = new Lab();
let api: RunningApiServer;
let s: ServerProc;
let token: string;
let dir: string;

async function start(): Promise<RunningApiServer> {
  return startApiServer({
    stateDir: dir,
    port: 0,
    bindAddress: '127.0.0.1',
    store: 'sqlite',
    serviceClusterIPRange: '10.96.0.0/12',
    serviceNodePortRange: { min: 30000, max: 32767 },
    logger: pino({ level: 'silent' }),
  });
}

function python(...args: string[]): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [PY_CLIENT, s.kubeconfig, ...args], { timeout: 40_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`python client failed: ${err.message}\n${stderr}`));
      resolve(
        stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>),
      );
    });
  });
}

const req = (method: string, path: string, body?: unknown, contentType?: string) =>
  rawRequest(s, method, path, {
    token,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    contentType,
  });

beforeAll(async () => {
  requireRootAndTools([]);
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing (apt-get install python3-kubernetes)`);
  dir = lab.tmpdir();
  api = await start();
  lab.onCleanup(() => api.close());
  s = { url: api.url, kubeconfig: api.adminKubeconfig, dir } as ServerProc;
  token = tokenOf(api.adminKubeconfig);
});

afterAll(async () => {
  await lab.cleanup();
});

describe('the official Python client', () => {
  it('lists', async () => {
    const [r] = await python('list');
    expect(r!.names).toEqual(expect.arrayContaining(['default', 'kube-system']));
  });

  it('watches from a resourceVersion and sees a later create (it sends watch=True)', async () => {
    const list = JSON.parse((await req('GET', '/api/v1/namespaces/default/configmaps')).body) as {
      metadata: { resourceVersion: string };
    };
    const rv = list.metadata.resourceVersion;
    const created = await req('POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { name: 'py-later' },
      data: { a: 'b' },
    });
    expect(created.status).toBe(201);
    const events = await python('watch-from', rv, 'py-later');
    expect(events.at(-1)).toMatchObject({ type: 'ADDED', name: 'py-later' });
    // From a resourceVersion, not a fresh list: nothing older than rv is replayed.
    for (const e of events) expect(Number(e.resourceVersion)).toBeGreaterThan(Number(rv));
  });

  it('gets 410 Gone for a compacted resourceVersion', async () => {
    const old = await req('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'py-old' } });
    const oldRv = (JSON.parse(old.body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    const newer = await req('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'py-new' } });
    const newRv = Number(
      (JSON.parse(newer.body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion,
    );
    await api.backend.compact(newRv);
    const [r] = await python('watch-gone', String(Number(oldRv) - 1));
    expect(r).toMatchObject({ error: 410 });
    expect(String(r!.reason)).toMatch(/Expired/);
  });

  it('creates, and sees AlreadyExists as a 409 ApiException', async () => {
    expect(await python('create-cm', 'py-made')).toEqual([{ status: 201 }]);
    expect((await python('create-cm', 'py-made'))[0]).toMatchObject({ status: 409 });
  });
});

describe('query parameters over HTTP', () => {
  it('treats watch=True, watch=1 and watch=t as a watch and watch=False as a list', async () => {
    for (const v of ['True', '1', 't', 'TRUE']) {
      const r = await req('GET', `/api/v1/namespaces?watch=${v}&timeoutSeconds=1`);
      expect(r.status, v).toBe(200);
      expect(r.body.split('\n')[0], v).toMatch(/^\{"type":"ADDED"/);
    }
    for (const v of ['False', '0', 'false']) {
      const r = await req('GET', `/api/v1/namespaces?watch=${v}`);
      expect((JSON.parse(r.body) as { kind: string }).kind, v).toBe('NamespaceList');
    }
  });

  it('parses integers strictly and ignores unknown parameters', async () => {
    const ok = await req('GET', '/api/v1/namespaces?limit=1&pretty=true&someFutureParam=x');
    expect(ok.status).toBe(200);
    expect((JSON.parse(ok.body) as { items: unknown[] }).items).toHaveLength(1);
    for (const bad of ['limit=abc', 'limit=1.5', 'limit=-1', 'timeoutSeconds=5s&watch=1']) {
      const r = await req('GET', `/api/v1/namespaces?${bad}`);
      expect(r.status, bad).toBe(400);
      expect(JSON.parse(r.body), bad).toMatchObject({ kind: 'Status', reason: 'BadRequest' });
    }
  });

  it('answers an invalid resourceVersion with 400 on list, watch, update and delete', async () => {
    for (const path of [
      '/api/v1/namespaces/default/configmaps?resourceVersion=abc',
      '/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=-3',
    ]) {
      const r = await req('GET', path);
      expect(r.status, path).toBe(400);
      expect(JSON.parse(r.body)).toMatchObject({ reason: 'BadRequest' });
    }
    await req('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'rv-bad' } });
    const put = await req('PUT', '/api/v1/namespaces/default/configmaps/rv-bad', {
      metadata: { name: 'rv-bad', resourceVersion: 'banana' },
    });
    expect(put.status).toBe(400);
    const del = await req('DELETE', '/api/v1/namespaces/default/configmaps/rv-bad', {
      preconditions: { resourceVersion: 'x1' },
    });
    expect(del.status).toBe(400);
    expect((await req('GET', '/api/v1/namespaces/default/configmaps/rv-bad')).status).toBe(200);
  });
});

describe('object size limits', () => {
  it('refuses ConfigMap data over 1 MiB with 422 and accepts exactly 1 MiB', async () => {
    const mib = 1024 * 1024;
    const tooBig = await req('POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { name: 'big' },
      data: { a: 'x'.repeat(mib - 10) },
      binaryData: { b: Buffer.alloc(11).toString('base64') },
    });
    expect(tooBig.status).toBe(422);
    expect(JSON.parse(tooBig.body)).toMatchObject({
      reason: 'Invalid',
      details: { causes: [{ reason: 'FieldValueTooLong' }] },
    });
    expect(JSON.parse(tooBig.body).message).toMatch(/must have at most 1048576 bytes/);
    const exact = await req('POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { name: 'big' },
      data: { a: 'x'.repeat(mib - 10) },
      binaryData: { b: Buffer.alloc(10).toString('base64') },
    });
    expect(exact.status).toBe(201);
    // An update cannot grow it past the limit either.
    const grow = await req('PUT', '/api/v1/namespaces/default/configmaps/big', {
      metadata: { name: 'big' },
      data: { a: 'x'.repeat(mib + 1) },
    });
    expect(grow.status).toBe(422);
  });
});

describe('default/kubernetes', () => {
  it('is reconciled to the current port on every start', async () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const get = async (path: string) => JSON.parse((await req('GET', path)).body) as Record<string, any>;
    const before = await get('/api/v1/namespaces/default/endpoints/kubernetes');
    expect(before.subsets[0].ports[0].port).toBe(api.port);
    const oldPort = api.port;
    await api.close();
    api = await start();
    s = { url: api.url, kubeconfig: api.adminKubeconfig, dir } as ServerProc;
    expect(api.port).not.toBe(oldPort);
    const svc = await get('/api/v1/namespaces/default/services/kubernetes');
    expect(svc.spec.clusterIP).toBe('10.96.0.1');
    expect(svc.spec.ports).toEqual([{ name: 'https', protocol: 'TCP', port: 443, targetPort: api.port }]);
    const ep = await get('/api/v1/namespaces/default/endpoints/kubernetes');
    expect(ep.subsets).toEqual([
      { addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'https', port: api.port, protocol: 'TCP' }] },
    ]);
    const slice = await get('/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes');
    expect(slice.endpoints[0].addresses).toEqual(['127.0.0.1']);
    expect(slice.ports).toEqual([{ name: 'https', port: api.port, protocol: 'TCP' }]);
  });
});
