import { describe, expect, it } from 'vitest';
import { checkLimit, decodeContinue, encodeContinue, prefixEnd } from '../../../src/store/keys.js';
import { InvalidArgumentError } from '../../../src/store/types.js';

describe('store keys', () => {
  it('computes the end of a prefix range', () => {
    expect(prefixEnd('/registry/pods/')).toBe('/registry/pods0');
    expect(prefixEnd('a')).toBe('b');
    expect(prefixEnd('')).toBeUndefined();
    expect(prefixEnd('a\uffff')).toBe('b');
    const end = prefixEnd('/p/')!;
    for (const k of ['/p/', '/p/a', '/p/\u00ff', '/p/zzzz']) expect(k < end).toBe(true);
    expect('/q' < end).toBe(false);
  });

  it('round-trips continue tokens bound to their prefix', () => {
    const t = encodeContinue('/a/', { revision: 42, key: '/a/x' });
    expect(decodeContinue('/a/', t)).toEqual({ revision: 42, key: '/a/x' });
    expect(() => decodeContinue('/b/', t)).toThrow(InvalidArgumentError);
    expect(() => decodeContinue('/a/', 'not a token')).toThrow(InvalidArgumentError);
    const forged = Buffer.from(JSON.stringify({ v: 1, rev: -1, key: 'x', prefix: '/a/' })).toString('base64url');
    expect(() => decodeContinue('/a/', forged)).toThrow(InvalidArgumentError);
  });

  it('validates list limits', () => {
    expect(checkLimit(undefined)).toBeUndefined();
    expect(checkLimit(0)).toBeUndefined();
    expect(checkLimit(5)).toBe(5);
    expect(() => checkLimit(-1)).toThrow(InvalidArgumentError);
    expect(() => checkLimit(1.5)).toThrow(InvalidArgumentError);
  });
});
