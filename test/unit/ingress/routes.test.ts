import { describe, expect, it } from 'vitest';
import {
  applyHeaderChange,
  modifyPath,
  normalizePrefix,
  pickWeighted,
  prefixMatches,
  requestHost,
  RouteTable,
  type Route,
  type RouteRequest,
} from '../../../src/ingress/routes.js';

let n = 0;
function route(p: Partial<Route> & { name: string }): Route {
  return {
    hosts: [],
    path: { type: 'Prefix', value: '/' },
    headers: [],
    query: [],
    schemes: new Set(['http', 'https']),
    created: '2026-01-01T00:00:00Z',
    source: p.name,
    order: n++,
    action: { kind: 'fail', status: 299, message: p.name },
    ...p,
  };
}
const req = (host: string, path: string, extra: Partial<RouteRequest> = {}): RouteRequest => ({
  scheme: 'http',
  host,
  path,
  method: 'GET',
  headers: {},
  query: new URLSearchParams(),
  ...extra,
});
const which = (t: RouteTable, r: RouteRequest) => t.match(r)?.source;

describe('Ingress path semantics (Kubernetes Ingress spec examples)', () => {
  it('Prefix matches element-wise, trailing slashes ignored', () => {
    expect(prefixMatches('/foo', '/foo')).toBe(true);
    expect(prefixMatches('/foo', '/foo/')).toBe(true);
    expect(prefixMatches('/foo', '/foo/bar')).toBe(true);
    expect(prefixMatches('/foo', '/foobar')).toBe(false);
    expect(prefixMatches(normalizePrefix('/foo/'), '/foo')).toBe(true);
    expect(prefixMatches('/aaa/bb', '/aaa/bbb')).toBe(false);
    expect(prefixMatches('/', '/anything')).toBe(true);
  });
  it('longest path wins, Exact over Prefix of the same length', () => {
    const t = new RouteTable([
      route({ name: 'root' }),
      route({ name: 'foo', path: { type: 'Prefix', value: '/foo' } }),
      route({ name: 'foo-exact', path: { type: 'Exact', value: '/foo' } }),
      route({ name: 'foobar', path: { type: 'Prefix', value: '/foo/bar' } }),
    ]);
    expect(which(t, req('a', '/foo'))).toBe('foo-exact');
    expect(which(t, req('a', '/foo/'))).toBe('foo');
    expect(which(t, req('a', '/foo/bar/baz'))).toBe('foobar');
    expect(which(t, req('a', '/foobar'))).toBe('root');
  });
  it('Exact does not match a trailing slash', () => {
    const t = new RouteTable([route({ name: 'e', path: { type: 'Exact', value: '/foo' } })]);
    expect(which(t, req('a', '/foo/'))).toBeUndefined();
  });
});

describe('hosts', () => {
  const t = new RouteTable([
    route({ name: 'exact', hosts: ['foo.bar.com'] }),
    route({ name: 'wild', hosts: ['*.bar.com'] }),
    route({ name: 'wild-path', hosts: ['*.bar.com'], path: { type: 'Prefix', value: '/only' } }),
    route({ name: 'any', path: { type: 'Prefix', value: '/x' } }),
  ]);
  it('exact host before wildcard, wildcard covers one label only', () => {
    expect(which(t, req('foo.bar.com', '/'))).toBe('exact');
    expect(which(t, req('baz.bar.com', '/'))).toBe('wild');
    expect(which(t, req('baz.bar.com', '/only/1'))).toBe('wild-path');
    expect(which(t, req('bar.com', '/x'))).toBe('any');
    expect(which(t, req('a.b.bar.com', '/x'))).toBe('any');
  });
  it('a host group with no matching path does not fall through to rules without a host', () => {
    expect(which(t, req('foo.bar.com', '/x'))).toBe('exact');
    const t2 = new RouteTable([
      route({ name: 'h', hosts: ['h.example'], path: { type: 'Prefix', value: '/a' } }),
      route({ name: 'any' }),
    ]);
    expect(which(t2, req('h.example', '/b'))).toBeUndefined();
  });
  it('Host header parsing drops the port and case', () => {
    expect(requestHost('Foo.Bar.com:8080')).toBe('foo.bar.com');
    expect(requestHost('[fd00::1]:80')).toBe('[fd00::1]');
  });
});

