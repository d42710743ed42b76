/**
 * The verbs (get, list, create, update, patch, delete, scale, binding) over every ResourceDef, independent
 * of HTTP. Writes use optimistic concurrency on the store revision; patches retry on a lost race.
 */
import type { KObject, DeleteOptions } from '../api/meta.js';
import { BindingSchema, ScaleSchema } from '../api/meta.js';
import type { Logger } from '../util/log.js';
import {
  AlreadyExistsError,
  ConflictError,
  InvalidArgumentError,
  NotFoundError,
  CompactedError,
} from '../store/types.js';
import {
  carryMeta,
  decodeObject,
  initMeta,
  nowIso,
  runValidation,
  statusOnly,
  type FieldValidation,
} from './admission.js';
import type { Allocator } from './alloc.js';
import { alreadyExists, ApiError, badRequest, conflict, gone, notFound } from './errors.js';
import { jsonPatch, JsonPatchError } from './patch/json.js';
import { mergePatch } from './patch/merge.js';
import { patchMetaFor } from './patch/meta.js';
import { strategicMergePatch, StrategicPatchError } from './patch/strategic.js';
import { namespaces, pods, resources, services } from './resources/index.js';
import type { ResourceDef, StrategyContext } from './resources/types.js';
import {
  matchFields,
  matchLabels,
  parseFieldSelector,
  parseLabelSelector,
  selectorString,
  SelectorError,
  type FieldRequirement,
  type Requirement,
} from './selectors.js';
import { decode, ObjectStore } from './storage.js';
import { checkResourceVersion } from './query.js';
import { decodeManagedFields, encodeManagedFields, recordApply } from './managedfields/managers.js';
import { scopeFor, stampUpdate, writerFor } from './managedfields/record.js';

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';

export interface WriteOptions {
  fieldValidation: FieldValidation;
  dryRun: boolean;
  warnings: string[];
  /** called with the stored object before a write (node authorization needs to see it) */
  guard?: (existing: KObject | undefined) => void;
  /** the manager recorded in managedFields: the fieldManager parameter, else the client's user agent name */
  fieldManager?: string;
  /** the subresource written through (status, scale), recorded with the manager */
  subresource?: string;
  /** server-side apply: take over the fields other managers own instead of failing with a conflict */
  force?: boolean;
  /** managedFields already computed (by an apply), stored as they are */
  managedFields?: unknown[];
}

export interface ListQuery {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface Filter {
  labels: Requirement[];
  fields: FieldRequirement[];
}

const MAX_RETRIES = 8;

export class Registry {
  private stopped = false;
  private readonly background = new Set<Promise<void>>();

  constructor(
    readonly store: ObjectStore,
    readonly alloc: Allocator,
    private readonly log: Logger,
  ) {}

  // ---------------- read ----------------

  async get(def: ResourceDef, ns: string | undefined, name: string): Promise<KObject> {
    const r = await this.store.get(def, ns, name);
    if (!r) throw notFound(def.plural, def.group, name);
    return r.obj;
  }

  parseFilter(def: ResourceDef, q: ListQuery): Filter {
    try {
      const labels = q.labelSelector ? parseLabelSelector(q.labelSelector) : [];
      const fields = q.fieldSelector ? parseFieldSelector(q.fieldSelector) : [];
      const known = new Set([
        'metadata.name',
        'metadata.namespace',
        ...Object.keys(def.fields?.({ metadata: {} }) ?? {}),
      ]);
      for (const f of fields) if (!known.has(f.field)) throw badRequest(`field label not supported: ${f.field}`);
      return { labels, fields };
    } catch (e) {
      if (e instanceof SelectorError)
        throw badRequest(`unable to parse requirement: ${e.message.replace(/^unable to parse requirement: /, '')}`);
      throw e;
    }
  }

  matches(def: ResourceDef, f: Filter, obj: KObject): boolean {
    if (f.labels.length && !matchLabels(f.labels, obj.metadata.labels)) return false;
    if (!f.fields.length) return true;
    const fields = {
      'metadata.name': obj.metadata.name ?? '',
      'metadata.namespace': obj.metadata.namespace ?? '',
      ...(def.fields?.(obj) ?? {}),
    };
    return matchFields(f.fields, fields);
  }

