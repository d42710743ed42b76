/**
 * Authorization, deny by default, in kube-apiserver's order (--authorization-mode=Node,RBAC):
 * 1. system:masters is allowed everything (kube-apiserver's privileged group);
 * 2. the Node authorizer: a kubelet (system:node:NAME in system:nodes) gets the rules of the system:node
 *    ClusterRole, narrowed to its own Node, its own Lease and the pods bound to it — the object-level checks run
 *    against the stored object through a guard (NodeRestriction's part);
 * 3. RBAC (./rbac.ts);
 * anything else is Forbidden.
 */
import type { KObject } from '../../api/meta.js';
import type { PolicyRule } from '../../api/rbac-v1.js';
import { forbidden, forbiddenPath } from '../errors.js';
import { clusterRoles } from './bootstrap-policy.js';
import { ruleAllows, type Attributes, type RbacAuthorizer } from './rbac.js';
import type { UserInfo } from './tokens.js';

export type { Attributes };
export type Guard = (obj: KObject | undefined) => void;

export function nodeNameOf(user: UserInfo): string | undefined {
  if (!user.groups.includes('system:nodes') || !user.name.startsWith('system:node:')) return undefined;
  return user.name.slice('system:node:'.length) || undefined;
}

const NODE_RULES: PolicyRule[] = clusterRoles.find((r) => r.name === 'system:node')!.rules;
const READ = new Set(['get', 'list', 'watch']);

class Denied extends Error {}

/**
 * The Node authorizer's decision: undefined = no opinion (RBAC decides), or a guard (allowed, subject to the
 * stored object). Throws Denied for what a node may never do even if the role's rules cover it.
 */
function nodeDecision(node: string, a: Attributes): Guard | undefined | 'allow' {
  if (!NODE_RULES.some((r) => ruleAllows(a, r))) return undefined;
  const deny = () => {
    throw new Denied();
  };
  const own = (obj: KObject | undefined) => {
    if (obj && obj.metadata.name !== node) deny();
  };
  const res = a.resource ?? '';
  if (a.group === '' && res === 'nodes') {
    if (READ.has(a.verb) && !a.subresource) return 'allow';
    if (a.name !== undefined && a.name !== node) deny();
    return own;
  }
  if (a.group === 'coordination.k8s.io' && res === 'leases') {
    if (a.namespace !== 'kube-node-lease' || (a.name !== undefined && a.name !== node)) deny();
    return own;
  }
  if (a.group === '' && res === 'pods') {
    if (READ.has(a.verb) && !a.subresource) return 'allow';
    // no mirror pods in skiff: a node creates no pods
    if (a.verb === 'create' && !a.subresource) deny();
    return (obj) => {
      if (obj && obj.spec?.nodeName !== node) deny();
    };
  }
  if (a.group === '' && (res === 'secrets' || res === 'configmaps')) {
    // single objects only (kube's Node authorizer further limits them to those its pods reference)
    if (a.verb !== 'get') deny();
    return 'allow';
  }
  // serviceaccounts/token: the TokenRequest handler checks the bound pod is on this node.
  return 'allow';
}

export class Authorizer {
  constructor(readonly rbac: RbacAuthorizer) {}

  /** Throws Forbidden, or returns a guard the write must pass with the object it is about. */
  authorize(user: UserInfo, a: Attributes): Guard | undefined {
    const d = this.decide(user, a);
    if (d === false) throw this.forbidden(user, a);
    return d === true ? undefined : d;
  }

  /** true, false, or a guard (allowed subject to the stored object). */
  decide(user: UserInfo, a: Attributes): boolean | Guard {
    if (user.groups.includes('system:masters')) return true;
    const node = nodeNameOf(user);
    if (node && a.resourceRequest !== false) {
      try {
        const d = nodeDecision(node, a);
        if (d === 'allow') return true;
        if (d) {
          const guard = d;
          return (obj) => {
            try {
              guard(obj);
            } catch (e) {
              if (e instanceof Denied) throw this.forbidden(user, a);
              throw e;
            }
          };
        }
      } catch (e) {
        if (e instanceof Denied) return false;
        throw e;
      }
    }
    return this.rbac.allows(user, a);
  }

  forbidden(user: UserInfo, a: Attributes) {
    if (a.resourceRequest === false) return forbiddenPath(user.name, a.verb, a.path ?? '');
    const res = a.subresource ? `${a.resource}/${a.subresource}` : (a.resource ?? '');
    return forbidden(user.name, a.verb, res, a.group ?? '', a.namespace, a.name);
  }
}
