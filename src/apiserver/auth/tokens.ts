/**
 * Bearer tokens in DIR/tokens.json: `{"tokens": [{"token", "user", "groups"}]}`. The running server re-reads
 * the file when it changes, so `skiff apiserver issue-kubeconfig` works without a restart. Writers take a
 * lock file and replace the file atomically.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
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

const TokenEntrySchema = z.object({
  token: z.string().min(16),
  user: z.string().min(1),
  groups: z.array(z.string()).default([]),
  uid: z.string().optional(),
});
const TokensFileSchema = z.object({ tokens: z.array(TokenEntrySchema) });
export type TokenEntry = z.infer<typeof TokenEntrySchema>;

export interface UserInfo {
  name: string;
  groups: string[];
}

export function tokensPath(stateDir: string): string {
  return join(stateDir, 'tokens.json');
}

function readTokens(stateDir: string): TokenEntry[] {
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

/**
 * The server's view of tokens.json. Tokens are kept by SHA-256 digest and confirmed with a constant-time
 * comparison of digests, so neither the lookup nor the comparison reveals how much of a guess was right.
 * The file is re-read only when its identity (inode, size, mtime) changes: checked at most every 500 ms on
 * a hit, and on a miss (so a token issued a moment ago works at once) with a stat, never a re-read, when the
 * file is unchanged. A broken file keeps the previous tokens and is not re-read until it changes again.
 */
export class TokenAuthenticator {
  private byDigest = new Map<string, { digest: Buffer; entry: TokenEntry }>();
  private identity = '';
  private checkedAt = 0;
  /** how many times the file was read and parsed (observable for tests and metrics) */
  reads = 0;

  constructor(private readonly stateDir: string) {
    this.refresh();
  }

  private fileIdentity(): string {
    try {
      const st = statSync(tokensPath(this.stateDir));
      return `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      return 'missing';
    }
  }

  private refresh(): void {
    this.checkedAt = Date.now();
    const id = this.fileIdentity();
    if (id === this.identity) return;
    this.identity = id;
    this.reads++;
    try {
      const entries = readTokens(this.stateDir);
      this.byDigest = new Map(
        entries.map((e) => {
          const digest = sha256(e.token);
          return [digest.toString('hex'), { digest, entry: e }];
        }),
      );
    } catch {
      // A half-written or broken file keeps the previous tokens in force.
    }
  }

  authenticate(authorization: string | undefined): UserInfo | undefined {
    if (!authorization) return undefined;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) return undefined;
    const digest = sha256(m[1]!);
    if (Date.now() - this.checkedAt >= 500) this.refresh();
    let e = this.lookup(digest);
    if (!e) {
      this.refresh();
      e = this.lookup(digest);
    }
    return e ? { name: e.user, groups: [...e.groups, 'system:authenticated'] } : undefined;
  }

  private lookup(digest: Buffer): TokenEntry | undefined {
    const found = this.byDigest.get(digest.toString('hex'));
    return found && timingSafeEqual(found.digest, digest) ? found.entry : undefined;
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
