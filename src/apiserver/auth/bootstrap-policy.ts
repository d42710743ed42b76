/**
 * The default roles and bindings, after Kubernetes' bootstrap policy (plugin/pkg/auth/authorizer/rbac/
 * bootstrappolicy, testdata/cluster-roles.yaml and controller-roles.yaml), limited to the resources skiff
 * serves and the components skiff runs. Aggregation is not implemented, so admin/edit/view carry their
 * aggregated rules directly. Reconciled on every start (src/apiserver/auth/reconcile.ts): missing objects are
 * created, and objects still annotated `rbac.authorization.kubernetes.io/autoupdate: "true"` are kept current.
 *
 * Deviation: kube-controller-manager runs each controller with its own ServiceAccount
 * (--use-service-account-credentials); skiff's controller-manager is one process with one identity, so the
 * controller roles below are bound to the user system:kube-controller-manager.
 */
import type { PolicyRule, RoleRef, Subject } from '../../api/rbac-v1.js';

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'];
const EVENTS: PolicyRule = {
  apiGroups: ['', 'events.k8s.io'],
  resources: ['events'],
  verbs: ['create', 'patch', 'update'],
};

const r = (verbs: string[], apiGroups: string[], resources: string[], resourceNames?: string[]): PolicyRule => ({
  apiGroups,
  resources,
  verbs,
  ...(resourceNames ? { resourceNames } : {}),
});

const viewRules: PolicyRule[] = [
  r(
    READ,
    [''],
    [
      'configmaps',
      'endpoints',
      'persistentvolumeclaims',
      'persistentvolumeclaims/status',
      'pods',
      'replicationcontrollers',
      'replicationcontrollers/scale',
      'serviceaccounts',
      'services',
      'services/status',
    ],
  ),
  r(
    READ,
    [''],
    [
      'bindings',
      'events',
      'limitranges',
      'namespaces/status',
      'pods/log',
      'pods/status',
      'replicationcontrollers/status',
      'resourcequotas',
      'resourcequotas/status',
    ],
  ),
  r(READ, [''], ['namespaces']),
  r(READ, ['discovery.k8s.io'], ['endpointslices']),
  r(
    READ,
    ['apps'],
    [
      'controllerrevisions',
      'daemonsets',
      'daemonsets/status',
      'deployments',
      'deployments/scale',
      'deployments/status',
      'replicasets',
      'replicasets/scale',
      'replicasets/status',
      'statefulsets',
      'statefulsets/scale',
      'statefulsets/status',
    ],
  ),
  r(READ, ['autoscaling'], ['horizontalpodautoscalers', 'horizontalpodautoscalers/status']),
  r(READ, ['batch'], ['cronjobs', 'cronjobs/status', 'jobs', 'jobs/status']),
  r(READ, ['policy'], ['poddisruptionbudgets', 'poddisruptionbudgets/status']),
  r(READ, ['networking.k8s.io'], ['ingresses', 'ingresses/status', 'networkpolicies']),
];

const editRules: PolicyRule[] = [
  r(READ, [''], ['pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy', 'secrets', 'services/proxy']),
  r(['impersonate'], [''], ['serviceaccounts']),
  r(WRITE, [''], ['pods', 'pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy']),
  r(['create'], [''], ['pods/eviction']),
  r(
    WRITE,
    [''],
    [
      'configmaps',
      'events',
      'persistentvolumeclaims',
      'replicationcontrollers',
      'replicationcontrollers/scale',
      'secrets',
      'serviceaccounts',
      'services',
      'services/proxy',
    ],
  ),
  r(['create'], [''], ['serviceaccounts/token']),
  r(
    WRITE,
    ['apps'],
    [
      'daemonsets',
      'deployments',
      'deployments/rollback',
      'deployments/scale',
      'replicasets',
      'replicasets/scale',
      'statefulsets',
      'statefulsets/scale',
    ],
  ),
  r(WRITE, ['autoscaling'], ['horizontalpodautoscalers']),
  r(WRITE, ['batch'], ['cronjobs', 'jobs']),
  r(WRITE, ['policy'], ['poddisruptionbudgets']),
  r(WRITE, ['networking.k8s.io'], ['ingresses', 'networkpolicies']),
  r([...READ, ...WRITE], ['coordination.k8s.io'], ['leases']),
];

const adminRules: PolicyRule[] = [
  r(['create'], ['authorization.k8s.io'], ['localsubjectaccessreviews']),
  r([...READ, ...WRITE], ['rbac.authorization.k8s.io'], ['rolebindings', 'roles']),
];

export interface BootstrapRole {
  name: string;
  rules: PolicyRule[];
  labels?: Record<string, string>;
}
export interface BootstrapBinding {
  name: string;
  roleRef: RoleRef;
  subjects: Subject[];
}