describe('Gateway API precedence', () => {
  it('method, then header count, then query count, then age', () => {
    const t = new RouteTable([
      route({ name: 'plain', path: { type: 'Prefix', value: '/api' } }),
      route({ name: 'post', path: { type: 'Prefix', value: '/api' }, method: 'POST' }),
      route({
        name: 'hdr',
        path: { type: 'Prefix', value: '/api' },
        headers: [{ name: 'X-Env', type: 'Exact', value: 'canary' }],
      }),
      route({
        name: 'two-hdr',
        path: { type: 'Prefix', value: '/api' },
        headers: [
          { name: 'x-env', type: 'Exact', value: 'canary' },
          { name: 'x-user', type: 'RegularExpression', value: 'a.*' },
        ],
      }),
      route({ name: 'q', path: { type: 'Prefix', value: '/api' }, query: [{ name: 'v', type: 'Exact', value: '2' }] }),
    ]);
    expect(which(t, req('h', '/api/x', { method: 'POST' }))).toBe('post');
    expect(which(t, req('h', '/api/x', { headers: { 'x-env': 'canary', 'x-user': 'alice' } }))).toBe('two-hdr');
    expect(which(t, req('h', '/api/x', { headers: { 'x-env': 'canary', 'x-user': 'bob' } }))).toBe('hdr');
    expect(which(t, req('h', '/api/x', { query: new URLSearchParams('v=2') }))).toBe('q');
    expect(which(t, req('h', '/api/x'))).toBe('plain');
  });
  it('older route wins a full tie', () => {
    const t = new RouteTable([
      route({ name: 'new', created: '2026-02-01T00:00:00Z' }),
      route({ name: 'old', created: '2026-01-01T00:00:00Z' }),
    ]);
    expect(which(t, req('h', '/'))).toBe('old');
  });
  it('schemes restrict a route to its listeners', () => {
    const t = new RouteTable([route({ name: 'tls-only', schemes: new Set(['https']) })]);
    expect(which(t, req('h', '/'))).toBeUndefined();
    expect(which(t, req('h', '/', { scheme: 'https' }))).toBe('tls-only');
  });
});

describe('filters', () => {
  it('ReplacePrefixMatch and ReplaceFullPath', () => {
    const m = { type: 'Prefix' as const, value: '/foo' };
    expect(modifyPath('/foo/bar', { type: 'ReplacePrefixMatch', value: '/xyz' }, m)).toBe('/xyz/bar');
    expect(modifyPath('/foo', { type: 'ReplacePrefixMatch', value: '/xyz' }, m)).toBe('/xyz');
    expect(modifyPath('/foo/bar', { type: 'ReplacePrefixMatch', value: '/' }, m)).toBe('/bar');
    expect(modifyPath('/foo', { type: 'ReplacePrefixMatch', value: '/' }, m)).toBe('/');
    expect(modifyPath('/foo/bar', { type: 'ReplaceFullPath', value: '/new' }, m)).toBe('/new');
  });
  it('header set, add and remove are case-insensitive', () => {
    const h: Record<string, string | string[] | undefined> = { 'x-a': '1', 'x-b': '2' };
    applyHeaderChange(h, {
      set: [{ name: 'X-A', value: 'one' }],
      add: [
        { name: 'X-B', value: '3' },
        { name: 'X-C', value: 'c' },
      ],
      remove: ['X-D'],
    });
    expect(h).toEqual({ 'x-a': 'one', 'x-b': '2,3', 'x-c': 'c' });
  });
  it('weighted pick follows weights and never picks weight 0', () => {
    const items = [
      { name: 'a', weight: 90 },
      { name: 'b', weight: 10 },
      { name: 'z', weight: 0 },
    ];
    const counts: Record<string, number> = { a: 0, b: 0, z: 0 };
    for (let i = 0; i < 1000; i++) counts[pickWeighted(items, () => i / 1000)!.name]!++;
    expect(counts).toEqual({ a: 900, b: 100, z: 0 });
    expect(pickWeighted([{ weight: 0 }])).toBeUndefined();
  });
});
