import { describe, expect, it } from 'vitest';
import {
  fromLabelSelector,
  matchFields,
  matchLabels,
  parseFieldSelector,
  parseLabelSelector,
  selectorString,
  SelectorError,
} from '../../../src/apiserver/selectors.js';
import { humanAge } from '../../../src/apiserver/resources/types.js';
import { dns1035Label, dns1123Subdomain, qualifiedName } from '../../../src/apiserver/validation.js';

describe('label selectors', () => {
  it('parses equality, set and existence requirements', () => {
    const r = parseLabelSelector('app=web, tier!=db,env in (prod, staging),!legacy,team');
    expect(matchLabels(r, { app: 'web', tier: 'fe', env: 'prod', team: 'x' })).toBe(true);
    expect(matchLabels(r, { app: 'web', tier: 'db', env: 'prod', team: 'x' })).toBe(false);
    expect(matchLabels(r, { app: 'web', env: 'dev', team: 'x' })).toBe(false);
    expect(matchLabels(r, { app: 'web', env: 'prod', team: 'x', legacy: '1' })).toBe(false);
    expect(matchLabels(r, { app: 'web', env: 'prod' })).toBe(false);
    expect(matchLabels(parseLabelSelector('a notin (1)'), {})).toBe(true);
    expect(parseLabelSelector('')).toEqual([]);
  });
  it('rejects malformed selectors', () => {
    expect(() => parseLabelSelector('a in (x')).toThrow(SelectorError);
    expect(() => parseLabelSelector('a=b=c')).toThrow(SelectorError);
    expect(() => parseLabelSelector('-bad=1')).toThrow(SelectorError);
  });
  it('converts metav1.LabelSelector and prints it', () => {
    const sel = { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'env', operator: 'In', values: ['a', 'b'] }] };
    expect(matchLabels(fromLabelSelector(sel), { app: 'web', env: 'b' })).toBe(true);
    expect(selectorString(sel)).toBe('app=web,env in (a,b)');
    expect(() => fromLabelSelector({ matchExpressions: [{ key: 'x', operator: 'Near' }] })).toThrow(SelectorError);
  });
});

describe('field selectors', () => {
  it('parses = == != and matches', () => {
    const r = parseFieldSelector('spec.nodeName=n1,status.phase!=Failed,metadata.name==p');
    expect(matchFields(r, { 'spec.nodeName': 'n1', 'status.phase': 'Running', 'metadata.name': 'p' })).toBe(true);
    expect(matchFields(r, { 'spec.nodeName': 'n1', 'status.phase': 'Failed', 'metadata.name': 'p' })).toBe(false);
    expect(matchFields(parseFieldSelector('spec.nodeName='), { 'spec.nodeName': '' })).toBe(true);
    expect(() => parseFieldSelector('nonsense')).toThrow(SelectorError);
  });
});

describe('names and ages', () => {
  it('validates names like Kubernetes', () => {
    expect(dns1123Subdomain('web-1.example')).toBeUndefined();
    expect(dns1123Subdomain('Web')).toBeDefined();
    expect(dns1035Label('1web')).toBeDefined();
    expect(qualifiedName('example.com/name')).toBeUndefined();
    expect(qualifiedName('a/b/c')).toBeDefined();
  });
  it('prints ages like kubectl', () => {
    const now = Date.parse('2026-01-02T00:00:00Z');
    const at = (s: number) => new Date(now - s * 1000).toISOString();
    expect(humanAge(at(5), now)).toBe('5s');
    expect(humanAge(at(125), now)).toBe('2m5s');
    expect(humanAge(at(3600 * 3 + 60), now)).toBe('3h1m');
    expect(humanAge(at(86400 * 3), now)).toBe('3d');
  });
});
