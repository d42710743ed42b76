/** Every served kind. A new kind is one ResourceDef plus one line here. */
import '../../api/core-v1.js';
import '../../api/apps-v1.js';
import '../../api/discovery-v1.js';
import '../../api/coordination-v1.js';
import '../../api/networking-v1.js';
import '../../api/gateway-v1.js';
import '../../api/rbac-v1.js';
import '../../api/serviceaccount-v1.js';
import '../../api/events-v1.js';
import { deployments, replicasets } from './apps.js';
import { configmaps, endpoints, namespaces, nodes } from './core.js';
import { endpointslices, leases } from './other.js';
import { events, eventsV1 } from './events.js';
import { gatewayclasses, gateways, httproutes } from './gateway.js';
import { ingressclasses, ingresses } from './networking.js';
import { pods } from './pods.js';
import { secrets } from './secrets.js';
import { clusterrolebindings, clusterroles, rolebindings, roles } from './rbac.js';
import { services } from './services.js';
import { serviceaccounts } from './serviceaccounts.js';
import type { ResourceDef } from './types.js';

export const resources: ResourceDef[] = [
  namespaces,
  nodes,
  pods,
  services,
  endpoints,
  configmaps,
  secrets,
  endpointslices,
  deployments,
  replicasets,
  leases,
  ingresses,
  ingressclasses,
  gatewayclasses,
  gateways,
  httproutes,
  serviceaccounts,
  roles,
  clusterroles,
  rolebindings,
  clusterrolebindings,
  events,
  eventsV1,
];

export function findResource(group: string, version: string, plural: string): ResourceDef | undefined {
  return resources.find((r) => r.group === group && r.version === version && r.plural === plural);
}

export { pods, services, namespaces, nodes, deployments };
export { endpoints } from './core.js';
export type { ResourceDef };
