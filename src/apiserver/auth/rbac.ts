/**
 * The RBAC authorizer: rules of the Roles and ClusterRoles that RoleBindings and ClusterRoleBindings grant a
 * user (by name, by group, or as a ServiceAccount), evaluated as kube-apiserver's rbac.RuleAllows does.
 * The four kinds are held in memory, loaded at start and kept current by store watches; `waitFor(revision)`
 * lets a write of a binding take effect before its response leaves.
 */
import type { KObject } from '../../api/meta.js';
import type { PolicyRule, RoleRef, Subject } from '../../api/rbac-v1.js';
import { CompactedError, type Watch } from '../../store/types.js';
import type { Logger } from '../../util/log.js';
import { clusterrolebindings, clusterroles, rolebindings, roles } from '../resources/rbac.js';
import type { ResourceDef } from '../resources/types.js';
import { decode, resourcePrefix, type ObjectStore } from '../storage.js';
import type { UserInfo } from './tokens.js';

export interface Attributes {
  verb: string;
  /** false for a non-resource URL such as /api or /version (default: a resource request) */
  resourceRequest?: boolean;
  group?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  path?: string;
}

const has = (list: string[] | undefined, v: string) => (list ?? []).some((x) => x === '*' || x === v);

/** rbac.RuleAllows */
export function ruleAllows(a: Attributes, r: PolicyRule): boolean {
  if (!has(r.verbs, a.verb)) return false;
  if (a.resourceRequest === false) {
    const path = a.path ?? '';
    return (r.nonResourceURLs ?? []).some(
      (u) => u === '*' || u === path || (u.endsWith('*') && path.startsWith(u.slice(0, -1))),
    );
  }
  if (!has(r.apiGroups, a.group ?? '')) return false;
  const res = a.subresource ? `${a.resource}/${a.subresource}` : (a.resource ?? '');
  const resources = r.resources ?? [];
  const resOk = resources.some((x) => x === '*' || x === res || (a.subresource && x === `*/${a.subresource}`));
  if (!resOk) return false;
  if (!r.resourceNames?.length) return true;
  return a.name !== undefined && r.resourceNames.includes(a.name);
}

/** Does this binding subject name the user? (rbac.appliesToUser) */
function subjectMatches(s: Subject, user: UserInfo, bindingNamespace: string | undefined): boolean {
  switch (s.kind) {
    case 'User':
      return s.name === user.name;
    case 'Group':
      return user.groups.includes(s.name);
    case 'ServiceAccount': {
      const ns = s.namespace || bindingNamespace;
      return user.name === `system:serviceaccount:${ns}:${s.name}`;
    }
    default:
      return false;
  }
}

interface Binding {
  namespace?: string;
  subjects: Subject[];
  roleRef: RoleRef;
}

/** One kind held in memory: list, then watch from the list's revision; relist after a compaction or error. */
class KindCache {
  readonly items = new Map<string, KObject>();
  revision = 0;
  private watch?: Watch;
  private stopped = false;

  constructor(
    private readonly store: ObjectStore,
    private readonly def: ResourceDef,
    private readonly log: Logger,
    private readonly onChange: () => void,
  ) {}

  async start(): Promise<void> {
    await this.relist();
    void this.follow();
  }

  private async relist(): Promise<void> {
    this.items.clear();
    let cont: string | undefined;
    for (let page = 0; page < 100_000; page++) {
      const r = await this.store.list(this.def, undefined, { limit: 500, continue: cont });
      if (page === 0) this.revision = r.revision;
      for (const kv of r.items) this.items.set(kv.key, decode(this.def, kv));
      cont = r.continue;
      if (!cont) break;
    }
    this.onChange();
  }

