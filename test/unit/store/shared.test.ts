import { describe, expect, it } from 'vitest';
import { checkRevision, decodeContinue, listPage, pageOf } from '../../../src/store/keys.js';
import { requireCurrent } from '../../../src/store/log-backend.js';
import { ConflictError, InvalidArgumentError, NotFoundError, type KV } from '../../../src/store/types.js';

const kv = (key: string, rev: number): KV => ({ key, value: key, modRevision: rev, createRevision: rev });

describe('store helpers shared by the backends', () => {
  it('cuts a page to its limit and continues after its last item at the same revision', () => {
    const items = [kv('/a/1', 1), kv('/a/2', 2), kv('/a/3', 3)];
    const page = pageOf('/a/', items, 7, 2);
    expect(page.items.map((i) => i.key)).toEqual(['/a/1', '/a/2']);
    expect(page.revision).toBe(7);
    expect(decodeContinue('/a/', page.continue!)).toEqual({ revision: 7, key: '/a/2' });
    expect(pageOf('/a/', items, 7, 3)).toEqual({ items, revision: 7 });
    expect(pageOf('/a/', items, 7, undefined)).toEqual({ items, revision: 7 });
  });

  it('gives no continue token when nothing more remains or the page is empty', () => {
    expect(listPage('/a/', [kv('/a/1', 1)], 4, false)).toEqual({ items: [kv('/a/1', 1)], revision: 4 });
    expect(listPage('/a/', [], 4, true)).toEqual({ items: [], revision: 4 });
  });

  it('validates revision arguments', () => {
    expect(() => checkRevision('watch', 0)).not.toThrow();
    expect(() => checkRevision('watch', 12)).not.toThrow();
    expect(() => checkRevision('watch', -1)).toThrow(/invalid watch revision -1/);
    expect(() => checkRevision('compaction', 1.5)).toThrow(InvalidArgumentError);
  });

  it('checks a conditional write against the current value', () => {
    const cur = kv('/a/1', 5);
    expect(requireCurrent('/a/1', cur, undefined)).toBe(cur);
    expect(requireCurrent('/a/1', cur, 5)).toBe(cur);
    expect(() => requireCurrent('/a/1', undefined, undefined)).toThrow(NotFoundError);
    const err = (() => {
      try {
        requireCurrent('/a/1', cur, 4);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ConflictError);
    expect(err).toMatchObject({ expected: 4, actual: 5 });
  });
});
