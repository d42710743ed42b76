/**
 * Key ranges and continue tokens, shared by every backend so a token means the same thing everywhere.
 */
import { z } from 'zod';
import { InvalidArgumentError, type KV, type ListResult } from './types.js';

/**
 * The first key after every key that starts with `prefix` (etcd's "range end"): the prefix with its last
 * character incremented. Undefined for the empty prefix (no upper bound). Keys are compared as JS strings
 * (UTF-16 code units), which equals byte order for the ASCII keys the API server writes.
 */
export function prefixEnd(prefix: string): string | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const c = prefix.charCodeAt(i);
    if (c < 0xffff) return prefix.slice(0, i) + String.fromCharCode(c + 1);
  }
  return undefined;
}

/** Keys are absolute paths ("/registry/..."): that keeps every key inside a backend's own key space. */
export function checkKey(key: string): void {
  if (typeof key !== 'string' || !key.startsWith('/') || key.length < 2) {
    throw new InvalidArgumentError(
      `invalid store key ${JSON.stringify(key)}: keys are paths such as /registry/pods/ns/name`,
    );
  }
}

export function checkPrefix(prefix: string): void {
  if (typeof prefix !== 'string') throw new InvalidArgumentError('store prefix must be a string');
}

/** A list page continues at `revision` (the snapshot every page is read at) after `key`. */
export interface ContinueToken {
  revision: number;
  key: string;
}

const tokenSchema = z.object({
  v: z.literal(1),
  rev: z.number().int().nonnegative(),
  key: z.string(),
  prefix: z.string(),
});

export function encodeContinue(prefix: string, tok: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 1, rev: tok.revision, key: tok.key, prefix })).toString('base64url');
}

/** Throws InvalidArgumentError for anything not made by encodeContinue for this same prefix. */
export function decodeContinue(prefix: string, token: string): ContinueToken {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidArgumentError('invalid continue token');
  }
  const r = tokenSchema.safeParse(parsed);
  if (!r.success) throw new InvalidArgumentError('invalid continue token');
  if (r.data.prefix !== prefix) throw new InvalidArgumentError('continue token belongs to a different list');
  return { revision: r.data.rev, key: r.data.key };
}

export function checkLimit(limit: number | undefined): number | undefined {
  if (limit === undefined || limit === 0) return undefined;
  if (!Number.isInteger(limit) || limit < 0) throw new InvalidArgumentError(`invalid list limit: ${limit}`);
  return limit;
}

/** A revision argument (watch start, compaction point) is a non-negative integer. */
export function checkRevision(what: string, revision: number): void {
  if (!Number.isInteger(revision) || revision < 0)
    throw new InvalidArgumentError(`invalid ${what} revision ${revision}`);
}

/**
 * A list result read at `revision`; when `more` items remain, it carries the token that continues after its
 * last item at the same revision.
 */
export function listPage(prefix: string, items: KV[], revision: number, more: boolean): ListResult {
  if (more && items.length > 0) {
    return { items, revision, continue: encodeContinue(prefix, { revision, key: items[items.length - 1]!.key }) };
  }
  return { items, revision };
}

/** The first `limit` of `items` (read with one extra to tell whether more remain) as a list page. */
export function pageOf(prefix: string, items: KV[], revision: number, limit: number | undefined): ListResult {
  const more = limit !== undefined && items.length > limit;
  return listPage(prefix, more ? items.slice(0, limit) : items, revision, more);
}

/** The revision an event happened at. */
export function eventRevision(
  e: { type: 'put'; kv: { modRevision: number } } | { type: 'delete' | 'progress'; revision: number },
): number {
  return e.type === 'put' ? e.kv.modRevision : e.revision;
}
