/**
 * Well-known annotation keys shared by components (kept here so a component does not import another's code).
 */

/** On an EndpointSlice: when the change its content reflects happened (RFC 3339). kube-proxy measures network
 * programming latency from it. */
export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';

/** The identity (certificate CN, in O=system:masters) the API server presents to kubelets, as kubeadm's
 *  apiserver-kubelet-client certificate. */
export const KUBELET_CLIENT_CN = 'kube-apiserver-kubelet-client';

/** The kubelet API port (status.daemonEndpoints.kubeletEndpoint.Port). */
export const KUBELET_PORT = 10250;
