/**
 * The files that hold the cluster's state and secrets are root's alone: the real `skiff apiserver` on the
 * sqlite store, started on a state directory an earlier run left world-readable.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, requireKubectlAndBuild, startServer, type ServerProc } from './server.js';

const mode = (p: string): string => (statSync(p).mode & 0o777).toString(8);

describe('state files are readable by root only', () => {
  let dir: string;
  let s: ServerProc;

  beforeAll(async () => {
    requireKubectlAndBuild();
    dir = mkdtempSync(join(tmpdir(), 'skiff-private-'));
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, 'pki'), { mode: 0o755 });
    chmodSync(join(dir, 'pki'), 0o755);
    writeFileSync(join(dir, 'tokens.json'), '{"tokens": []}\n', { mode: 0o644 });
    s = await startServer(dir);
  }, 90_000);

  afterAll(async () => {
    await s?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the store, its WAL, tokens, keys and kubeconfigs 0600 in 0700 directories', async () => {
    const r = await kubectl(s, ['create', 'configmap', 'c1', '--from-literal=a=b']);
    expect(r.code, r.stderr).toBe(0);
    expect(mode(dir)).toBe('700');
    expect(mode(join(dir, 'pki'))).toBe('700');
    const files = readdirSync(dir).filter((f) => /^state\.db|\.kubeconfig$|^tokens\.json$/.test(f));
    expect(files).toEqual(expect.arrayContaining(['state.db', 'state.db-wal', 'tokens.json', 'admin.kubeconfig']));
    for (const f of files) expect(`${f} ${mode(join(dir, f))}`).toBe(`${f} 600`);
    for (const f of readdirSync(join(dir, 'pki')).filter((x) => x.endsWith('.key')))
      expect(`${f} ${mode(join(dir, 'pki', f))}`).toBe(`${f} 600`);
  });
});