  /** A page of matching objects. With selectors, pages are filled by reading further (bounded by the store). */
  async list(
    def: ResourceDef,
    ns: string | undefined,
    q: ListQuery,
  ): Promise<{ items: KObject[]; resourceVersion: string; continue?: string }> {
    const filter = this.parseFilter(def, q);
    const limit = q.limit && q.limit > 0 ? q.limit : undefined;
    const items: KObject[] = [];
    let token = q.continue || undefined;
    let revision = 0;
    for (let page = 0; page < 100_000; page++) {
      let r;
      try {
        r = await this.store.list(def, ns, { limit: limit ? limit - items.length : undefined, continue: token });
      } catch (e) {
        if (e instanceof InvalidArgumentError) throw badRequest(e.message);
        if (e instanceof CompactedError)
          throw gone(
            `The provided continue parameter is too old to display a consistent list result. You can ` +
              `start a new list without the continue parameter.`,
          );
        throw e;
      }
      revision = r.revision;
      for (const kv of r.items) {
        const o = decode(def, kv);
        if (this.matches(def, filter, o)) items.push(o);
      }
      token = r.continue;
      if (!token || (limit && items.length >= limit)) break;
    }
    return { items, resourceVersion: String(revision), continue: token };
  }

  // ---------------- write ----------------

  private strategyContext(): StrategyContext & { commit(): void; rollback(): void } {
    const commits: (() => void)[] = [];
    const rollbacks: (() => void)[] = [];
    return {
      alloc: this.alloc,
      onCommit: (fn) => commits.push(fn),
      onRollback: (fn) => rollbacks.push(fn),
      commit: () => commits.forEach((f) => f()),
      rollback: () => rollbacks.reverse().forEach((f) => f()),
    };
  }

