/**
 * The etcd backend (etcd 3.4+, through the `etcd3` client's raw gRPC clients so every request is exactly the
 * one etcd's own API server would send). etcd's revision is our revision; every key lives under a prefix
 * (default "/skiff"); create/update/delete are transactions comparing create_revision / mod_revision, so
 * optimistic concurrency is etcd's. A watch is one etcd watch stream with prev_kv, started at fromRevision+1;
 * etcd's compaction surfaces as CompactedError, both for watches and for list pages read at an old revision.
 */
import { Etcd3, type IKeyValue, type IRequestOp, type ITxnResponse, type IWatchResponse } from 'etcd3';
import { createLogger } from '../util/log.js';
import { checkKey, checkLimit, checkPrefix, checkRevision, decodeContinue, listPage, prefixEnd } from './keys.js';
import {
  AlreadyExistsError,
  CompactedError,
  ConflictError,
  InvalidArgumentError,
  NotFoundError,
  StoreError,
  type BackendOptions,
  type KV,
  type ListOptions,
  type ListResult,
  type StoreBackend,
  type Watch,
  type WatchEvent,
} from './types.js';
import { BufferedWatch } from './watch-queue.js';

const log = createLogger('store-etcd');

type Stream = Awaited<ReturnType<Etcd3['watchClient']['watch']>>;

const COMPACTED = /required revision has been compacted/;

function num(v: string | number | undefined | null): number {
  return v === undefined || v === null ? 0 : Number(v);
}

/**
 * End a watch stream of ours. The write side first: etcd3 treats an error on a still-writable watch stream as
 * a failed host, and a cancelled call errors with CANCELLED, which it counts as recoverable. So a bare cancel()
 * resets every gRPC client of the host (all other watches and requests fail) and three in a row open its
 * circuit breaker for 5 s: one client closing its watches took the API server's store down.
 */
function endStream(s: Stream): void {
  s.end();
  s.cancel();
}

class EtcdWatch extends BufferedWatch {
  private stream: Stream | undefined;
  private progressPending = false;
  private created = false;

  constructor(
    private readonly backend: EtcdBackend,
    private readonly prefix: string,
    private readonly fromRevision: number,
    maxBuffered: number,
  ) {
    super(maxBuffered);
    void this.start();
  }

  private async start(): Promise<void> {
    let stream: Stream;
    try {
      stream = await this.backend.client.watchClient.watch();
    } catch (err) {
      this.fail(new StoreError(`etcd watch failed: ${err instanceof Error ? err.message : String(err)}`));
      return;
    }
    if (this.closed) {
      endStream(stream);
      return;
    }
    this.stream = stream;
    stream.on('data', (res) => this.onResponse(res));
    stream.on('error', (err) => {
      if (!this.closed) this.fail(new StoreError(`etcd watch stream failed: ${err.message}`));
    });
    stream.on('end', () => this.close('etcd watch stream ended'));
    const range = this.backend.rangeOf(this.prefix);
    stream.write({
      create_request: {
        key: Buffer.from(range.start),
        range_end: range.end,
        prev_kv: true,
        start_revision: this.fromRevision + 1,
      },
    });
  }

  private onResponse(res: IWatchResponse): void {
    if (this.closed) return;
    const compactRev = num(res.compact_revision);
    if (compactRev > 0) {
      this.fail(new CompactedError(this.fromRevision, compactRev));
      return;
    }
    if (res.canceled) {
      this.close(`etcd canceled the watch${res.cancel_reason ? `: ${res.cancel_reason}` : ''}`);
      return;
    }
    if (res.created) {
      this.created = true;
      if (this.progressPending) this.sendProgressRequest();
      return;
    }
    if (!res.events || res.events.length === 0) {
      // A progress notification: etcd has sent every event up to header.revision.
      this.enqueue({ type: 'progress', revision: num(res.header?.revision) });
      return;
    }
    for (const ev of res.events) {
      const e = this.backend.toEvent(ev.type, ev.kv, ev.prev_kv);
      if (e) this.enqueue(e);
      if (this.closed) return;
    }
  }

  private sendProgressRequest(): void {
    this.progressPending = false;
    this.stream?.write({ progress_request: {} });
  }

