/** rbac.authorization.k8s.io/v1 Role, ClusterRole, RoleBinding, ClusterRoleBinding. */
import { anyObj, defineType, list, ref, str, strList } from './schema.js';
import { T_LIST_META, T_OBJECT_META } from './meta.js';

const R = 'io.k8s.api.rbac.v1';
const GROUP = 'rbac.authorization.k8s.io';
export const T = {
  Role: `${R}.Role`,
  ClusterRole: `${R}.ClusterRole`,
  RoleBinding: `${R}.RoleBinding`,
  ClusterRoleBinding: `${R}.ClusterRoleBinding`,
} as const;

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}
export interface Subject {
  kind: string;
  name: string;
  namespace?: string;
  apiGroup?: string;
}
export interface RoleRef {
  apiGroup: string;
  kind: string;
  name: string;
}

defineType({
  name: `${R}.PolicyRule`,
  desc:
    'PolicyRule holds information that describes a policy rule, ' +
    'but does not contain information about who the rule applies to or which namespace the rule ' +
    'applies to.',
  props: {
    verbs: strList(
      "Verbs is a list of Verbs that apply to ALL the ResourceKinds contained in this rule. '*' represents all verbs.",
    ),
    apiGroups: strList('APIGroups is the name of the APIGroup that contains the resources.'),
    resources: strList("Resources is a list of resources this rule applies to. '*' represents all resources."),
    resourceNames: strList('ResourceNames is an optional white list of names that the rule applies to.'),
    nonResourceURLs: strList('NonResourceURLs is a set of partial urls that a user should have access to.'),
  },
  required: ['verbs'],
});
defineType({
  name: `${R}.Subject`,
  desc: 'Subject contains a reference to the object or user identities a role binding applies to.',
  props: {
    kind: str(
      'Kind of object being referenced. Values defined by this API group are "User", "Group", and "ServiceAccount".',
    ),
    name: str('Name of the object being referenced.'),
    namespace: str('Namespace of the referenced object.'),
    apiGroup: str('APIGroup holds the API group of the referenced subject.'),
  },
  required: ['kind', 'name'],
});
defineType({
  name: `${R}.RoleRef`,
  desc: 'RoleRef contains information that points to the role being used',
  props: {
    apiGroup: str('APIGroup is the group for the resource being referenced'),
    kind: str('Kind is the type of resource being referenced'),
    name: str('Name is the name of resource being referenced'),
  },
  required: ['apiGroup', 'kind', 'name'],
});

const rules = list(ref(`${R}.PolicyRule`), 'Rules holds all the PolicyRules for this Role', { listType: 'atomic' });
const subjects = list(ref(`${R}.Subject`), 'Subjects holds references to the objects the role applies to.', {
  listType: 'atomic',
});
const meta = ref(T_OBJECT_META, "Standard object's metadata.");

for (const [kind, desc, extra] of [
  [
    'Role',
    'Role is a namespaced, logical grouping of PolicyRules that can be referenced as a unit by a RoleBinding.',
    { rules },
  ],
  [
    'ClusterRole',
    'ClusterRole is a cluster level, logical grouping of PolicyRules that can be referenced as ' +
      'a unit by a RoleBinding or ClusterRoleBinding.',
    {
      rules,
      aggregationRule: anyObj(
        'AggregationRule is an optional field that describes how to build the Rules for this ClusterRole.',
      ),
    },
  ],
  [
    'RoleBinding',
    'RoleBinding references a role, but does not contain it. It adds who information via ' +
      'Subjects and namespace information by which namespace it exists in.',
    {
      subjects,
      roleRef: ref(
        `${R}.RoleRef`,
        'RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.',
      ),
    },
  ],
  [
    'ClusterRoleBinding',
    'ClusterRoleBinding references a ClusterRole, ' +
      'but not contain it. It can reference a ClusterRole in the global namespace, ' +
      'and adds who information via Subject.',
    { subjects, roleRef: ref(`${R}.RoleRef`, 'RoleRef can only reference a ClusterRole in the global namespace.') },
  ],
] as const) {
  defineType({
    name: `${R}.${kind}`,
    desc,
    gvk: [{ group: GROUP, version: 'v1', kind }],
    props: { apiVersion: str(), kind: str(), metadata: meta, ...extra },
    required: kind.endsWith('Binding') ? ['roleRef'] : undefined,
  });
  defineType({
    name: `${R}.${kind}List`,
    desc: `${kind}List is a collection of ${kind}s`,
    gvk: [{ group: GROUP, version: 'v1', kind: `${kind}List` }],
    props: {
      apiVersion: str(),
      kind: str(),
      metadata: ref(T_LIST_META, "Standard object's metadata."),
      items: list(ref(`${R}.${kind}`), `Items is a list of ${kind}s`),
    },
    required: ['items'],
  });
}
