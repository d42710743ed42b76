/**
 * The SQLite backend: DIR/state.db through better-sqlite3 (synchronous, so each write is one short
 * transaction and the in-process watch fan-out sees commits in revision order without locks).
 *
 * Tables: `objects` (current value per key), `events` (one row per revision: put or delete, with the previous
 * value, so a watch from an older revision — even after a restart — replays the history, and a list page can
 * be read at the snapshot revision of its first page) and `meta` (revision counter, compaction point).
 * WAL + synchronous=FULL: a write is fsynced before create/update/delete resolves, so an acknowledged write
 * survives kill -9 or power loss. The database is opened in exclusive locking mode: a second process (a
 * second API server on the same state dir) fails to open it instead of forking the revision counter.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { createLogger } from '../util/log.js';
import { privateDir, privateFile, tightenIfPresent } from '../util/private.js';
import { checkKey, pageOf, prefixEnd } from './keys.js';
import { LogBackend, requireCurrent, type LogBackendOptions } from './log-backend.js';
import {
  AlreadyExistsError,
  InvalidArgumentError,
  StoreError,
  type BackendOptions,
  type KV,
  type ListOptions,
  type ListResult,
  type StoreBackend,
  type WatchEvent,
} from './types.js';

const log = createLogger('store-sqlite');

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS objects (
  key TEXT PRIMARY KEY, value TEXT NOT NULL, mod_rev INTEGER NOT NULL, create_rev INTEGER NOT NULL
) WITHOUT ROWID;
-- rev is the rowid: range scans by revision are the table's natural order. deleted = 1 for a delete event;
-- value/create_rev are the new state of a put; prev_* the state before (NULL when a put created the key).
CREATE TABLE IF NOT EXISTS events (
  rev INTEGER PRIMARY KEY, key TEXT NOT NULL, deleted INTEGER NOT NULL, value TEXT, create_rev INTEGER,
  prev_value TEXT, prev_mod_rev INTEGER, prev_create_rev INTEGER
);
INSERT OR IGNORE INTO meta (k, v) VALUES ('revision', 0), ('compacted', 0);
`;

interface ObjectRow {
  key: string;
  value: string;
  mod_rev: number;
  create_rev: number;
}
interface EventRow {
  rev: number;
  key: string;
  deleted: number;
  value: string | null;
  create_rev: number | null;
  prev_value: string | null;
  prev_mod_rev: number | null;
  prev_create_rev: number | null;
}

function toKV(r: ObjectRow): KV {
  return { key: r.key, value: r.value, modRevision: r.mod_rev, createRevision: r.create_rev };
}

function prevOf(r: EventRow): KV | undefined {
  if (r.prev_value === null) return undefined;
  return { key: r.key, value: r.prev_value, modRevision: r.prev_mod_rev!, createRevision: r.prev_create_rev! };
}

function toEvent(r: EventRow): WatchEvent {
  if (r.deleted) return { type: 'delete', key: r.key, prev: prevOf(r)!, revision: r.rev };
  const kv: KV = { key: r.key, value: r.value!, modRevision: r.rev, createRevision: r.create_rev! };
  const prev = prevOf(r);
  return prev ? { type: 'put', kv, prev } : { type: 'put', kv };
}

/** SQL for "key under prefix" (and after a key); the bounds let SQLite use the primary-key index. */
function keyRange(prefix: string, after?: string): { sql: string; params: string[] } {
  const conds: string[] = [];
  const params: string[] = [];
  if (after !== undefined) {
    conds.push('key > ?');
    params.push(after);
  } else if (prefix) {
    conds.push('key >= ?');
    params.push(prefix);
  }
  const end = prefixEnd(prefix);
  if (prefix && end !== undefined) {
    conds.push('key < ?');
    params.push(end);
  }
  return { sql: conds.length ? conds.join(' AND ') : '1', params };
}

export class SqliteBackend extends LogBackend implements StoreBackend {
  readonly name = 'sqlite';
  private readonly db: Database.Database;
  private readonly stmts = new Map<string, Database.Statement>();
  private readonly batchTx: Database.Transaction<(body: () => void) => void>;
  private pending: {
    run: () => { result: unknown; event: WatchEvent };
    resolve: (v: unknown) => void;
    reject: (e: unknown) => void;
  }[] = [];

