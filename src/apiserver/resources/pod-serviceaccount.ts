/**
 * The ServiceAccount admission plugin's part for pods (kube-apiserver plugin/pkg/admission/serviceaccount):
 * a pod runs as `default` unless it names a ServiceAccount, and — unless automountServiceAccountToken is false —
 * gets a projected `kube-api-access-XXXXX` volume (a bound token, the cluster CA from the kube-root-ca.crt
 * ConfigMap, the namespace) mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount in every container.
 */
import { randomBytes } from 'node:crypto';
import type { KObject } from '../../api/meta.js';

const SERVICE_ACCOUNT_MOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';
const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
/** what kube-apiserver asks the kubelet to request: 1 h + 7 s, extended to a year for legacy clients */
const TOKEN_SECONDS = 3607;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

function suffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return [...randomBytes(5)].map((b) => alphabet[b % alphabet.length]).join('');
}

export function admitPodServiceAccount(pod: KObject): void {
  const spec = (pod.spec ??= {}) as Json;
  spec.serviceAccountName ||= spec.serviceAccount || 'default';
  spec.serviceAccount = spec.serviceAccountName;
  if (spec.automountServiceAccountToken === false) return;
  const containers: Json[] = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
  if (containers.some((c) => (c.volumeMounts ?? []).some((m: Json) => m?.mountPath === SERVICE_ACCOUNT_MOUNT))) return;
  const name = `kube-api-access-${suffix()}`;
  (spec.volumes ??= []).push({
    name,
    projected: {
      defaultMode: 0o644,
      sources: [
        { serviceAccountToken: { expirationSeconds: TOKEN_SECONDS, path: 'token' } },
        { configMap: { name: ROOT_CA_CONFIGMAP, items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        {
          downwardAPI: {
            items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
          },
        },
      ],
    },
  });
  for (const c of containers) (c.volumeMounts ??= []).push({ name, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT });
}
