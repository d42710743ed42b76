/**
 * Bootstrap policy on every start, as kube-apiserver's storage_rbac post-start hook does: create the default
 * ClusterRoles and ClusterRoleBindings that are missing; bring back to the default those still annotated
 * `rbac.authorization.kubernetes.io/autoupdate: "true"` (an operator who sets it to "false" keeps their edits).
 */
import type { KObject } from '../../api/meta.js';
import { ApiError } from '../errors.js';
import { clusterrolebindings, clusterroles } from '../resources/rbac.js';
import type { ResourceDef } from '../resources/types.js';
import type { Registry } from '../rest.js';
import { clusterRoleBindings, clusterRoles } from './bootstrap-policy.js';

const AUTOUPDATE = 'rbac.authorization.kubernetes.io/autoupdate';
const meta = (name: string) => ({
  name,
  labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' },
  annotations: { [AUTOUPDATE]: 'true' },
});

async function ensure(reg: Registry, def: ResourceDef, desired: KObject, fields: string[]): Promise<void> {
  const opts = { fieldValidation: 'Strict' as const, dryRun: false, warnings: [] };
  const name = desired.metadata.name!;
  let cur: KObject | undefined;
  try {
    cur = await reg.get(def, undefined, name);
  } catch (e) {
    if (!(e instanceof ApiError && e.code === 404)) throw e;
  }
  if (!cur) {
    await reg.create(def, undefined, desired, opts);
    return;
  }
  if (cur.metadata.annotations?.[AUTOUPDATE] !== 'true') return;
  if (fields.every((f) => JSON.stringify(cur[f]) === JSON.stringify(desired[f]))) return;
  const next = structuredClone(cur);
  for (const f of fields) next[f] = desired[f];
  await reg.update(def, undefined, name, next, opts);
}

export async function reconcileBootstrapPolicy(reg: Registry): Promise<void> {
  for (const r of clusterRoles) await ensure(reg, clusterroles, { metadata: meta(r.name), rules: r.rules }, ['rules']);
  for (const b of clusterRoleBindings)
    await ensure(reg, clusterrolebindings, { metadata: meta(b.name), roleRef: b.roleRef, subjects: b.subjects }, [
      'subjects',
    ]);
}
