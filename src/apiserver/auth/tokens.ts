/**
 * Bearer tokens in DIR/tokens.json: `{"tokens": [{"token", "user", "groups"}]}`. The running server re-reads
 * the file when it changes, so `skiff apiserver issue-kubeconfig` works without a restart. Writers take a
 * lock file and replace the file atomically.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError } from '../../util/errors.js';

export const TokenEntrySchema = z.object({
  token: z.string().min(16),
  user: z.string().min(1),
  groups: z.array(z.string()).default([]),
  uid: z.string().optional(),
});
export const TokensFileSchema = z.object({ tokens: z.array(TokenEntrySchema) });
export type TokenEntry = z.infer<typeof TokenEntrySchema>;

export interface UserInfo {
  name: string;
  groups: string[];
}

export function tokensPath(stateDir: string): string {
  return join(stateDir, 'tokens.json');
}

export function readTokens(stateDir: string): TokenEntry[] {
  const p = tokensPath(stateDir);
  if (!existsSync(p)) return [];
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(p, 'utf8'));
  } catch (e) {
    throw new UserError(`${p}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const r = TokensFileSchema.safeParse(raw);
  if (!r.success)
    throw new UserError(`${p}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data.tokens;
}

/** Run `fn` holding DIR/tokens.json.lock (bounded wait; a lock older than 30 s is considered stale). */
function withLock<T>(stateDir: string, fn: () => T): T {
  const lock = join(stateDir, 'tokens.json.lock');
  for (let i = 0; i < 500; i++) {
    try {
      closeSync(openSync(lock, 'wx', 0o600));
      try {
        return fn();
      } finally {
        try {
          unlinkSync(lock);
        } catch {
          /* already gone */
        }
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        if (Date.now() - statSync(lock).mtimeMs > 30_000) unlinkSync(lock);
      } catch {
        /* raced with its owner */
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
  throw new UserError(`could not lock ${lock} (another writer is stuck?)`);
}

/** Find the token of `user`, or add one. Returns the token. */
export function ensureToken(stateDir: string, user: string, groups: string[]): string {
  return withLock(stateDir, () => {
    const tokens = readTokens(stateDir);
    const found = tokens.find((t) => t.user === user && t.groups.join(',') === groups.join(','));
    if (found) return found.token;
    const token = randomBytes(24).toString('base64url');
    tokens.push({ token, user, groups });
    const p = tokensPath(stateDir);
    const tmp = `${p}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ tokens }, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, p);
    return token;
  });
}

/** The server's view: re-read when the file's mtime changes (checked at most every 500 ms, or on a miss). */
export class TokenAuthenticator {
  private byToken = new Map<string, TokenEntry>();
  private mtime = -1;
  private checkedAt = 0;

  constructor(private readonly stateDir: string) {
    this.reload(true);
  }

  private reload(force = false): void {
    const now = Date.now();
    if (!force && now - this.checkedAt < 500) return;
    this.checkedAt = now;
    let m = 0;
    try {
      m = statSync(tokensPath(this.stateDir)).mtimeMs;
    } catch {
      m = 0;
    }
    if (m === this.mtime) return;
    try {
      const entries = readTokens(this.stateDir);
      this.byToken = new Map(entries.map((e) => [e.token, e]));
      this.mtime = m;
    } catch {
      // A half-written or broken file keeps the previous tokens in force.
    }
  }

  authenticate(authorization: string | undefined): UserInfo | undefined {
    if (!authorization) return undefined;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) return undefined;
    const token = m[1]!;
    this.reload();
    let e = this.lookup(token);
    if (!e) {
      this.reload(true);
      e = this.lookup(token);
    }
    return e ? { name: e.user, groups: [...e.groups, 'system:authenticated'] } : undefined;
  }

  private lookup(token: string): TokenEntry | undefined {
    const e = this.byToken.get(token);
    if (!e) return undefined;
    const a = Buffer.from(e.token);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b) ? e : undefined;
  }
}
