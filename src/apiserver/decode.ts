/**
 * Checks a request object against the schema table: reports unknown fields (for fieldValidation
 * Strict/Warn, with Kubernetes' ".spec.foo" paths) and type mismatches, and drops unknown fields the way
 * the Go decoder does when validation is off. Pure.
 */
import { getType, type ObjectType, type Schema } from '../api/schema.js';

export interface DecodeIssues {
  unknown: string[];
  /** "spec.ports[0].port: expected integer, got string" */
  typeErrors: string[];
}

export function checkAgainstSchema(value: unknown, typeName: string): { value: unknown; issues: DecodeIssues } {
  const issues: DecodeIssues = { unknown: [], typeErrors: [] };
  const v = walkObject(value, getType(typeName), '', issues);
  return { value: v, issues };
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function walk(v: unknown, s: Schema, path: string, issues: DecodeIssues): unknown {
  if (v === null) return v; // null clears a field, as in Go
  const bad = (expected: string) => {
    issues.typeErrors.push(`${path || '.'}: expected ${expected}, got ${typeOf(v)}`);
    return v;
  };
  switch (s.t) {
    case 'string':
      return typeof v === 'string' ? v : bad('string');
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v) ? v : bad('integer');
    case 'number':
      return typeof v === 'number' ? v : bad('number');
    case 'boolean':
      return typeof v === 'boolean' ? v : bad('boolean');
    case 'intOrString':
      return typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v)) ? v : bad('integer or string');
    case 'quantity':
      return typeof v === 'string' || typeof v === 'number' ? v : bad('quantity (string or number)');
    case 'any':
      return typeof v === 'object' && !Array.isArray(v) ? v : bad('object');
    case 'array':
      if (!Array.isArray(v)) return bad('array');
      return v.map((item, i) => walk(item, s.items, `${path}[${i}]`, issues));
    case 'map': {
      if (typeof v !== 'object' || Array.isArray(v)) return bad('object');
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>))
        out[k] = walk(x, s.values, `${path}[${k}]`, issues);
      return out;
    }
    case 'ref':
      return walkObject(v, getType(s.ref), path, issues);
  }
}

function walkObject(v: unknown, t: ObjectType, path: string, issues: DecodeIssues): unknown {
  if (v === null || v === undefined) return v;
  if (typeof v !== 'object' || Array.isArray(v)) {
    issues.typeErrors.push(`${path || '.'}: expected object, got ${typeOf(v)}`);
    return v;
  }
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const ps = t.props[k];
    const p = path ? `${path}.${k}` : k;
    if (!ps) {
      if (t.open) out[k] = x;
      // Strategic-merge directives inside objects are not fields.
      else if (k.startsWith('$')) out[k] = x;
      else issues.unknown.push(p);
      continue;
    }
    out[k] = walk(x, ps, p, issues);
  }
  return out;
}
