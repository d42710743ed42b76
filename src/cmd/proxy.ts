import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { Command, InvalidArgumentError } from 'commander';
import { Informer } from '../client/informer.js';
import { loadKubeConfig } from '../client/kubeconfig.js';
import { ipFamilyOf, isIp } from '../net/ip.js';
import { parseFamilyCidrs } from '../proxy/model/families.js';
import { backendNames } from '../proxy/backend.js';
import { parseNodePortAddresses, type NodePortAddresses } from '../proxy/nodeports.js';
import { LeaseMembership } from '../proxy/l2announce/membership.js';
import { ProxyServer } from '../proxy/server.js';
import type { DetectLocalMode } from '../proxy/model/types.js';
import { createLogger } from '../util/log.js';
import { UserError } from '../util/errors.js';
import { parseArgs } from './parse.js';

/** "IP" or "IPv4,IPv6" (one per family, primary first), as kube-proxy's dual-stack node IPs. */
function nodeIPs(v: string): string[] {
  const ips = v.split(',').map((s) => s.trim());
  if (ips.length > 2 || !ips.every(isIp) || new Set(ips.map(ipFamilyOf)).size !== ips.length)
    throw new InvalidArgumentError(`"${v}" is not an IP address or an IPv4,IPv6 pair`);
  return ips;
}

/** One CIDR or one per family, comma-separated (kube-proxy's --cluster-cidr). */
function cidrs(v: string): string {
  try {
    return parseFamilyCidrs(v).join(',');
  } catch (err) {
    throw new InvalidArgumentError(`"${v}": ${err instanceof Error ? err.message : String(err)}`);
  }
}

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`"${v}" is not a port (0 disables)`);
  return n;
}

function seconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`"${v}" is not a number of seconds`);
  return n;
}

function bit(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 31) throw new InvalidArgumentError(`"${v}" is not a bit number (0-31)`);
  return n;
}

function nodePortAddresses(v: string): NodePortAddresses {
  try {
    return parseNodePortAddresses(v);
  } catch (err) {
    throw new InvalidArgumentError(`"${v}" is not "primary" or a list of CIDRs (${String(err)})`);
  }
}

const DETECT_LOCAL_MODES: readonly DetectLocalMode[] = [
  'ClusterCIDR',
  'NodeCIDR',
  'BridgeInterface',
  'InterfacePrefix',
];

function detectLocalMode(v: string): DetectLocalMode {
  const m = DETECT_LOCAL_MODES.find((x) => x === v);
  if (!m) throw new InvalidArgumentError(`"${v}" is not one of ${DETECT_LOCAL_MODES.join(', ')}`);
  return m;
}

function ifaceName(v: string): string {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(v)) throw new InvalidArgumentError(`"${v}" is not an interface name`);
  return v;
}

function mode(v: string): string {
  if (!backendNames().includes(v))
    throw new InvalidArgumentError(`"${v}" is not a mode (${backendNames().join(', ')})`);
  return v;
}