  private async checkNamespace(def: ResourceDef, ns: string | undefined, name: string): Promise<void> {
    if (!def.namespaced || !ns) return;
    const r = await this.store.get(namespaces, undefined, ns);
    if (!r) throw notFound('namespaces', '', ns);
    if (r.obj.metadata.deletionTimestamp || r.obj.status?.phase === 'Terminating') {
      throw new ApiError(
        403,
        'Forbidden',
        `${def.plural} "${name}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
      );
    }
  }

  async create(def: ResourceDef, ns: string | undefined, body: unknown, opts: WriteOptions): Promise<KObject> {
    const obj = decodeObject(def, body, opts.fieldValidation, opts.warnings);
    initMeta(def, obj, def.namespaced ? ns : undefined);
    await def.admitCreate?.(obj, { list: async (d, n) => (await this.list(d, n, {})).items });
    def.normalizeCreate?.(obj);
    def.defaults?.(obj);
    runValidation(def, obj);
    if (opts.managedFields) obj.metadata.managedFields = opts.managedFields;
    else stampUpdate(def, undefined, obj, obj.metadata.managedFields, opts.fieldManager, opts.subresource);
    await this.checkNamespace(def, obj.metadata.namespace, obj.metadata.name ?? '');
    opts.guard?.(obj);
    const ctx = this.strategyContext();
    def.prepareCreate?.(obj, ctx);
    if (opts.dryRun) {
      ctx.rollback();
      return obj;
    }
    try {
      const created = await this.store.create(def, obj);
      ctx.commit();
      return created;
    } catch (e) {
      ctx.rollback();
      if (e instanceof AlreadyExistsError) throw alreadyExists(def.plural, def.group, obj.metadata.name!);
      throw e;
    }
  }

  /**
   * Replace `name` with `next` (already decoded). `expected` is the stored revision the caller read, or the
   * precondition the client sent. Removes the object when it is being deleted and the last finalizer left.
   */
  private async write(
    def: ResourceDef,
    next: KObject,
    old: KObject,
    oldRev: number,
    opts: WriteOptions,
    status: boolean,
  ): Promise<KObject> {
    const rv = next.metadata.resourceVersion;
    checkResourceVersion(rv, 'metadata.resourceVersion');
    if (rv && rv !== String(oldRev)) throw conflict(def.plural, def.group, old.metadata.name!);
    let obj = status ? statusOnly(old, next) : next;
    obj.metadata.name = old.metadata.name;
    carryMeta(def, obj, old);
    if (def.statusSubresource && !status) obj.status = old.status;
    if (!status) def.normalizeUpdate?.(obj, old);
    def.defaults?.(obj);
    runValidation(def, obj, old);
    if (opts.managedFields) obj.metadata.managedFields = opts.managedFields;
    else {
      const sent = status ? undefined : next.metadata.managedFields;
      stampUpdate(def, old, obj, sent, opts.fieldManager, status ? 'status' : opts.subresource);
    }
    const ctx = this.strategyContext();
    if (!status) def.prepareUpdate?.(obj, old, ctx);
    if (opts.dryRun) {
      ctx.rollback();
      return obj;
    }
    try {
      obj = await this.store.update(def, obj, oldRev);
      ctx.commit();
    } catch (e) {
      ctx.rollback();
      if (e instanceof ConflictError) throw conflict(def.plural, def.group, old.metadata.name!);
      if (e instanceof NotFoundError) throw notFound(def.plural, def.group, old.metadata.name!);
      throw e;
    }
    if (
      obj.metadata.deletionTimestamp &&
      !(obj.metadata.finalizers ?? []).length &&
      (obj.metadata.deletionGracePeriodSeconds ?? 0) === 0
    ) {
      return this.remove(def, obj, Number(obj.metadata.resourceVersion), 'Background');
    }
    return obj;
  }

  async update(
    def: ResourceDef,
    ns: string | undefined,
    name: string,
    body: unknown,
    opts: WriteOptions,
    status = false,
  ): Promise<KObject> {
    const next = decodeObject(def, body, opts.fieldValidation, opts.warnings);
    if (next.metadata.name && next.metadata.name !== name)
      throw badRequest(`the name of the object (${next.metadata.name}) does not match the name on the URL (${name})`);
    if (def.namespaced && next.metadata.namespace && next.metadata.namespace !== ns)
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    const cur = await this.store.get(def, ns, name);
    opts.guard?.(cur?.obj);
    if (!cur) {
      if (def.allowCreateOnUpdate && !status) {
        next.metadata.name = name;
        delete next.metadata.resourceVersion;
        return this.create(def, ns, next, { ...opts, fieldValidation: 'Ignore' });
      }
      throw notFound(def.plural, def.group, name);
    }
    return this.write(def, next, cur.obj, cur.kv.modRevision, opts, status);
  }

  applyPatch(def: ResourceDef, current: unknown, type: PatchType, patch: unknown, typeName = def.typeName): unknown {
    try {
      switch (type) {
        case 'merge':
          if (typeof patch !== 'object' || patch === null || Array.isArray(patch))
            throw badRequest('merge patch must be a JSON object');
          return mergePatch(current, patch);
        case 'json':
          return jsonPatch(current, patch);
        case 'strategic':
          return strategicMergePatch(current, patch, patchMetaFor(typeName));
        case 'apply':
          throw new ApiError(415, 'UnsupportedMediaType', 'apply patches are not supported on this subresource');
      }
    } catch (e) {
      if (e instanceof JsonPatchError || e instanceof StrategicPatchError)
        throw new ApiError(422, 'Invalid', e.message);
      throw e;
    }
  }

  async patch(
    def: ResourceDef,
    ns: string | undefined,
    name: string,
    type: PatchType,
    patch: unknown,
    opts: WriteOptions,
    status = false,
  ): Promise<KObject> {
    if (type === 'apply') return (await this.serverSideApply(def, ns, name, patch, opts, status)).obj;
    for (let attempt = 0; ; attempt++) {
      const cur = await this.store.get(def, ns, name);
      opts.guard?.(cur?.obj);
      if (!cur) throw notFound(def.plural, def.group, name);
      const patched = this.applyPatch(def, cur.obj, type, patch);
      const next = decodeObject(def, patched, opts.fieldValidation, opts.warnings);
      if (next.metadata.name !== undefined && next.metadata.name !== name)
        throw badRequest(
          `the name of the object (${String(next.metadata.name)}) does not match the name on the URL (${name})`,
        );
      // A resourceVersion the patch itself sets is a precondition; otherwise the read revision is.
      try {
        return await this.write(def, next, cur.obj, cur.kv.modRevision, opts, status);
      } catch (e) {
        const precondition = next.metadata.resourceVersion !== String(cur.kv.modRevision);
        if (e instanceof ApiError && e.reason === 'Conflict' && !precondition && attempt < MAX_RETRIES) continue;
        throw e;
      }
    }
  }

  /**
   * Server-side apply (application/apply-patch+yaml): the configuration merged over the live object with field
   * ownership (managedfields/managers.ts); creates the object when it does not exist.
   */
  async serverSideApply(
    def: ResourceDef,
    ns: string | undefined,
    name: string,
    body: unknown,
    opts: WriteOptions,
    status = false,
  ): Promise<{ obj: KObject; created: boolean }> {
    const config = decodeObject(def, body, opts.fieldValidation, opts.warnings);
    const b = body as Record<string, unknown>;
    if (b.apiVersion === undefined || b.kind === undefined)
      throw badRequest(`Object 'Kind' is missing in apply configuration (apiVersion and kind are required)`);
    if (config.metadata.name !== undefined && config.metadata.name !== name)
      throw badRequest(`the name of the object (${config.metadata.name}) does not match the name on the URL (${name})`);
    if (def.namespaced && config.metadata.namespace && config.metadata.namespace !== ns)
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    if (config.metadata.managedFields !== undefined) throw badRequest('metadata.managedFields must be nil');
    const sub = status ? 'status' : opts.subresource;
    const scope = scopeFor(def, sub);
    const who = writerFor(def, opts.fieldManager, sub);
    for (let attempt = 0; ; attempt++) {
      const cur = await this.store.get(def, ns, name);
      opts.guard?.(cur?.obj);
      const stored = decodeManagedFields(cur?.obj.metadata.managedFields);
      const r = recordApply(
        scope,
        cur?.obj,
        config as unknown as Record<string, unknown>,
        stored === 'reset' ? undefined : stored,
        who,
        opts.force ?? false,
        nowIso(),
      );
      const managedFields = encodeManagedFields(r.managers);
      const next = r.object as unknown as KObject;
      next.metadata ??= {};
      next.metadata.name = name;
      delete next.metadata.managedFields;
      if (!cur) {
        if (status) throw notFound(def.plural, def.group, name);
        return { obj: await this.create(def, ns, next, { ...opts, managedFields }), created: true };
      }
      try {
        return {
          obj: await this.write(def, next, cur.obj, cur.kv.modRevision, { ...opts, managedFields }, status),
          created: false,
        };
      } catch (e) {
        const precondition = next.metadata.resourceVersion !== String(cur.kv.modRevision);
        if (
          e instanceof ApiError &&
          e.reason === 'Conflict' &&
          !e.details?.causes &&
          !precondition &&
          attempt < MAX_RETRIES
        )
          continue;
        throw e;
      }
    }
  }

  // ---------------- delete ----------------

  private podGrace(pod: KObject, opts: DeleteOptions): number {
    if (!pod.spec?.nodeName) return 0;
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return 0;
    const g =
      opts.gracePeriodSeconds ??
      pod.metadata.deletionGracePeriodSeconds ??
      pod.spec?.terminationGracePeriodSeconds ??
      30;
    return Math.max(0, Number(g));
  }

  async delete(
    def: ResourceDef,
    ns: string | undefined,
    name: string,
    opts: DeleteOptions,
    wopts: Pick<WriteOptions, 'dryRun' | 'guard'>,
  ): Promise<KObject> {
    if (def === namespaces && ['default', 'kube-system', 'kube-public'].includes(name)) {
      throw new ApiError(403, 'Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`);
    }
    for (let attempt = 0; ; attempt++) {
      const cur = await this.store.get(def, ns, name);
      wopts.guard?.(cur?.obj);
      if (!cur) throw notFound(def.plural, def.group, name);
      const obj = cur.obj;
      const pre = opts.preconditions;
      checkResourceVersion(pre?.resourceVersion ?? undefined, 'preconditions.resourceVersion');
      if (pre?.uid && pre.uid !== obj.metadata.uid)
        throw conflict(
          def.plural,
          def.group,
          name,
          `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${obj.metadata.uid}`,
        );
      if (pre?.resourceVersion && pre.resourceVersion !== obj.metadata.resourceVersion) {
        throw conflict(
          def.plural,
          def.group,
          name,
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ` +
            `ResourceVersion in object meta: ${obj.metadata.resourceVersion}`,
        );
      }
      if (wopts.dryRun) return obj;
      const grace = def === pods ? this.podGrace(obj, opts) : 0;
      const hasFinalizers = (obj.metadata.finalizers ?? []).length > 0;
      const policy = opts.propagationPolicy ?? (opts.orphanDependents ? 'Orphan' : 'Background');
      try {
        if (def === namespaces) return await this.deleteNamespace(obj, cur.kv.modRevision);
        if (grace > 0 || hasFinalizers) {
          const m = obj.metadata;
          if (m.deletionTimestamp && (m.deletionGracePeriodSeconds ?? 0) <= grace) return obj;
          const next = structuredClone(obj);
          next.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
          next.metadata.deletionGracePeriodSeconds = grace;
          if (grace === 0 && !hasFinalizers) return await this.remove(def, obj, cur.kv.modRevision, policy);
          return await this.store.update(def, next, cur.kv.modRevision);
        }
        return await this.remove(def, obj, cur.kv.modRevision, policy);
      } catch (e) {
        if ((e instanceof ConflictError || e instanceof NotFoundError) && attempt < MAX_RETRIES) continue;
        throw e;
      }
    }
  }

  /** Take the object out of the store, release what it held, and deal with its dependents. */
  private async remove(def: ResourceDef, obj: KObject, rev: number, policy: string): Promise<KObject> {
    const deleted = await this.store.delete(def, obj, rev);
    def.afterDelete?.(deleted, this.strategyContext());
    if (obj.metadata.uid) this.spawn(this.collectDependents(obj, policy));
    return deleted;
  }

  /** Garbage collection of dependents (ownerReferences), as kube-controller-manager's GC would do. */
  private async collectDependents(owner: KObject, policy: string): Promise<void> {
    const uid = owner.metadata.uid!;
    const ns = owner.metadata.namespace;
    for (const def of resources) {
      if (this.stopped) return;
      if (def.namespaced !== Boolean(ns) && ns) continue;
      const { items } = await this.list(def, ns, {});
      for (const dep of items) {
        const refs = dep.metadata.ownerReferences ?? [];
        if (!refs.some((r) => r.uid === uid)) continue;
        try {
          if (policy === 'Orphan' || refs.length > 1) {
            const patch = {
              metadata: {
                ownerReferences: refs.filter((r) => r.uid !== uid),
                resourceVersion: dep.metadata.resourceVersion,
              },
            };
            await this.patch(def, dep.metadata.namespace, dep.metadata.name!, 'merge', patch, {
              fieldValidation: 'Ignore',
              dryRun: false,
              warnings: [],
            });
          } else {
            await this.delete(
              def,
              dep.metadata.namespace,
              dep.metadata.name!,
              { propagationPolicy: 'Background' },
              { dryRun: false },
            );
          }
        } catch (e) {
          if (!(e instanceof ApiError && (e.code === 404 || e.code === 409)))
            this.log.warn({ err: e, dependent: dep.metadata.name }, 'garbage collection failed');
        }
      }
    }
  }

  private async deleteNamespace(ns: KObject, rev: number): Promise<KObject> {
    if (ns.metadata.deletionTimestamp) return ns;
    const next = structuredClone(ns);
    next.metadata.deletionTimestamp = nowIso();
    next.metadata.deletionGracePeriodSeconds = 0;
    next.status = { ...(next.status ?? {}), phase: 'Terminating' };
    const marked = await this.store.update(namespaces, next, rev);
    this.spawn(this.finalizeNamespace(ns.metadata.name!));
    return marked;
  }

  /** Delete everything in a terminating namespace, wait (bounded) until it is empty, then remove it. */
  private async finalizeNamespace(name: string): Promise<void> {
    const deadline = Date.now() + 10 * 60_000;
    while (!this.stopped && Date.now() < deadline) {
      let remaining = 0;
      for (const def of resources.filter((r) => r.namespaced)) {
        const { items } = await this.list(def, name, {});
        remaining += items.length;
        for (const o of items) {
          if (o.metadata.deletionTimestamp) continue;
          try {
            await this.delete(def, name, o.metadata.name!, { propagationPolicy: 'Background' }, { dryRun: false });
          } catch (e) {
            if (!(e instanceof ApiError)) throw e;
          }
        }
      }
      if (remaining === 0) {
        const cur = await this.store.get(namespaces, undefined, name);
        if (cur) await this.store.delete(namespaces, cur.obj, cur.kv.modRevision).catch(() => undefined);
        return;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  private spawn(p: Promise<void>): void {
    const tracked = p
      .catch((e: unknown) => this.log.warn({ err: e }, 'background task failed'))
      .finally(() => this.background.delete(tracked));
    this.background.add(tracked);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.background]);
  }

  // ---------------- subresources ----------------

  toScale(def: ResourceDef, obj: KObject): KObject {
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: obj.metadata.name,
        namespace: obj.metadata.namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
        creationTimestamp: obj.metadata.creationTimestamp,
      },
      spec: { replicas: obj.spec?.replicas ?? def.scale?.defaultReplicas ?? 1 },
      status: { replicas: obj.status?.replicas ?? 0, selector: selectorString(obj.spec?.selector) },
    };
  }

  async updateScale(
    def: ResourceDef,
    ns: string | undefined,
    name: string,
    body: unknown,
    opts: WriteOptions,
  ): Promise<KObject> {
    const parsed = ScaleSchema.safeParse(body);
    if (!parsed.success)
      throw badRequest(
        `Scale in version "v1" cannot be handled as a Scale: ` +
          `${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    const cur = await this.store.get(def, ns, name);
    if (!cur) throw notFound(def.plural, def.group, name);
    const replicas = parsed.data.spec?.replicas;
    if (replicas === undefined)
      throw new ApiError(422, 'Invalid', `Scale.autoscaling "${name}" is invalid: spec.replicas: Required value`);
    const rv = parsed.data.metadata?.resourceVersion;
    if (rv && rv !== String(cur.kv.modRevision)) throw conflict(def.plural, def.group, name);
    const next = structuredClone(cur.obj);
    next.spec = { ...(next.spec ?? {}), replicas };
    delete next.metadata.resourceVersion;
    return this.toScale(def, await this.write(def, next, cur.obj, cur.kv.modRevision, opts, false));
  }

  async patchScale(
    def: ResourceDef,
    ns: string | undefined,
    name: string,
    type: PatchType,
    patch: unknown,
    opts: WriteOptions,
  ): Promise<KObject> {
    for (let attempt = 0; ; attempt++) {
      const scale = this.toScale(def, await this.get(def, ns, name));
      const next = this.applyPatch(def, scale, type, patch, 'io.k8s.api.autoscaling.v1.Scale');
      try {
        return await this.updateScale(def, ns, name, next, opts);
      } catch (e) {
        const precondition = (next as KObject).metadata?.resourceVersion !== scale.metadata.resourceVersion;
        if (e instanceof ApiError && e.reason === 'Conflict' && !precondition && attempt < MAX_RETRIES) continue;
        throw e;
      }
    }
  }

  /** POST pods/NAME/binding: the scheduler's way to set spec.nodeName (once). */
  async bind(ns: string, name: string, body: unknown, opts: WriteOptions): Promise<void> {
    const parsed = BindingSchema.safeParse(body);
    if (!parsed.success)
      throw new ApiError(422, 'Invalid', `Binding "${name}" is invalid: target.name: Required value`, {
        name,
        kind: 'Binding',
        causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'target.name' }],
      });
    const b = parsed.data;
    if (b.target.kind && b.target.kind !== 'Node')
      throw new ApiError(
        422,
        'Invalid',
        `Binding "${name}" is invalid: target.kind: Unsupported value: "${b.target.kind}": supported values: "Node"`,
      );
    for (let attempt = 0; ; attempt++) {
      const cur = await this.store.get(pods, ns, name);
      if (!cur) throw notFound('pods', '', name);
      const pod = cur.obj;
      if (pod.metadata.deletionTimestamp)
        throw conflict('pods', '', name, `pod ${name} is being deleted, cannot be assigned to a host`);
      if (pod.spec?.nodeName)
        throw conflict('pods', '', name, `pod ${name} is already assigned to node "${pod.spec.nodeName}"`);
      if (opts.dryRun) return;
      const next = structuredClone(pod);
      next.spec.nodeName = b.target.name;
      const conds = ((next.status ??= {}).conditions ??= []) as {
        type: string;
        status: string;
        lastTransitionTime?: string;
        lastProbeTime?: null;
      }[];
      const existing = conds.find((c) => c.type === 'PodScheduled');
      if (existing) Object.assign(existing, { status: 'True', lastTransitionTime: nowIso() });
      else conds.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: nowIso() });
      try {
        await this.store.update(pods, next, cur.kv.modRevision);
        return;
      } catch (e) {
        if (e instanceof ConflictError && attempt < MAX_RETRIES) continue;
        throw e;
      }
    }
  }

  // ---------------- start-up ----------------

  /** Rebuild allocations from stored Services; create the system namespaces. */
  async bootstrap(): Promise<void> {
    const { items } = await this.list(services, undefined, {});
    for (const svc of items) {
      const spec = svc.spec ?? {};
      for (const ip of spec.clusterIPs ?? [spec.clusterIP]) this.alloc.markIP(ip);
      for (const p of spec.ports ?? []) this.alloc.markPort(p?.nodePort);
      this.alloc.markPort(spec.healthCheckNodePort);
    }
    for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      try {
        await this.create(
          namespaces,
          undefined,
          { metadata: { name } },
          { fieldValidation: 'Strict', dryRun: false, warnings: [] },
        );
      } catch (e) {
        if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
      }
    }
  }
}
