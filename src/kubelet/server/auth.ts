import type { TLSSocket } from 'node:tls';
import { KUBELET_CLIENT_CN } from '../../api/well-known.js';

/**
 * Who may use the kubelet API. Authentication: a client certificate signed by the cluster CA (the server
 * asks for one and verifies it against --client-ca-file). Authorization: kubelet's own rule rather than a
 * SubjectAccessReview webhook: the API server's kubelet-client identity (CN kube-apiserver-kubelet-client)
 * or any member of system:masters. Every user request reaches the kubelet through the API server, which has
 * already checked RBAC on the subresource verb (create pods/exec, get pods/log, get nodes/proxy, ...); a
 * second round trip per request would decide the same thing, and skiff's kubelet identities (system:node:*)
 * cannot create SubjectAccessReviews anyway. /healthz needs no credentials (kubelet's healthz port).
 */
export type Decision = { allowed: true; user: string } | { allowed: false; code: 401 | 403; message: string };

export function authorizeKubeletRequest(socket: TLSSocket, path: string): Decision {
  if (path === '/healthz') return { allowed: true, user: 'system:anonymous' };
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.subject) return { allowed: false, code: 401, message: 'Unauthorized' };
  if (!socket.authorized)
    return {
      allowed: false,
      code: 401,
      message: `Unauthorized: ${String(socket.authorizationError ?? 'bad certificate')}`,
    };
  const cn = cert.subject.CN;
  const o = cert.subject.O;
  const orgs = Array.isArray(o) ? o : o ? [o] : [];
  if (cn === KUBELET_CLIENT_CN || orgs.includes('system:masters')) return { allowed: true, user: String(cn) };
  return {
    allowed: false,
    code: 403,
    message: `Forbidden (user=${String(cn)}, only the API server's kubelet client and system:masters may use the kubelet API)`,
  };
}
