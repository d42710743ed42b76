import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/apiserver/errors.js';
import { parseQueryBool, parseQueryInt, parseRequestOptions } from '../../../src/apiserver/query.js';

// What the clients send: kubectl and client-go (`watch=true`, `allowWatchBookmarks=true`), @kubernetes/client-node
// (`watch=true`), the Python client (`watch=True`, `allowWatchBookmarks=True`, `_preload_content`-less flags),
// curl users (`watch=1`, `watch`), and false forms.
const bools: [string | undefined, boolean][] = [
  [undefined, false],
  ['true', true],
  ['True', true],
  ['TRUE', true],
  ['1', true],
  ['t', true],
  ['T', true],
  ['', true],
  ['yes', true],
  ['false', false],
  ['False', false],
  ['FALSE', false],
  ['fAlSe', false],
  ['0', false],
];

describe('query parameters as kube-apiserver decodes them', () => {
  it.each(bools)('boolean %j → %s', (v, want) => {
    expect(parseQueryBool(v)).toBe(want);
    expect(parseRequestOptions(v === undefined ? {} : { watch: v }).watch).toBe(want);
    expect(parseRequestOptions(v === undefined ? {} : { allowWatchBookmarks: v }).allowWatchBookmarks).toBe(want);
  });

  it.each([
    ['500', 500],
    ['+7', 7],
    ['0', 0],
    ['-1', -1],
    ['9223372036854775807', Number('9223372036854775807')],
  ])('integer %j → %d', (v, want) => {
    expect(parseQueryInt('limit', v)).toBe(want);
  });

  it.each(['', '1.5', '1e3', '0x10', ' 5', '5s', 'abc', '9223372036854775808'])('integer %j is a 400', (v) => {
    expect(() => parseQueryInt('limit', v)).toThrow(ApiError);
    try {
      parseRequestOptions({ timeoutSeconds: v });
      expect.unreachable();
    } catch (e) {
      expect((e as ApiError).code).toBe(400);
    }
  });

  it('uses the first of repeated values and ignores unknown parameters', () => {
    const o = parseRequestOptions({
      watch: ['True', 'false'],
      limit: ['3', 'x'],
      pretty: 'true',
      _preload_content: 'False',
      somethingNew: 'x',
    });
    expect(o.watch).toBe(true);
    expect(o.limit).toBe(3);
  });

  it('parses what kubectl, client-node and the Python client send on a list/watch', () => {
    const py = parseRequestOptions({
      watch: 'True',
      resourceVersion: '42',
      timeoutSeconds: '5',
      allowWatchBookmarks: 'True',
      labelSelector: 'app=web',
    });
    expect(py).toMatchObject({
      watch: true,
      resourceVersion: '42',
      timeoutSeconds: 5,
      allowWatchBookmarks: true,
      labelSelector: 'app=web',
    });
    const kubectl = parseRequestOptions({
      limit: '500',
      fieldValidation: 'Strict',
      fieldManager: 'kubectl-client-side-apply',
    });
    expect(kubectl).toMatchObject({ limit: 500, fieldValidation: 'Strict', fieldManager: 'kubectl-client-side-apply' });
    const del = parseRequestOptions({ gracePeriodSeconds: '0', orphanDependents: 'false', dryRun: 'All' });
    expect(del).toMatchObject({ gracePeriodSeconds: 0, orphanDependents: false, dryRun: true });
    expect(parseRequestOptions({ force: 'true' }).force).toBe(true);
  });

  it('refuses dryRun values other than All and negative limits', () => {
    expect(() => parseRequestOptions({ dryRun: 'Some' })).toThrow(/supported values: "All"/);
    expect(() => parseRequestOptions({ limit: '-1' })).toThrow(/non-negative/);
  });
});
