import { describe, expect, it } from 'vitest';
import { canonical, equalIgnoreHash, fnv32a, templateHash } from '../../../src/controllers/deployment/hash.js';

const tmpl = (image: string, extraLabels: Record<string, string> = {}) => ({
  metadata: { labels: { app: 'web', ...extraLabels } },
  spec: { containers: [{ name: 'c', image }] },
});

describe('pod-template-hash', () => {
  it('fnv32a matches the reference vectors', () => {
    expect(fnv32a('')).toBe(0x811c9dc5);
    expect(fnv32a('a')).toBe(0xe40c292c);
    expect(fnv32a('foobar')).toBe(0xbf9cf968);
  });
  it('is stable, ignores the hash label and key order, changes with the template', () => {
    const a = templateHash(tmpl('x:1'));
    expect(a).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
    expect(templateHash(tmpl('x:1', { 'pod-template-hash': a }))).toBe(a);
    expect(
      templateHash({ spec: { containers: [{ image: 'x:1', name: 'c' }] }, metadata: { labels: { app: 'web' } } }),
    ).toBe(a);
    expect(templateHash(tmpl('x:2'))).not.toBe(a);
    expect(templateHash(tmpl('x:1'), 1)).not.toBe(a);
  });
  it('equalIgnoreHash treats empty values as absent', () => {
    expect(equalIgnoreHash(tmpl('x:1', { 'pod-template-hash': 'abc' }), tmpl('x:1'))).toBe(true);
    expect(
      equalIgnoreHash(
        { ...tmpl('x:1'), spec: { containers: [{ name: 'c', image: 'x:1', env: [] }] } } as never,
        tmpl('x:1'),
      ),
    ).toBe(true);
    expect(equalIgnoreHash(tmpl('x:1'), tmpl('x:2'))).toBe(false);
    expect(canonical({ b: 1, a: null, c: {} })).toBe('{"b":1}');
  });
});