export const clusterRoles: BootstrapRole[] = [
  { name: 'cluster-admin', rules: [r(['*'], ['*'], ['*']), { nonResourceURLs: ['*'], verbs: ['*'] }] },
  { name: 'admin', rules: [...viewRules, ...editRules, ...adminRules] },
  { name: 'edit', rules: [...viewRules, ...editRules] },
  { name: 'view', rules: viewRules },
  {
    name: 'system:basic-user',
    rules: [
      r(['create'], ['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']),
      r(['create'], ['authentication.k8s.io'], ['selfsubjectreviews']),
    ],
  },
  {
    name: 'system:discovery',
    rules: [
      {
        nonResourceURLs: [
          '/api',
          '/api/*',
          '/apis',
          '/apis/*',
          '/healthz',
          '/livez',
          '/openapi',
          '/openapi/*',
          '/readyz',
          '/version',
          '/version/',
        ],
        verbs: ['get'],
      },
    ],
  },
  {
    name: 'system:public-info-viewer',
    rules: [{ nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'], verbs: ['get'] }],
  },
  {
    name: 'system:node-proxier',
    rules: [
      r(['list', 'watch'], [''], ['endpoints', 'services']),
      r(READ, [''], ['nodes']),
      EVENTS,
      r(['list', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
    ],
  },
  {
    // skiff's own: the proxy's L2 announcer membership is a Lease per node (src/proxy/l2announce/membership.ts),
    // where MetalLB's speakers use memberlist. Not part of Kubernetes' system:node-proxier, so a role of its own.
    name: 'skiff:l2-announcer',
    rules: [r(['create', 'delete', 'get', 'list', 'watch', 'update'], ['coordination.k8s.io'], ['leases'])],
  },
  {
    // Granted to every node by the Node authorizer (./authorizer.ts), not through a binding, as in Kubernetes.
    name: 'system:node',
    rules: [
      r(['create'], ['authentication.k8s.io'], ['tokenreviews']),
      r(['create'], ['authorization.k8s.io'], ['localsubjectaccessreviews', 'subjectaccessreviews']),
      r(READ, [''], ['services']),
      r(['create', 'get', 'list', 'watch'], [''], ['nodes']),
      r(['patch', 'update'], [''], ['nodes/status']),
      r(['patch', 'update'], [''], ['nodes']),
      r(['create', 'patch', 'update'], [''], ['events']),
      r(READ, [''], ['pods']),
      r(['create', 'delete'], [''], ['pods']),
      r(['patch', 'update'], [''], ['pods/status']),
      r(['create'], [''], ['pods/eviction']),
      r(READ, [''], ['configmaps', 'secrets']),
      r(['get'], [''], ['persistentvolumeclaims', 'persistentvolumes']),
      r(['get'], [''], ['endpoints']),
      r(['create', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests']),
      r(['create', 'delete', 'get', 'patch', 'update'], ['coordination.k8s.io'], ['leases']),
      r(['create'], [''], ['serviceaccounts/token']),
    ],
  },
  {
    name: 'system:kube-scheduler',
    rules: [
      EVENTS,
      r(['create'], ['coordination.k8s.io'], ['leases']),
      r(['get', 'update'], ['coordination.k8s.io'], ['leases'], ['kube-scheduler']),
      r(READ, [''], ['nodes']),
      r(['delete', 'get', 'list', 'watch'], [''], ['pods']),
      r(['create'], [''], ['bindings', 'pods/binding']),
      r(['patch', 'update'], [''], ['pods/status']),
      r(READ, [''], ['replicationcontrollers', 'services']),
      r(READ, ['apps', 'extensions'], ['replicasets']),
      r(READ, ['apps'], ['statefulsets']),
      r(READ, ['policy'], ['poddisruptionbudgets']),
      r(READ, [''], ['persistentvolumeclaims', 'persistentvolumes']),
      r(['create'], ['authentication.k8s.io'], ['tokenreviews']),
      r(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
      r(READ, [''], ['namespaces']),
    ],
  },
  {
    name: 'system:kube-controller-manager',
    rules: [
      EVENTS,
      r(['create'], ['coordination.k8s.io'], ['leases']),
      r(['get', 'update'], ['coordination.k8s.io'], ['leases'], ['kube-controller-manager']),
      r(['create'], [''], ['secrets', 'serviceaccounts']),
      r(['delete'], [''], ['secrets']),
      r(['get'], [''], ['configmaps', 'namespaces', 'secrets', 'serviceaccounts']),
      r(['update'], [''], ['secrets', 'serviceaccounts']),
      r(['create'], ['authentication.k8s.io'], ['tokenreviews']),
      r(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
      r(['list', 'watch'], ['*'], ['*']),
      r(['create'], [''], ['serviceaccounts/token']),
    ],
  },
  // The controllers skiff's controller-manager runs (controller-roles.yaml).
  {
    name: 'system:controller:deployment-controller',
    rules: [
      r(['get', 'list', 'update', 'watch'], ['apps', 'extensions'], ['deployments']),
      r(['update'], ['apps', 'extensions'], ['deployments/status']),
      r(['update'], ['apps', 'extensions'], ['deployments/finalizers']),
      r(['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], ['apps', 'extensions'], ['replicasets']),
      r(['get', 'list', 'update', 'watch'], [''], ['pods']),
      EVENTS,
    ],
  },
  {
    name: 'system:controller:replicaset-controller',
    rules: [
      r(['get', 'list', 'update', 'watch'], ['apps', 'extensions'], ['replicasets']),
      r(['update'], ['apps', 'extensions'], ['replicasets/status']),
      r(['update'], ['apps', 'extensions'], ['replicasets/finalizers']),
      r(['create', 'delete', 'list', 'patch', 'watch'], [''], ['pods']),
      EVENTS,
    ],
  },
  {
    name: 'system:controller:endpoint-controller',
    rules: [
      r(['list', 'watch'], [''], ['pods', 'services']),
      r(['create', 'delete', 'get', 'list', 'update'], [''], ['endpoints']),
      r(['create'], [''], ['endpoints/restricted']),
      EVENTS,
    ],
  },
  {
    name: 'system:controller:endpointslice-controller',
    rules: [
      r(['list', 'watch'], [''], ['pods', 'services']),
      r(READ, [''], ['nodes']),
      r(['update'], [''], ['services/finalizers']),
      r(['create', 'delete', 'get', 'list', 'update'], ['discovery.k8s.io'], ['endpointslices']),
      EVENTS,
    ],
  },
  {
    name: 'system:controller:service-controller',
    rules: [
      r(READ, [''], ['services']),
      r(['patch', 'update'], [''], ['services/status']),
      r(['list', 'watch'], [''], ['nodes']),
      EVENTS,
    ],
  },
  {
    name: 'system:controller:node-controller',
    rules: [
      r(['delete', 'get', 'list', 'patch', 'update'], [''], ['nodes']),
      r(['patch', 'update'], [''], ['nodes/status']),
      r(['patch', 'update'], [''], ['pods/status']),
      r(['delete', 'list'], [''], ['pods']),
      EVENTS,
    ],
  },
  {
    name: 'system:controller:generic-garbage-collector',
    rules: [r(['delete', 'get', 'list', 'patch', 'update', 'watch'], ['*'], ['*'])],
  },
  {
    name: 'system:controller:namespace-controller',
    rules: [
      r(['delete', 'get', 'list', 'watch'], [''], ['namespaces']),
      r(['update'], [''], ['namespaces/finalize', 'namespaces/status']),
      r(['delete', 'deletecollection', 'get', 'list'], ['*'], ['*']),
    ],
  },
  {
    name: 'system:controller:root-ca-cert-publisher',
    rules: [r(['create', 'update'], [''], ['configmaps']), EVENTS],
  },
  {
    name: 'system:controller:service-account-controller',
    rules: [r(['create'], [''], ['serviceaccounts']), EVENTS],
  },
  {
    // CoreDNS's own ClusterRole (its deployment manifest), for skiff up's cluster DNS (src/lab/dns.ts), cut
    // to exactly what skiff/dns's informers read: no Endpoints (it reads EndpointSlices).
    name: 'system:coredns',
    rules: [
      r(['list', 'watch'], [''], ['services', 'pods', 'namespaces']),
      r(['list', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
    ],
  },
];

const clusterRole = (name: string): RoleRef => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name });
const user = (name: string): Subject => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name });
const group = (name: string): Subject => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name });

const KCM = 'system:kube-controller-manager';

export const clusterRoleBindings: BootstrapBinding[] = [
  { name: 'cluster-admin', roleRef: clusterRole('cluster-admin'), subjects: [group('system:masters')] },
  { name: 'system:basic-user', roleRef: clusterRole('system:basic-user'), subjects: [group('system:authenticated')] },
  { name: 'system:discovery', roleRef: clusterRole('system:discovery'), subjects: [group('system:authenticated')] },
  {
    name: 'system:public-info-viewer',
    roleRef: clusterRole('system:public-info-viewer'),
    subjects: [group('system:authenticated'), group('system:unauthenticated')],
  },
  { name: 'system:node-proxier', roleRef: clusterRole('system:node-proxier'), subjects: [user('system:kube-proxy')] },
  { name: 'skiff:l2-announcer', roleRef: clusterRole('skiff:l2-announcer'), subjects: [user('system:kube-proxy')] },
  {
    name: 'system:kube-scheduler',
    roleRef: clusterRole('system:kube-scheduler'),
    subjects: [user('system:kube-scheduler')],
  },
  { name: KCM, roleRef: clusterRole(KCM), subjects: [user(KCM)] },
  ...clusterRoles
    .filter((c) => c.name.startsWith('system:controller:'))
    .map((c) => ({ name: c.name, roleRef: clusterRole(c.name), subjects: [user(KCM)] })),
  {
    name: 'system:coredns',
    roleRef: clusterRole('system:coredns'),
    subjects: [{ kind: 'ServiceAccount', name: 'coredns', namespace: 'kube-system' }],
  },
];
