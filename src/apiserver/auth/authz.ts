/**
 * Authorization. system:masters may do anything; every authenticated user may read; skiff:read-only may
 * only read; a kubelet (system:node:NAME in system:nodes) may write its own Node and Lease, and the status
 * of (and delete) pods bound to it — checked against the stored object through a guard.
 */
import type { KObject } from '../../api/meta.js';
import { forbidden } from '../errors.js';
import type { UserInfo } from './tokens.js';

export interface RequestAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export type Guard = (obj: KObject | undefined) => void;

const READ = new Set(['get', 'list', 'watch']);

export function nodeNameOf(user: UserInfo): string | undefined {
  if (!user.groups.includes('system:nodes') || !user.name.startsWith('system:node:')) return undefined;
  return user.name.slice('system:node:'.length) || undefined;
}

/** Throws Forbidden, or returns a guard the write must pass with the object it is about. */
export function authorize(user: UserInfo, a: RequestAttributes): Guard | undefined {
  if (user.groups.includes('system:masters')) return undefined;
  if (READ.has(a.verb)) return undefined;
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const deny = (): never => {
    throw forbidden(user.name, a.verb, res, a.group, a.namespace, a.name);
  };
  if (user.groups.includes('skiff:read-only')) deny();
  const node = nodeNameOf(user);
  if (!node) return undefined;
  if (a.group === '' && a.resource === 'nodes') {
    if (a.name !== undefined && a.name !== node) deny();
    return (obj) => {
      if (obj && obj.metadata.name !== node) deny();
    };
  }
  if (a.group === 'coordination.k8s.io' && a.resource === 'leases' && a.namespace === 'kube-node-lease') {
    if (a.name !== undefined && a.name !== node) deny();
    return (obj) => {
      if (obj && obj.metadata.name !== node) deny();
    };
  }
  if (
    a.group === '' &&
    a.resource === 'pods' &&
    ((a.subresource === 'status' && (a.verb === 'update' || a.verb === 'patch')) ||
      (!a.subresource && a.verb === 'delete'))
  ) {
    return (obj) => {
      if (obj && obj.spec?.nodeName !== node) deny();
    };
  }
  return deny();
}
