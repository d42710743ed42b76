/**
 * The proxy's desired datapath state: what every backend (nftables, userspace) programs. Plain data, built
 * by a pure function from Kubernetes objects (see desired.ts), so it can be unit-tested without a kernel.
 */
export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type IPFamily = 4 | 6;
export type DetectLocalMode = 'ClusterCIDR' | 'NodeCIDR' | 'BridgeInterface' | 'InterfacePrefix';

export interface Endpoint {
  ip: string;
  port: number;
  nodeName?: string;
  /** On this node (drives Local traffic policies and the health-check node port). */
  local: boolean;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

/**
 * What to do with traffic for one (address, port) entry: balance over endpoints, reject at once (the
 * service has no usable endpoint anywhere), or drop (a Local policy and none on this node, as kube-proxy).
 */
export type Disposition = 'balance' | 'reject' | 'drop';

/**
 * One port of one Service in one IP family, with endpoint selection already applied. A dual-stack Service
 * has a state per family and port, as kube-proxy runs one proxier per family: each sees only its family's
 * ClusterIP, EndpointSlices, external and LoadBalancer IPs and source ranges.
 */
export interface ServicePortState {
  family: IPFamily;
  /** "namespace/name" of the Service. */
  service: string;
  /** "namespace/name:portName" (portName may be empty): a stable id for this service port. */
  id: string;
  portName: string;
  protocol: Protocol;
  port: number;
  /** This family's cluster IP(s); empty for headless services (which get no VIP at all). */
  clusterIPs: string[];
  nodePort?: number;
  externalIPs: string[];
  loadBalancerIPs: string[];
  /** loadBalancerSourceRanges of this family as CIDRs; empty means no firewall. */
  sourceRanges: string[];
  /** ClientIP affinity timeout in seconds; 0 means no affinity. */
  affinitySeconds: number;
  externalLocal: boolean;
  internalLocal: boolean;
  /** Endpoints for traffic to the cluster IPs (internalTrafficPolicy applied). */
  clusterEndpoints: Endpoint[];
  clusterDisposition: Disposition;
  /** The serving endpoints cluster-wide, whatever the policies: where traffic from pods and the node to an
   * external destination of a Local service goes (kube-proxy's short-circuit). */
  clusterWideEndpoints: Endpoint[];
  /** Endpoints for NodePort / externalIPs / LoadBalancer traffic (externalTrafficPolicy applied). */
  externalEndpoints: Endpoint[];
  externalDisposition: Disposition;
  /** Addresses of every serving endpoint (ready or terminating), whatever the policies: the UDP conntrack
   * reconciler keeps flows to these and removes the others (kube-proxy's CleanStaleEntries). */
  servingIPs: string[];
  /** Masquerade external traffic (Cluster policy); Local keeps the client's source address. */
  externalMasquerade: boolean;
}

export interface ServiceState {
  key: string;
  ports: ServicePortState[];
  /** Set for externalTrafficPolicy Local services of type LoadBalancer/NodePort that ask for it. */
  healthCheckNodePort?: number;
  /** Endpoints on this node that are ready (what /healthz on the health-check node port reports). */
  localEndpoints: number;
  /** LoadBalancer ingress IPs of every family and whether external traffic policy is Local (for L2
   * announcement: ARP for IPv4, NDP for IPv6). */
  loadBalancerIPs: string[];
  externalLocal: boolean;
}

/** Facts about the node the proxy runs on, and the proxy flags that shape its datapath. */
export interface NodeFacts {
  nodeName: string;
  /** Pod network (--cluster-cidr, comma-separated, one per family): traffic from outside it to a cluster IP
   * is masqueraded. */
  clusterCIDR?: string;
  /** kube-proxy's --detect-local-mode: how traffic from this node's pods is told apart from the rest (which
   * is masqueraded to cluster IPs, and is "external" to a Local Service): by the source in --cluster-cidr
   * (ClusterCIDR, the default), in this node's pod CIDRs (NodeCIDR), by the input interface being the pod
   * bridge (BridgeInterface) or starting with a prefix (InterfacePrefix). */
  detectLocalMode?: DetectLocalMode;
  /** This node's pod CIDRs (Node.spec.podCIDRs, comma-separated): NodeCIDR mode. */
  nodePodCIDR?: string;
  /** --pod-bridge-interface (BridgeInterface mode). */
  podBridgeInterface?: string;
  /** --pod-interface-name-prefix (InterfacePrefix mode). */
  podInterfaceNamePrefix?: string;
  /** The packet-mark bit (0-31) that asks for masquerading (kube-proxy's --masquerade-bit, default 14). */
  masqueradeBit?: number;
  /** Masquerade all traffic to cluster IPs, not only traffic from outside the cluster (--masquerade-all). */
  masqueradeAll?: boolean;
  /** The service CIDRs (--service-cidr, comma-separated, one per family): unallocated addresses in them are
   * dropped. Their families are the families the proxy serves (default IPv4 only). */
  serviceCIDR?: string;
  /** --nodeport-addresses, resolved to this node's addresses (both families); undefined: NodePorts on every
   * local address. */
  nodePortIPs?: string[];
}

/** The whole desired state: one entry per Service that has something to program. */
export type DesiredState = Map<string, ServiceState>;