  requestProgress(): void {
    if (this.closed) return;
    if (this.created) this.sendProgressRequest();
    else this.progressPending = true;
  }

  protected override onClose(): void {
    this.backend.forget(this);
    const s = this.stream;
    this.stream = undefined;
    if (s) {
      try {
        endStream(s);
      } catch {
        // already gone
      }
    }
  }
}

export class EtcdBackend implements StoreBackend {
  readonly name = 'etcd';
  readonly client: Etcd3;
  private readonly keyPrefix: string;
  private readonly maxWatchBuffer: number;
  private readonly watches = new Set<EtcdWatch>();
  private closed = false;

  constructor(endpoints: string[], prefix = '/skiff', opts: { maxWatchBuffer?: number } = {}) {
    if (endpoints.length === 0) throw new InvalidArgumentError('the etcd store needs at least one endpoint');
    for (const e of endpoints) {
      if (!/^https?:\/\/[^/]+\/?$/.test(e))
        throw new InvalidArgumentError(`invalid etcd endpoint "${e}" (expected http://HOST:PORT)`);
    }
    this.keyPrefix = prefix.replace(/\/+$/, '');
    this.maxWatchBuffer = opts.maxWatchBuffer ?? 1000;
    this.client = new Etcd3({ hosts: endpoints, dialTimeout: 5000 });
  }

  etcdKey(key: string): string {
    return this.keyPrefix + key;
  }

  /** The etcd range of a list/watch prefix; every key starts with "/", so "" means "/" (and stays inside our prefix). */
  rangeOf(prefix: string): { start: string; end: Buffer } {
    checkPrefix(prefix);
    const start = this.etcdKey(prefix === '' ? '/' : prefix);
    const end = prefixEnd(start);
    return { start, end: end === undefined ? Buffer.from([0]) : Buffer.from(end) };
  }

  private toKV(kv: IKeyValue): KV {
    return {
      key: kv.key.toString('utf8').slice(this.keyPrefix.length),
      value: kv.value.toString('utf8'),
      modRevision: num(kv.mod_revision),
      createRevision: num(kv.create_revision),
    };
  }

  toEvent(type: string, kv: IKeyValue, prev: IKeyValue | undefined): WatchEvent | undefined {
    if (type === 'Put') {
      return prev ? { type: 'put', kv: this.toKV(kv), prev: this.toKV(prev) } : { type: 'put', kv: this.toKV(kv) };
    }
    if (type === 'Delete') {
      const revision = num(kv.mod_revision);
      const key = kv.key.toString('utf8').slice(this.keyPrefix.length);
      if (!prev) {
        // etcd omits prev_kv only when that revision was compacted in the meantime.
        log.warn({ key, revision }, 'delete event without previous value');
        return { type: 'delete', key, revision, prev: { key, value: '', modRevision: 0, createRevision: 0 } };
      }
      return { type: 'delete', key, revision, prev: this.toKV(prev) };
    }
    return undefined;
  }

  private open(): void {
    if (this.closed) throw new StoreError('store is closed');
  }

