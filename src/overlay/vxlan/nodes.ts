/**
 * Pure mapping from Kubernetes Node objects to overlay peers. The VTEP data lives in two annotations the
 * agent of each node writes on its own Node (flannel keeps the same data in its
 * flannel.alpha.coreos.com/* annotations).
 */
import type { Peer } from './peers.js';

const VTEP_MAC_ANNOTATION = 'skiff.io/vtep-mac';
const PUBLIC_IP_ANNOTATION = 'skiff.io/public-ip';

/** The subset of a v1 Node this module reads (structural, so tests need no client library). */
export interface NodeLike {
  metadata?: { name?: string; annotations?: Record<string, string> | undefined };
  spec?: { podCIDR?: string; podCIDRs?: string[] };
  status?: { addresses?: { type: string; address: string }[] };
}

/**
 * podCIDR from spec.podCIDR (or the first IPv4 entry of podCIDRs); public IP from the annotation, else the
 * InternalIP (the kubelet registers the underlay IP there); MAC only from the annotation.
 */
export function peerFromNode(node: NodeLike): Peer | undefined {
  const name = node.metadata?.name;
  if (!name) return undefined;
  const ann = node.metadata?.annotations ?? {};
  const podCIDR = node.spec?.podCIDR ?? node.spec?.podCIDRs?.find((c) => !c.includes(':'));
  const internal = node.status?.addresses?.find((a) => a.type === 'InternalIP' && !a.address.includes(':'))?.address;
  const publicIP = ann[PUBLIC_IP_ANNOTATION] ?? internal;
  const vtepMAC = ann[VTEP_MAC_ANNOTATION];
  return {
    name,
    ...(podCIDR ? { podCIDR } : {}),
    ...(publicIP ? { publicIP } : {}),
    ...(vtepMAC ? { vtepMAC } : {}),
  };
}

/** Stable text of a peer, to tell a relevant Node change (CIDR, IP, MAC) from a heartbeat. */
export function peerKey(p: Peer | undefined): string {
  return p ? `${p.name}|${p.podCIDR ?? ''}|${p.publicIP ?? ''}|${(p.vtepMAC ?? '').toLowerCase()}` : '';
}

/** The merge patch that publishes this node's VTEP (application/merge-patch+json). */
export function vtepAnnotationPatch(
  vtepMAC: string,
  publicIP: string,
): { metadata: { annotations: Record<string, string> } } {
  return { metadata: { annotations: { [VTEP_MAC_ANNOTATION]: vtepMAC, [PUBLIC_IP_ANNOTATION]: publicIP } } };
}
