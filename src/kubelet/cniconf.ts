/**
 * Pure: the CNI network configuration a node needs once it knows its podCIDR. The kubelet writes it into
 * --cni-conf-dir (atomically) before it reports Ready, as a network plugin's daemon would.
 *  - bridge: bridge `cni0` + host-local over the node's podCIDR (IPAM files under the kubelet's root dir,
 *    so nodes sharing one machine never share IPAM state). No masquerade: pods on different nodes see
 *    each other's real IPs; cross-node reachability comes from per-node routes (see routes.ts). Then
 *    bandwidth, which shapes the pods that carry the kubernetes.io/{ingress,egress}-bandwidth annotations
 *    (the kubelet passes them as its `bandwidth` capability, cnibandwidth.ts) and passes the others through.
 *  - vxlan: the overlay plugin, which reads the node's subnet and peers itself.
 */
import { parseCidr } from '../net/cidr.js';

export interface ConfInput {
  mode: 'bridge' | 'vxlan';
  podCIDR: string;
  /** dual stack: one pod CIDR per family (host-local gets one range set each, as the reference plugin takes them) */
  podCIDRs?: string[];
  clusterCIDR: string;
  ipamDir: string;
  /** vxlan: the subnet file the vxlan agent writes for this node, and a per-node plugin cache dir */
  subnetFile?: string;
  cacheDir?: string;
  mtu?: number;
  /** 1.1.0 lets plugins GC with the valid attachments; the reference plugins (v1.1.1) stop at 1.0.0 */
  cniVersion?: string;
}

export const CONF_FILE = '10-skiff.conflist';

export function renderConflist(i: ConfInput): Record<string, unknown> {
  const cidrs = i.podCIDRs?.length ? i.podCIDRs : [i.podCIDR];
  const ipam = {
    type: 'host-local',
    ranges: cidrs.map((subnet) => [{ subnet }]),
    routes: cidrs.map((c) => ({ dst: parseCidr(c).family === 6 ? '::/0' : '0.0.0.0/0' })),
    dataDir: i.ipamDir,
  };
  if (i.mode === 'bridge') {
    return {
      cniVersion: i.cniVersion ?? '1.0.0',
      name: 'skiff',
      plugins: [
        { type: 'bridge', bridge: 'cni0', isGateway: true, ipMasq: false, hairpinMode: true, mtu: i.mtu ?? 1500, ipam },
        { type: 'bandwidth', capabilities: { bandwidth: true } },
      ],
    };
  }
  return {
    cniVersion: i.cniVersion ?? '1.0.0',
    name: 'skiff',
    plugins: [
      {
        type: 'vxlan',
        bridge: 'cni0',
        ...(i.subnetFile ? { subnetFile: i.subnetFile } : {}),
        ...(i.cacheDir ? { cacheDir: i.cacheDir } : {}),
        delegate: { ipam: { dataDir: i.ipamDir } },
      },
    ],
  };
}