  constructor(
    readonly path: string,
    opts: LogBackendOptions = {},
  ) {
    super(opts);
    // A short busy timeout: the only other opener can be a second process, which must fail fast.
    this.db = new Database(path, { timeout: 250 });
    try {
      this.db.pragma('locking_mode = EXCLUSIVE');
      const mode = this.db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new StoreError(`${path}: could not enable WAL (journal_mode=${String(mode)})`);
      this.db.pragma('synchronous = FULL');
      this.db.exec(SCHEMA);
    } catch (err) {
      this.db.close();
      if (err instanceof Error && /locked|busy/i.test(err.message)) {
        throw new StoreError(`${path} is in use by another process (is another API server running on this state dir?)`);
      }
      throw err;
    }
    this.rev = this.meta('revision');
    this.compacted = this.meta('compacted');
    this.batchTx = this.db.transaction((body: () => void) => body());
    log.debug({ path, revision: this.rev, compacted: this.compacted }, 'opened');
  }

  private stmt(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  private meta(k: string): number {
    const row = this.stmt('SELECT v FROM meta WHERE k = ?').get(k) as { v: number } | undefined;
    return row?.v ?? 0;
  }

  /** The current value of `key` (what get() returns, synchronously: writes check it inside their batch). */
  private read(key: string): KV | undefined {
    const r = this.stmt('SELECT key, value, mod_rev, create_rev FROM objects WHERE key = ?').get(key) as
      ObjectRow | undefined;
    return r ? toKV(r) : undefined;
  }

  async get(key: string): Promise<KV | undefined> {
    this.open();
    checkKey(key);
    return this.read(key);
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    const { limit, revision, after } = this.listStart(prefix, opts);
    const fetch = limit === undefined ? -1 : limit + 1;
    const r = keyRange(prefix, after);
    let rows: ObjectRow[];
    if (revision === this.rev) {
      rows = this.stmt(`SELECT key, value, mod_rev, create_rev FROM objects WHERE ${r.sql} ORDER BY key LIMIT ?`).all(
        ...r.params,
        fetch,
      ) as ObjectRow[];
    } else {
      // The snapshot at `revision` (a later page of a list): current rows, except keys written since, which
      // take the value from before their first later write (SQLite returns the bare columns of the MIN(rev) row).
      rows = this.stmt(
        `WITH t AS (SELECT key, prev_value, prev_mod_rev, prev_create_rev, MIN(rev) FROM events
                    WHERE rev > ? AND ${r.sql} GROUP BY key)
         SELECT key, value, mod_rev, create_rev FROM objects WHERE ${r.sql} AND key NOT IN (SELECT key FROM t)
         UNION ALL
         SELECT key, prev_value, prev_mod_rev, prev_create_rev FROM t WHERE prev_value IS NOT NULL
         ORDER BY key LIMIT ?`,
      ).all(revision, ...r.params, ...r.params, fetch) as ObjectRow[];
    }
    return pageOf(prefix, rows.map(toKV), revision, limit);
  }

  /**
   * Group commit. better-sqlite3 is synchronous, and with synchronous=FULL every commit waits for an fsync
   * that blocks the event loop; so writes are queued and applied together, one transaction and one fsync
   * for everything issued in the same event-loop turn. Each write is checked (NotFound, Conflict,
   * AlreadyExists) against the state including the earlier writes of its batch, exactly as if run one by
   * one; a promise resolves only after its batch committed, so an acknowledged write is durable.
   */
  private enqueueWrite<T>(run: () => { result: T; event: WatchEvent }): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ run, resolve: resolve as (v: unknown) => void, reject });
      if (this.pending.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.pending.splice(0);
    if (batch.length === 0) return;
    if (this.closed) {
      for (const op of batch) op.reject(new StoreError('store is closed'));
      return;
    }
    const startRev = this.rev;
    const outcomes: ({ ok: true; result: unknown; event: WatchEvent } | { ok: false; err: unknown })[] = [];
    try {
      this.batchTx.immediate(() => {
        for (const op of batch) {
          try {
            outcomes.push({ ok: true, ...op.run() });
          } catch (err) {
            // A refused write (conflict, ...) threw before touching the database: the rest of the batch goes on.
            if (!(err instanceof StoreError)) throw err;
            outcomes.push({ ok: false, err });
          }
        }
        if (this.rev !== startRev) this.stmt("UPDATE meta SET v = ? WHERE k = 'revision'").run(this.rev);
      });
    } catch (err) {
      // The transaction rolled back: nothing of this batch is stored.
      this.rev = startRev;
      log.error({ err }, 'write transaction failed');
      for (const op of batch) op.reject(err);
      return;
    }
    if (this.compactionDue()) {
      try {
        this.compactTo(this.rev - this.window);
      } catch (err) {
        // History is only trimmed later; the writes are committed.
        log.warn({ err }, 'automatic compaction failed');
      }
    }
    batch.forEach((op, i) => {
      const o = outcomes[i]!;
      if (o.ok) {
        this.hub.publish(o.event);
        op.resolve(o.result);
      } else {
        op.reject(o.err);
      }
    });
  }

  /** Store one change (inside the batch transaction) under the next revision. */
  private writeRows(key: string, kv: KV | undefined, prev: KV | undefined, rev: number): void {
    if (kv) {
      this.stmt(
        'INSERT INTO objects (key, value, mod_rev, create_rev) VALUES (?, ?, ?, ?) ' +
          'ON CONFLICT(key) DO UPDATE SET value = excluded.value, mod_rev = excluded.mod_rev, create_rev = excluded.create_rev',
      ).run(key, kv.value, kv.modRevision, kv.createRevision);
    } else {
      this.stmt('DELETE FROM objects WHERE key = ?').run(key);
    }
    this.stmt(
      'INSERT INTO events (rev, key, deleted, value, create_rev, prev_value, prev_mod_rev, ' +
        'prev_create_rev) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ).run(
      rev,
      key,
      kv ? 0 : 1,
      kv?.value ?? null,
      kv?.createRevision ?? null,
      prev?.value ?? null,
      prev?.modRevision ?? null,
      prev?.createRevision ?? null,
    );
    this.rev = rev;
  }

  async create(key: string, value: string): Promise<KV> {
    this.open();
    checkKey(key);
    if (typeof value !== 'string') throw new InvalidArgumentError('store value must be a string');
    return this.enqueueWrite(() => {
      if (this.read(key)) throw new AlreadyExistsError(key);
      const rev = this.rev + 1;
      const kv: KV = { key, value, modRevision: rev, createRevision: rev };
      this.writeRows(key, kv, undefined, rev);
      return { result: kv, event: { type: 'put', kv } };
    });
  }

  async update(key: string, value: string, expectedRevision?: number): Promise<KV> {
    this.open();
    checkKey(key);
    if (typeof value !== 'string') throw new InvalidArgumentError('store value must be a string');
    return this.enqueueWrite(() => {
      const prev = requireCurrent(key, this.read(key), expectedRevision);
      const rev = this.rev + 1;
      const kv: KV = { key, value, modRevision: rev, createRevision: prev.createRevision };
      this.writeRows(key, kv, prev, rev);
      return { result: kv, event: { type: 'put', kv, prev } };
    });
  }

  async delete(key: string, expectedRevision?: number): Promise<{ prev: KV; revision: number }> {
    this.open();
    checkKey(key);
    return this.enqueueWrite(() => {
      const prev = requireCurrent(key, this.read(key), expectedRevision);
      const revision = this.rev + 1;
      this.writeRows(key, undefined, prev, revision);
      return { result: { prev, revision }, event: { type: 'delete', key, prev, revision } };
    });
  }

  protected compactTo(revision: number): void {
    if (revision <= this.compacted) return;
    this.db
      .transaction(() => {
        this.stmt('DELETE FROM events WHERE rev <= ?').run(revision);
        this.stmt("UPDATE meta SET v = ? WHERE k = 'compacted'").run(revision);
      })
      .immediate();
    this.compacted = revision;
  }

  readEvents(prefix: string, afterRev: number, uptoRev: number, limit: number): WatchEvent[] {
    const r = keyRange(prefix);
    const rows = this.stmt(`SELECT * FROM events WHERE rev > ? AND rev <= ? AND ${r.sql} ORDER BY rev LIMIT ?`).all(
      afterRev,
      uptoRev,
      ...r.params,
      limit,
    ) as EventRow[];
    return rows.map(toEvent);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Writes already accepted are committed (and acknowledged) before the database closes.
    this.flush();
    this.closed = true;
    this.hub.closeAll('store closed');
    this.db.close();
  }
}

export function openSqliteBackend(opts: BackendOptions): SqliteBackend {
  if (!opts.dir) throw new InvalidArgumentError('the sqlite store needs a state directory (dir)');
  privateDir(opts.dir);
  const path = join(opts.dir, 'state.db');
  privateFile(path); // SQLite creates its -wal and -shm files with the database file's mode
  const backend = new SqliteBackend(path, opts);
  tightenIfPresent(`${path}-wal`, `${path}-shm`);
  return backend;
}