function nodeReady(n: V1Node): boolean {
  return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** The Node's InternalIPs, primary first (one per family). */
function internalIPs(n: V1Node | undefined): string[] {
  return (n?.status?.addresses ?? []).filter((a) => a.type === 'InternalIP' && isIp(a.address)).map((a) => a.address);
}

export async function main(argv: string[]): Promise<void> {
  const cmd = new Command('skiff proxy')
    .description("program Services into this node's datapath; run inside the node's network namespace")
    .requiredOption('--kubeconfig <file>', 'kubeconfig for the API server')
    .requiredOption('--node-name <name>', "this Node's name (local endpoints, LoadBalancer IP ownership)")
    .option('--mode <mode>', `proxy mode: ${backendNames().join(' | ')}`, mode, 'nftables')
    .option('--metrics-port <port>', '/metrics and /healthz port (0 disables)', port, 10249)
    .option('--healthz-port <port>', "kube-proxy's /healthz and /livez port (0 disables)", port, 10256)
    .option(
      '--cluster-cidr <cidrs>',
      'pod network, one CIDR per family; other sources to cluster IPs are masqueraded',
      cidrs,
      '10.244.0.0/16',
    )
    .option(
      '--node-ip <ips>',
      'underlay address(es), one per family, primary first: where LoadBalancer IPs are announced and primary ' +
        "NodePorts answer (default: the Node's InternalIPs)",
      nodeIPs,
    )
    .option(
      '--detect-local-mode <mode>',
      'how pod traffic is told apart: ClusterCIDR | NodeCIDR | BridgeInterface | InterfacePrefix',
      detectLocalMode,
      'ClusterCIDR',
    )
    .option('--pod-bridge-interface <name>', 'the pod bridge (BridgeInterface mode)', ifaceName)
    .option('--pod-interface-name-prefix <prefix>', "pods' interface name prefix (InterfacePrefix mode)", ifaceName)
    .option('--masquerade-bit <n>', 'packet-mark bit (0-31) that asks for masquerading, as kube-proxy', bit, 14)
    .option('--masquerade-all', 'masquerade all traffic to cluster IPs, not only from outside the cluster', false)
    .option(
      '--nodeport-addresses <primary|cidrs>',
      'addresses NodePorts answer on: primary (the node IP) or comma-separated CIDRs',
      nodePortAddresses,
      'primary',
    )
    .option(
      '--service-cidr <cidrs>',
      'service CIDRs, one per family: the families served; unallocated addresses in them are dropped',
      cidrs,
      '10.96.0.0/12',
    )
    .option('--min-sync-period <s>', 'minimum seconds between syncs (changes coalesce)', seconds, 1)
    .option('--sync-period <s>', 'seconds between full resyncs that repair drift', seconds, 30)
    .option('--cleanup', 'remove everything this mode installed, then exit', false);
  if (!parseArgs(cmd, argv)) return;
  const o = cmd.opts<{
    kubeconfig: string;
    nodeName: string;
    mode: string;
    metricsPort: number;
    healthzPort: number;
    clusterCidr: string;
    nodeIp?: string[];
    minSyncPeriod: number;
    syncPeriod: number;
    masqueradeBit: number;
    masqueradeAll: boolean;
    detectLocalMode: DetectLocalMode;
    podBridgeInterface?: string;
    podInterfaceNamePrefix?: string;
    nodeportAddresses: NodePortAddresses;
    serviceCidr: string;
    cleanup: boolean;
  }>();
  const log = createLogger('proxy', { node: o.nodeName, mode: o.mode });
  if (o.syncPeriod <= 0) throw new UserError('--sync-period must be greater than 0');
  const kc = o.cleanup ? undefined : loadKubeConfig(o.kubeconfig);
  // As kube-proxy's validation: the interface modes need their interface.
  if (o.detectLocalMode === 'BridgeInterface' && !o.podBridgeInterface)
    throw new UserError('--detect-local-mode BridgeInterface needs --pod-bridge-interface');
  if (o.detectLocalMode === 'InterfacePrefix' && !o.podInterfaceNamePrefix)
    throw new UserError('--detect-local-mode InterfacePrefix needs --pod-interface-name-prefix');
  const server = await ProxyServer.create({
    mode: o.mode,
    node: {
      nodeName: o.nodeName,
      clusterCIDR: o.clusterCidr,
      masqueradeBit: o.masqueradeBit,
      masqueradeAll: o.masqueradeAll,
      detectLocalMode: o.detectLocalMode,
      podBridgeInterface: o.podBridgeInterface,
      podInterfaceNamePrefix: o.podInterfaceNamePrefix,
      serviceCIDR: o.serviceCidr,
    },
    nodePortAddresses: o.nodeportAddresses,
    nodeIP: o.nodeIp?.[0],
    nodeIPs: o.nodeIp,
    metricsPort: o.cleanup ? 0 : o.metricsPort,
    healthzPort: o.cleanup ? 0 : o.healthzPort,
    minSyncIntervalMs: o.minSyncPeriod * 1000,
    fullSyncIntervalMs: o.syncPeriod * 1000,
    log,
    membership: kc ? new LeaseMembership(kc, o.nodeName, log) : undefined,
  });
  if (o.cleanup) {
    await server.stop(true);
    log.info('cleaned up');
    return;
  }
  if (!kc) return;
  const services = new Informer<V1Service>(kc, { path: '/api/v1/services', log });
  const slices = new Informer<V1EndpointSlice>(kc, { path: '/apis/discovery.k8s.io/v1/endpointslices', log });
  const nodes = new Informer<V1Node>(kc, { path: '/api/v1/nodes', log });
  const t = server.tracker;
  services.on((type, obj) => {
    if (type === 'delete') t.deleteService(obj);
    else t.updateService(obj);
    server.changed();
  });
  slices.on((type, obj) => {
    if (type === 'delete') t.deleteSlice(obj);
    else t.updateSlice(obj);
    server.changed();
  });
  const onNodes = (): void => {
    const all = nodes.list();
    server.setReadyNodes(
      all
        .filter(nodeReady)
        .map((n) => n.metadata?.name ?? '')
        .filter(Boolean),
    );
    const self = nodes.get(o.nodeName);
    // NodeCIDR mode: this node's pod CIDRs, known before the first sync (onNodes runs before start()).
    const podCIDRs = self?.spec?.podCIDRs ?? (self?.spec?.podCIDR ? [self.spec.podCIDR] : []);
    if (podCIDRs.length) server.setNodePodCIDRs(podCIDRs);
    const ips = internalIPs(self);
    if (!o.nodeIp && ips[0]) server.setNodeIP(ips[0], ips);
  };
  nodes.on(onNodes);
  services.start();
  slices.start();
  nodes.start();
  // As kube-proxy: no sync before the caches are complete, or the first sync would delete live services.
  await Promise.all([services.synced, slices.synced, nodes.synced]);
  onNodes();
  server.start();
  log.info({ services: t.serviceKeys().length }, 'caches synced; proxy running');
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  services.stop();
  slices.stop();
  nodes.stop();
  // Like kube-proxy, leave the datapath in place on exit: Services keep working across a restart.
  await server.stop(false);
  log.info('stopped');
  // Everything this process opened is closed; should a socket or timer still hold the event loop, do not
  // linger (a supervisor waits for the exit before starting the next proxy).
  setTimeout(() => process.exit(0), 2000).unref();
}
