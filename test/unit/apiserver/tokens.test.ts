import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureToken, TokenAuthenticator, tokensPath } from '../../../src/apiserver/auth/tokens.js';

describe('TokenAuthenticator', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-tokens-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('authenticates by digest; unknown tokens of any length never force a re-read of an unchanged file', () => {
    const admin = ensureToken(dir, 'admin', ['system:masters']);
    expect((statSync(tokensPath(dir)).mode & 0o777).toString(8)).toBe('600');
    const auth = new TokenAuthenticator(dir);
    expect(auth.authenticate(`Bearer ${admin}`)).toEqual({
      name: 'admin',
      groups: ['system:masters', 'system:authenticated'],
    });
    const reads = auth.reads;
    for (let i = 0; i < 1000; i++) {
      const guess = i % 2 ? admin.slice(0, -1) + 'x' : 'x'.repeat(1 + (i % 64));
      expect(auth.authenticate(`Bearer ${guess}`)).toBeUndefined();
    }
    expect(auth.reads).toBe(reads);
    expect(auth.authenticate(undefined)).toBeUndefined();
    expect(auth.authenticate('Basic abc')).toBeUndefined();
  });

  it('accepts a token issued a moment ago, and a broken file keeps the previous tokens (read once)', () => {
    const admin = ensureToken(dir, 'admin', []);
    const auth = new TokenAuthenticator(dir);
    const before = auth.reads;
    const fresh = ensureToken(dir, 'system:node:n1', ['system:nodes']);
    expect(auth.authenticate(`Bearer ${fresh}`)?.name).toBe('system:node:n1');
    expect(auth.reads).toBe(before + 1);
    writeFileSync(tokensPath(dir), '{ broken');
    for (let i = 0; i < 100; i++) expect(auth.authenticate(`Bearer nope-${i}-nope-nope-nope`)).toBeUndefined();
    expect(auth.reads).toBe(before + 2);
    expect(auth.authenticate(`Bearer ${admin}`)?.name).toBe('admin');
  });
});
