import { createIfAbsent, type AddonObject } from './apply.js';
import { ApiClient } from '../kubelet/api.js';
import { parseCidr } from '../net/cidr.js';
import { addToIp, formatIp } from '../net/ip.js';

/**
 * Cluster DNS as kubeadm deploys CoreDNS: Deployment `kube-system/coredns` (2 replicas of `skiff/dns`,
 * label k8s-app=kube-dns) behind Service `kube-system/kube-dns` on the 10th address of the service CIDR,
 * ports dns (53/UDP) and dns-tcp (53/TCP). Queries thus flow through the service proxy (UDP and TCP) and the CNI like any Service traffic.
 */
const DNS_NAMESPACE = 'kube-system';
export const CLUSTER_DOMAIN = 'cluster.local';
const labels = { 'k8s-app': 'kube-dns' };

/** The 10th address of the service CIDR (10.96.0.10 for 10.96.0.0/12), kubeadm's choice for kube-dns. */
export function clusterDnsIP(serviceCIDR: string): string {
  return formatIp(addToIp(parseCidr(serviceCIDR).network, 10));
}

/** The ServiceAccount the DNS pods run as. */
const DNS_ACCOUNT = 'coredns';

/**
 * The DNS pods run on their ServiceAccount's projected token (the kubelet mounts it; skiff/dns reads it as
 * the in-cluster config). The API server's bootstrap policy binds that account to ClusterRole
 * `system:coredns` (CoreDNS's role, cut to exactly what skiff/dns's informers read: list and watch on
 * services, endpointslices, pods and namespaces), as CoreDNS's manifest does.
 */
function dnsObjects(dnsIP: string): AddonObject[] {
  return [
    {
      path: `/api/v1/namespaces/${DNS_NAMESPACE}/serviceaccounts`,
      body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: DNS_ACCOUNT } },
    },
    {
      path: `/api/v1/namespaces/${DNS_NAMESPACE}/services`,
      body: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'kube-dns', labels: { ...labels, 'kubernetes.io/name': 'CoreDNS' } },
        spec: {
          selector: labels,
          clusterIP: dnsIP,
          ports: [
            { name: 'dns', port: 53, targetPort: 53, protocol: 'UDP' },
            { name: 'dns-tcp', port: 53, targetPort: 53, protocol: 'TCP' },
          ],
        },
      },
    },
    {
      path: `/apis/apps/v1/namespaces/${DNS_NAMESPACE}/deployments`,
      body: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'coredns', labels },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              dnsPolicy: 'Default',
              serviceAccountName: DNS_ACCOUNT,
              containers: [
                {
                  name: 'coredns',
                  image: 'skiff/dns',
                  args: ['--domain', CLUSTER_DOMAIN],
                  ports: [
                    { name: 'dns', containerPort: 53, protocol: 'UDP' },
                    { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
                  ],
                  readinessProbe: { httpGet: { path: '/ready', port: 8181 }, periodSeconds: 2 },
                  livenessProbe: { httpGet: { path: '/health', port: 8080 }, periodSeconds: 10, failureThreshold: 5 },
                },
              ],
            },
          },
        },
      },
    },
  ];
}

export async function applyDns(api: ApiClient, dnsIP: string): Promise<void> {
  await createIfAbsent(api, dnsObjects(dnsIP));
}

/** Ready endpoints of kube-dns (the DNS answers once one replica has synced its caches). */
export async function readyDnsEndpoints(api: ApiClient): Promise<number> {
  const list = await api.request<{ items: { endpoints?: { conditions?: { ready?: boolean } }[] }[] }>(
    'GET',
    `/apis/discovery.k8s.io/v1/namespaces/${DNS_NAMESPACE}/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dkube-dns`,
  );
  return list.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).length;
}
