/**
 * Label and field selectors, as Kubernetes parses them from query strings (pure).
 * Labels: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, comma-separated (ANDed).
 * Fields: `path=value`, `path==value`, `path!=value`, comma-separated.
 */
import type { LabelSelector } from '../api/meta.js';
import { labelValue, qualifiedName } from './validation.js';

export type Requirement =
  { key: string; op: 'in' | 'notin'; values: string[] } | { key: string; op: 'exists' | 'doesnotexist' };

export class SelectorError extends Error {}

export function parseLabelSelector(text: string): Requirement[] {
  const reqs: Requirement[] = [];
  let i = 0;
  const s = text;
  const skipWs = () => {
    while (i < s.length && s[i] === ' ') i++;
  };
  const readKey = (): string => {
    skipWs();
    const start = i;
    while (i < s.length && /[A-Za-z0-9_.\-/]/.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  const checkKey = (k: string) => {
    if (!k)
      throw new SelectorError(
        `unable to parse requirement: found '${s.slice(i, i + 1) || 'end of string'}', expected: identifier`,
      );
    const e = qualifiedName(k);
    if (e) throw new SelectorError(`unable to parse requirement: key: Invalid value: "${k}": ${e}`);
  };
  const checkValue = (v: string) => {
    const e = labelValue(v);
    if (e) throw new SelectorError(`unable to parse requirement: values[0]: Invalid value: "${v}": ${e}`);
  };
  skipWs();
  if (i >= s.length) return reqs;
  for (let guard = 0; guard < 1000; guard++) {
    skipWs();
    if (s[i] === '!') {
      i++;
      const k = readKey();
      checkKey(k);
      reqs.push({ key: k, op: 'doesnotexist' });
    } else {
      const k = readKey();
      checkKey(k);
      skipWs();
      if (i >= s.length || s[i] === ',') {
        reqs.push({ key: k, op: 'exists' });
      } else if (s.startsWith('==', i) || s[i] === '=' || s.startsWith('!=', i)) {
        const neg = s[i] === '!';
        i += s.startsWith('==', i) || neg ? 2 : 1;
        skipWs();
        const start = i;
        while (i < s.length && s[i] !== ',' && s[i] !== ' ') i++;
        const v = s.slice(start, i);
        checkValue(v);
        reqs.push({ key: k, op: neg ? 'notin' : 'in', values: [v] });
      } else {
        const word = /^(in|notin)\s*\(/.exec(s.slice(i));
        if (!word)
          throw new SelectorError(
            `unable to parse requirement: found '${s.slice(i)}', expected: in, notin, =, ==, !=, gt, lt`,
          );
        i += word[0].length;
        const close = s.indexOf(')', i);
        if (close < 0) throw new SelectorError("unable to parse requirement: found 'end of string', expected: ')'");
        const values = s
          .slice(i, close)
          .split(',')
          .map((v) => v.trim())
          .filter((v, idx, arr) => v !== '' || arr.length > 1);
        values.forEach(checkValue);
        i = close + 1;
        reqs.push({ key: k, op: word[1] as 'in' | 'notin', values });
      }
    }
    skipWs();
    if (i >= s.length) return reqs;
    if (s[i] !== ',') throw new SelectorError(`found '${s[i]}', expected: ',' or 'end of string'`);
    i++;
  }
  throw new SelectorError('label selector too long');
}

/** A metav1.LabelSelector (matchLabels + matchExpressions) as requirements. Empty selects everything. */
export function fromLabelSelector(sel: LabelSelector | undefined): Requirement[] {
  const reqs: Requirement[] = [];
  for (const [k, v] of Object.entries(sel?.matchLabels ?? {})) reqs.push({ key: k, op: 'in', values: [v] });
  for (const e of sel?.matchExpressions ?? []) {
    const op = e.operator.toLowerCase();
    if (op === 'in' || op === 'notin') reqs.push({ key: e.key, op, values: e.values ?? [] });
    else if (op === 'exists' || op === 'doesnotexist') reqs.push({ key: e.key, op });
    else throw new SelectorError(`"${e.operator}" is not a valid label selector operator`);
  }
  return reqs;
}

export function matchLabels(reqs: Requirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const r of reqs) {
    const has = Object.hasOwn(l, r.key);
    switch (r.op) {
      case 'exists':
        if (!has) return false;
        break;
      case 'doesnotexist':
        if (has) return false;
        break;
      case 'in':
        if (!has || !r.values.includes(l[r.key]!)) return false;
        break;
      case 'notin':
        if (has && r.values.includes(l[r.key]!)) return false;
        break;
    }
  }
  return true;
}

/** The string form (Scale.status.selector, messages). */
export function selectorString(sel: LabelSelector | undefined): string {
  return fromLabelSelector(sel)
    .map((r) => {
      switch (r.op) {
        case 'exists':
          return r.key;
        case 'doesnotexist':
          return `!${r.key}`;
        case 'in':
          return r.values.length === 1 ? `${r.key}=${r.values[0]}` : `${r.key} in (${r.values.join(',')})`;
        case 'notin':
          return `${r.key} notin (${r.values.join(',')})`;
      }
    })
    .join(',');
}

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

export function parseFieldSelector(text: string): FieldRequirement[] {
  const out: FieldRequirement[] = [];
  if (!text.trim()) return out;
  for (const part of text.split(',')) {
    const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(part);
    if (!m) throw new SelectorError(`invalid field selector: '${part}'`);
    out.push({ field: m[1]!, op: m[2] === '!=' ? '!=' : '=', value: m[3]! });
  }
  return out;
}

export function matchFields(reqs: FieldRequirement[], fields: Record<string, string>): boolean {
  return reqs.every((r) => ((fields[r.field] ?? '') === r.value) === (r.op === '='));
}