  private async follow(): Promise<void> {
    while (!this.stopped) {
      try {
        this.watch = this.store.backend.watch(resourcePrefix(this.def), this.revision);
        for await (const ev of this.watch) {
          if (ev.type === 'put') {
            this.items.set(ev.kv.key, decode(this.def, ev.kv));
            this.revision = Math.max(this.revision, ev.kv.modRevision);
          } else if (ev.type === 'delete') {
            this.items.delete(ev.key);
            this.revision = Math.max(this.revision, ev.revision);
          } else {
            this.revision = Math.max(this.revision, ev.revision);
          }
          this.onChange();
        }
      } catch (e) {
        if (this.stopped) return;
        if (!(e instanceof CompactedError)) this.log.warn({ err: e, resource: this.def.plural }, 'rbac watch failed');
        await new Promise((r) => setTimeout(r, 200));
        await this.relist().catch((err: unknown) => this.log.warn({ err }, 'rbac relist failed'));
      }
    }
  }

  stop(): void {
    this.stopped = true;
    this.watch?.close();
  }
}

export class RbacAuthorizer {
  private readonly caches: Record<'roles' | 'clusterroles' | 'rolebindings' | 'clusterrolebindings', KindCache>;
  private waiters: { revision: number; resolve: () => void }[] = [];

  constructor(store: ObjectStore, log: Logger) {
    const changed = () => this.wake();
    this.caches = {
      roles: new KindCache(store, roles, log, changed),
      clusterroles: new KindCache(store, clusterroles, log, changed),
      rolebindings: new KindCache(store, rolebindings, log, changed),
      clusterrolebindings: new KindCache(store, clusterrolebindings, log, changed),
    };
  }

  async start(): Promise<void> {
    for (const c of Object.values(this.caches)) await c.start();
  }

  stop(): void {
    for (const c of Object.values(this.caches)) c.stop();
    this.wake(true);
  }

  private seen(): number {
    return Math.min(...Object.values(this.caches).map((c) => c.revision));
  }

  private wake(all = false): void {
    const at = this.seen();
    this.waiters = this.waiters.filter((w) => {
      if (!all && w.revision > at) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolve once every cache has seen `revision` (bounded: 5 s, then carry on with what it has). */
  waitFor(revision: number): Promise<void> {
    if (this.seen() >= revision) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, 5000);
      this.waiters.push({
        revision,
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
      });
    });
  }

  private rulesOf(ref: RoleRef, bindingNamespace: string | undefined): PolicyRule[] {
    if (ref.kind === 'ClusterRole') {
      const role = this.caches.clusterroles.items.get(`${resourcePrefix(clusterroles)}${ref.name}`);
      return (role?.rules as PolicyRule[] | undefined) ?? [];
    }
    if (ref.kind === 'Role' && bindingNamespace) {
      const role = this.caches.roles.items.get(`${resourcePrefix(roles)}${bindingNamespace}/${ref.name}`);
      return (role?.rules as PolicyRule[] | undefined) ?? [];
    }
    return [];
  }

  private *bindings(namespace: string | undefined): Generator<Binding> {
    for (const b of this.caches.clusterrolebindings.items.values())
      yield { subjects: (b.subjects as Subject[]) ?? [], roleRef: b.roleRef as RoleRef };
    if (!namespace) return;
    const prefix = `${resourcePrefix(rolebindings)}${namespace}/`;
    for (const [key, b] of this.caches.rolebindings.items) {
      if (!key.startsWith(prefix)) continue;
      yield { namespace, subjects: (b.subjects as Subject[]) ?? [], roleRef: b.roleRef as RoleRef };
    }
  }

  /** Allowed when any rule of any role bound to the user allows the request (there are no deny rules). */
  allows(user: UserInfo, a: Attributes): boolean {
    for (const b of this.bindings(a.resourceRequest === false ? undefined : a.namespace)) {
      if (!b.roleRef || !b.subjects.some((s) => subjectMatches(s, user, b.namespace))) continue;
      if (b.namespace && a.resourceRequest === false) continue;
      if (this.rulesOf(b.roleRef, b.namespace).some((r) => ruleAllows(a, r))) return true;
    }
    return false;
  }

  /** Every rule that applies to the user in a namespace (SelfSubjectRulesReview). */
  rulesFor(user: UserInfo, namespace: string): PolicyRule[] {
    const out: PolicyRule[] = [];
    for (const b of this.bindings(namespace)) {
      if (!b.roleRef || !b.subjects.some((s) => subjectMatches(s, user, b.namespace))) continue;
      out.push(...this.rulesOf(b.roleRef, b.namespace));
    }
    return out;
  }
}
