/**
 * authorization.k8s.io/v1 SelfSubjectAccessReview and SelfSubjectRulesReview: create-only, never stored.
 * `kubectl auth can-i VERB RESOURCE` posts the first and prints its status.allowed; `kubectl auth can-i
 * --list` posts the second.
 */
import { z } from 'zod';
import type { Authorizer } from './auth/authz.js';
import type { UserInfo } from './auth/tokens.js';
import { badRequest } from './errors.js';

/** Create-only kinds served outside the object store, for discovery. */
export interface VirtualResource {
  group: string;
  version: string;
  name: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
}

export const virtualResources: VirtualResource[] = [
  {
    group: 'authorization.k8s.io',
    version: 'v1',
    name: 'selfsubjectaccessreviews',
    kind: 'SelfSubjectAccessReview',
    namespaced: false,
    verbs: ['create'],
  },
  {
    group: 'authorization.k8s.io',
    version: 'v1',
    name: 'selfsubjectrulesreviews',
    kind: 'SelfSubjectRulesReview',
    namespaced: false,
    verbs: ['create'],
  },
];

export function findVirtual(group: string, version: string, name: string): VirtualResource | undefined {
  return virtualResources.find((v) => v.group === group && v.version === version && v.name === name);
}

const ResourceAttributes = z.object({
  namespace: z.string().optional(),
  verb: z.string().optional(),
  group: z.string().optional(),
  version: z.string().optional(),
  resource: z.string().optional(),
  subresource: z.string().optional(),
  name: z.string().optional(),
});
const SsarSchema = z.object({
  spec: z.object({
    resourceAttributes: ResourceAttributes.optional(),
    nonResourceAttributes: z.object({ path: z.string().optional(), verb: z.string().optional() }).optional(),
  }),
});
const SsrrSchema = z.object({ spec: z.object({ namespace: z.string().optional() }) });

function parse<T>(schema: z.ZodType<T>, body: unknown, kind: string): T {
  const r = schema.safeParse(body);
  if (!r.success)
    throw badRequest(
      `${kind} in version "v1" cannot be handled as a ${kind}: ` +
        `${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return r.data;
}

export function selfSubjectAccessReview(authz: Authorizer, user: UserInfo, body: unknown): Record<string, unknown> {
  const { spec } = parse(SsarSchema, body, 'SelfSubjectAccessReview');
  const ra = spec.resourceAttributes;
  const nra = spec.nonResourceAttributes;
  if (!ra && !nra) throw badRequest('spec: Invalid value: resourceAttributes or nonResourceAttributes is required');
  const attrs = ra
    ? {
        verb: ra.verb ?? '',
        group: ra.group ?? '',
        resource: ra.resource ?? '',
        subresource: ra.subresource || undefined,
        namespace: ra.namespace || undefined,
        name: ra.name || undefined,
      }
    : { verb: nra!.verb ?? '', resourceRequest: false, path: nra!.path ?? '' };
  // A guard (allowed subject to the object) answers "yes": kube's Node authorizer also decides on attributes.
  const allowed = authz.decide(user, attrs) !== false;
  return {
    kind: 'SelfSubjectAccessReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec,
    status: allowed ? { allowed: true, reason: 'allowed by RBAC' } : { allowed: false },
  };
}

export function selfSubjectRulesReview(authz: Authorizer, user: UserInfo, body: unknown): Record<string, unknown> {
  const { spec } = parse(SsrrSchema, body, 'SelfSubjectRulesReview');
  const rules = user.groups.includes('system:masters')
    ? [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }]
    : authz.rbac.rulesFor(user, spec.namespace ?? 'default');
  return {
    kind: 'SelfSubjectRulesReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec,
    status: {
      resourceRules: rules
        .filter((r) => r.resources?.length)
        .map((r) => ({
          verbs: r.verbs,
          apiGroups: r.apiGroups ?? [],
          resources: r.resources ?? [],
          ...(r.resourceNames ? { resourceNames: r.resourceNames } : {}),
        })),
      nonResourceRules: rules
        .filter((r) => r.nonResourceURLs?.length)
        .map((r) => ({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs })),
      incomplete: false,
    },
  };
}
