/** Secrets through the real kubectl: data and stringData, types and their required keys, the table. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, requireKubectlAndBuild, startServer, type ServerProc } from './server.js';

describe('Secrets', () => {
  let dir: string;
  let s: ServerProc;
  beforeAll(async () => {
    requireKubectlAndBuild();
    dir = mkdtempSync(join(tmpdir(), 'skiff-secrets-'));
    s = await startServer(dir, ['--store', 'memory']);
  }, 90_000);
  afterAll(async () => {
    await s?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('stores data base64, merges the write-only stringData over it, and lists TYPE and DATA', async () => {
    expect((await kubectl(s, ['create', 'secret', 'generic', 'db', '--from-literal=user=admin'])).code).toBe(0);
    const manifest = `apiVersion: v1
kind: Secret
metadata: {name: app}
type: Opaque
data: {a: YQ==, b: Yg==}
stringData: {b: override, c: "plain text"}
`;
    const r = await kubectl(s, ['apply', '-f', '-'], manifest);
    expect(r.code, r.stderr).toBe(0);
    const got = JSON.parse((await kubectl(s, ['get', 'secret', 'app', '-o', 'json'])).stdout) as {
      type: string;
      data: Record<string, string>;
      stringData?: unknown;
    };
    expect(got.type).toBe('Opaque');
    expect(got.stringData).toBeUndefined();
    expect(
      Object.fromEntries(Object.entries(got.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()])),
    ).toEqual({
      a: 'a',
      b: 'override',
      c: 'plain text',
    });
    const table = (await kubectl(s, ['get', 'secrets'])).stdout;
    expect(table).toMatch(/^NAME\s+TYPE\s+DATA\s+AGE/);
    expect(table).toMatch(/\napp\s+Opaque\s+3\s/);
    const jsonpath = await kubectl(s, ['get', 'secret', 'db', '-o', 'jsonpath={.data.user}']);
    expect(Buffer.from(jsonpath.stdout, 'base64').toString()).toBe('admin');
  });

  it('refuses bad base64, a TLS secret without its key, and a change of type', async () => {
    const bad = await kubectl(
      s,
      ['apply', '-f', '-'],
      'apiVersion: v1\nkind: Secret\nmetadata: {name: bad}\ndata: {k: "not base64!"}\n',
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/must be base64-encoded/);
    const tls = await kubectl(
      s,
      ['apply', '-f', '-'],
      'apiVersion: v1\nkind: Secret\nmetadata: {name: t}\ntype: kubernetes.io/tls\ndata: {tls.crt: YQ==}\n',
    );
    expect(tls.code).not.toBe(0);
    expect(tls.stderr).toMatch(/data\[tls\.key\]: Required value/);
    const retype = await kubectl(s, ['patch', 'secret', 'db', '-p', '{"type":"kubernetes.io/basic-auth"}']);
    expect(retype.code).not.toBe(0);
    expect(retype.stderr).toMatch(/type: Invalid value.*immutable/);
  });
});
