/**
 * The ingress add-on `skiff up` deploys, shaped like ingress-nginx's: namespace skiff-ingress, a
 * ServiceAccount with a ClusterRole of exactly what the controller reads and the statuses it writes, a
 * Deployment of `skiff/ingress` behind a LoadBalancer Service, the default IngressClass `skiff` and the
 * GatewayClass `skiff`. Objects are created once; re-running `skiff up` leaves existing ones alone.
 */
import { createIfAbsent, type AddonObject } from '../apply.js';
import { ApiClient } from '../../kubelet/api.js';
import { DEFAULT_GATEWAY_CONTROLLER, DEFAULT_INGRESS_CONTROLLER } from '../../ingress/main.js';

export const INGRESS_NS = 'skiff-ingress';
export const INGRESS_NAME = 'skiff-ingress';
const labels = { 'app.kubernetes.io/name': INGRESS_NAME, 'app.kubernetes.io/component': 'controller' };

type Obj = AddonObject;

function ingressAddonObjects(replicas = 1): Obj[] {
  const read = ['get', 'list', 'watch'];
  return [
    {
      path: '/api/v1/namespaces',
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: INGRESS_NS } },
    },
    {
      path: `/api/v1/namespaces/${INGRESS_NS}/serviceaccounts`,
      body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: INGRESS_NAME, labels } },
    },
    {
      path: '/apis/rbac.authorization.k8s.io/v1/clusterroles',
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: INGRESS_NAME, labels },
        rules: [
          { apiGroups: [''], resources: ['services', 'namespaces', 'secrets'], verbs: read },
          { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: read },
          { apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'ingressclasses'], verbs: read },
          { apiGroups: ['networking.k8s.io'], resources: ['ingresses/status'], verbs: ['update', 'patch'] },
          {
            apiGroups: ['gateway.networking.k8s.io'],
            resources: ['gatewayclasses', 'gateways', 'httproutes'],
            verbs: read,
          },
          {
            apiGroups: ['gateway.networking.k8s.io'],
            resources: ['gatewayclasses/status', 'gateways/status', 'httproutes/status'],
            verbs: ['update', 'patch'],
          },
        ],
      },
    },
    {
      path: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: INGRESS_NAME, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: INGRESS_NAME },
        subjects: [{ kind: 'ServiceAccount', name: INGRESS_NAME, namespace: INGRESS_NS }],
      },
    },
    {
      path: `/apis/apps/v1/namespaces/${INGRESS_NS}/deployments`,
      body: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: INGRESS_NAME, labels },
        spec: {
          replicas,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: INGRESS_NAME,
              containers: [
                {
                  name: 'controller',
                  image: 'skiff/ingress',
                  args: ['--publish-service', `${INGRESS_NS}/${INGRESS_NAME}`],
                  ports: [
                    { name: 'http', containerPort: 80 },
                    { name: 'https', containerPort: 443 },
                    { name: 'healthz', containerPort: 10254 },
                  ],
                  readinessProbe: { httpGet: { path: '/healthz', port: 10254 }, periodSeconds: 2 },
                },
              ],
            },
          },
        },
      },
    },
    {
      path: `/api/v1/namespaces/${INGRESS_NS}/services`,
      body: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: INGRESS_NAME, labels },
        spec: {
          type: 'LoadBalancer',
          selector: labels,
          ports: [
            { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' },
            { name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' },
          ],
        },
      },
    },
    {
      path: '/apis/networking.k8s.io/v1/ingressclasses',
      body: {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'IngressClass',
        metadata: { name: 'skiff', labels, annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
        spec: { controller: DEFAULT_INGRESS_CONTROLLER },
      },
    },
    {
      path: '/apis/gateway.networking.k8s.io/v1/gatewayclasses',
      body: {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'GatewayClass',
        metadata: { name: 'skiff', labels },
        spec: { controllerName: DEFAULT_GATEWAY_CONTROLLER, description: "skiff's built-in HTTP(S) gateway" },
      },
    },
  ];
}

/** Create what is missing (409 AlreadyExists is fine: a resumed lab keeps its objects). */
export async function applyIngressAddon(api: ApiClient): Promise<void> {
  await createIfAbsent(api, ingressAddonObjects());
}

/** Ready endpoints of the controller's Service (a replica is ready once its caches synced). */
export async function readyIngressEndpoints(api: ApiClient): Promise<number> {
  const list = await api.request<{ items: { endpoints?: { conditions?: { ready?: boolean } }[] | null }[] }>(
    'GET',
    `/apis/discovery.k8s.io/v1/namespaces/${INGRESS_NS}/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3D${INGRESS_NAME}`,
  );
  return list.items.reduce((n, s) => n + (s.endpoints ?? []).filter((e) => e.conditions?.ready).length, 0);
}
