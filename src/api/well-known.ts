/**
 * Well-known annotation keys shared by components (kept here so a component does not import another's code).
 */

/** On an EndpointSlice: when the change its content reflects happened (RFC 3339). kube-proxy measures network
 * programming latency from it. */
export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';
