/**
 * The generated API tables are the generator's output: re-run scripts/gen-api.mjs into a temporary directory
 * and compare every file with the checked-in copy.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runRaw } from '../../../src/os/exec.js';

const root = resolve(import.meta.dirname, '../../..');
const out = mkdtempSync(join(tmpdir(), 'gen-api-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

describe('scripts/gen-api.mjs', () => {
  it('reproduces the checked-in generated files exactly', async () => {
    const r = await runRaw([process.execPath, join(root, 'scripts/gen-api.mjs'), '--out', out], { timeoutMs: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const generated = files(out).map((p) => relative(out, p));
    expect(generated).toContain('src/apiserver/protobuf/openapiv2-descriptor.ts');
    for (const f of generated)
      expect(readFileSync(join(out, f), 'utf8'), `${f} is stale: run node scripts/gen-api.mjs`).toBe(
        readFileSync(join(root, f), 'utf8'),
      );
  });
});