  private async call<T>(what: string, fn: () => Promise<T>, requested = 0): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (COMPACTED.test(msg)) throw new CompactedError(requested, requested + 1);
      throw new StoreError(`etcd ${what} failed: ${msg}`);
    }
  }

  async get(key: string): Promise<KV | undefined> {
    this.open();
    checkKey(key);
    const res = await this.call('get', () => this.client.kv.range({ key: Buffer.from(this.etcdKey(key)) }));
    const kv = res.kvs[0];
    return kv ? this.toKV(kv) : undefined;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.open();
    const limit = checkLimit(opts.limit);
    const range = this.rangeOf(prefix);
    let revision = 0;
    let start = range.start;
    if (opts.continue) {
      const tok = decodeContinue(prefix, opts.continue);
      revision = tok.revision;
      // The first key after tok.key in byte order.
      start = this.etcdKey(tok.key) + '\0';
    }
    const res = await this.call(
      'list',
      () =>
        this.client.kv.range({
          key: Buffer.from(start),
          range_end: range.end,
          ...(limit !== undefined ? { limit } : {}),
          ...(revision > 0 ? { revision } : {}),
        }),
      revision,
    );
    const items = res.kvs.map((kv) => this.toKV(kv));
    const rev = revision > 0 ? revision : num(res.header.revision);
    return listPage(prefix, items, rev, limit !== undefined && res.more);
  }

  async create(key: string, value: string): Promise<KV> {
    this.open();
    checkKey(key);
    const k = Buffer.from(this.etcdKey(key));
    const res = await this.call('create', () =>
      this.client.kv.txn({
        compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [{ request_put: { key: k, value: Buffer.from(value) } }],
        failure: [],
      }),
    );
    if (!res.succeeded) throw new AlreadyExistsError(key);
    const rev = num(res.header.revision);
    return { key, value, modRevision: rev, createRevision: rev };
  }

  /**
   * A write that needs the key to exist, and to be at `expectedRevision` when one is given: `op` runs only if
   * etcd's compare holds; otherwise the key's current value tells NotFound from Conflict.
   */
  private async conditionalWrite(
    what: string,
    key: string,
    expectedRevision: number | undefined,
    op: (k: Buffer) => IRequestOp,
  ): Promise<ITxnResponse> {
    const k = Buffer.from(this.etcdKey(key));
    const res = await this.call(what, () =>
      this.client.kv.txn({
        compare:
          expectedRevision === undefined
            ? [{ key: k, target: 'Create', result: 'Greater', create_revision: 0 }]
            : [{ key: k, target: 'Mod', result: 'Equal', mod_revision: expectedRevision }],
        success: [op(k)],
        failure: [{ request_range: { key: k } }],
      }),
    );
    if (!res.succeeded) {
      const cur = res.responses[0]?.response_range?.kvs[0];
      if (!cur) throw new NotFoundError(key);
      throw new ConflictError(key, expectedRevision ?? 0, num(cur.mod_revision));
    }
    return res;
  }

  async update(key: string, value: string, expectedRevision?: number): Promise<KV> {
    this.open();
    checkKey(key);
    const res = await this.conditionalWrite('update', key, expectedRevision, (k) => ({
      request_put: { key: k, value: Buffer.from(value), prev_kv: true },
    }));
    const prev = res.responses[0]?.response_put?.prev_kv;
    const rev = num(res.header.revision);
    return { key, value, modRevision: rev, createRevision: prev ? num(prev.create_revision) : rev };
  }

  async delete(key: string, expectedRevision?: number): Promise<{ prev: KV; revision: number }> {
    this.open();
    checkKey(key);
    const res = await this.conditionalWrite('delete', key, expectedRevision, (k) => ({
      request_delete_range: { key: k, prev_kv: true },
    }));
    const prev = res.responses[0]?.response_delete_range?.prev_kvs[0];
    // The compare held, so the key existed and prev_kv is there; a missing one would be an etcd bug.
    if (!prev) throw new StoreError(`etcd delete of ${key} returned no previous value`);
    return { prev: this.toKV(prev), revision: num(res.header.revision) };
  }

  watch(prefix: string, fromRevision: number): Watch {
    this.open();
    checkRevision('watch', fromRevision);
    this.rangeOf(prefix);
    const w = new EtcdWatch(this, prefix, fromRevision, this.maxWatchBuffer);
    this.watches.add(w);
    return w;
  }

  forget(w: EtcdWatch): void {
    this.watches.delete(w);
  }

  async currentRevision(): Promise<number> {
    this.open();
    const k = Buffer.from(this.etcdKey('/'));
    const res = await this.call('revision', () => this.client.kv.range({ key: k, count_only: true }));
    return num(res.header.revision);
  }

  async compact(revision: number): Promise<void> {
    this.open();
    checkRevision('compaction', revision);
    try {
      await this.client.kv.compact({ revision, physical: true });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      // Compacting to an already compacted revision is a no-op for us, as in the other backends.
      if (COMPACTED.test(msg)) return;
      throw new StoreError(`etcd compact failed: ${msg}`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of [...this.watches]) w.close('store closed');
    this.client.close();
  }
}

export function openEtcdBackend(opts: BackendOptions): EtcdBackend {
  if (!opts.etcdEndpoints?.length) throw new InvalidArgumentError('the etcd store needs --etcd-endpoints');
  return new EtcdBackend(opts.etcdEndpoints, opts.prefix ?? '/skiff', { maxWatchBuffer: opts.maxWatchBuffer });
}
