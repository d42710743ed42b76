import { existsSync, readdirSync } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { ipFamilyOf, isIp, normalizeIp } from '../net/ip.js';
import { currentNetnsName } from '../os/netns.js';
import { createLogger } from '../util/log.js';
import { UserError } from '../util/errors.js';
import { Kubelet, type KubeletOptions } from '../kubelet/kubelet.js';
import { parseArgs } from './parse.js';

/** kubelet's --node-ip: one address, or two of different families for dual stack ("198.18.0.11,fd00::11"). */
function nodeIps(v: string): string[] {
  const ips = v.split(',').map((s) => s.trim());
  if (ips.length > 2 || ips.some((ip) => !isIp(ip)) || (ips.length === 2 && ipFamilyOf(ips[0]) === ipFamilyOf(ips[1])))
    throw new InvalidArgumentError(`"${v}" is not an IP address, or two of different families`);
  return ips.map(normalizeIp);
}

function ipList(v: string): string[] {
  const ips = v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  for (const ip of ips) if (!isIP(ip)) throw new InvalidArgumentError(`"${ip}" is not an IP address`);
  return ips;
}

function posInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`"${v}" is not a positive integer`);
  return n;
}

export async function main(argv: string[]): Promise<void> {
  const cmd = new Command('skiff kubelet')
    .description('run pods bound to this node: network namespaces through CNI, processes per container')
    .requiredOption('--kubeconfig <file>', "kubeconfig with this node's credentials")
    .requiredOption('--node-name <name>', 'Node name to register')
    .requiredOption(
      '--node-ip <ips>',
      'InternalIP(s) of this node (its underlay address; two families for dual stack)',
      nodeIps,
    )
    .option('--cni-conf-dir <dir>', 'CNI network configuration directory', '/etc/cni/net.d')
    .option('--cni-bin-dir <dirs>', 'CNI plugin directories, colon-separated', '/opt/cni/bin')
    .option(
      '--cni-socket <path>',
      "skiff-cnid socket of this node, passed to plugins as SKIFF_CNI_SOCKET (skiff's plugins relay to it)",
    )
    .option('--root-dir <dir>', 'kubelet state (pods, logs, IPAM)', '')
    .option('--cni-cache-dir <dir>', 'CNI result cache', '')
    .option('--cni-conf-mode <mode>', 'conflist to generate from the podCIDR: bridge, vxlan or none', 'bridge')
    .option(
      '--cni-version <v>',
      'cniVersion of the generated conflist (1.1.0 adds plugin GC; reference plugins need 1.0.0)',
      '1.0.0',
    )
    .option('--subnet-file <file>', 'vxlan: the subnet file the vxlan agent writes for this node')
    .option(
      '--cni-conf-template <file>',
      "conflist template rendered with this node's values ({{podCIDR}}, {{nodeIP}}, {{mtu}}, ...; docs/cni.md) instead of --cni-conf-mode",
    )
    .option('--cluster-cidr <cidr>', 'cluster pod network', '10.244.0.0/16')
    .option(
      '--pod-routes',
      "install routes to other nodes' podCIDRs via their InternalIP (bridge CNI without overlay)",
      false,
    )
    .option(
      '--netns-prefix <prefix>',
      "prefix of pod namespace names (default: the node namespace's name, else skiff-<node>)",
    )
    .option('--max-pods <n>', 'pods capacity', posInt, 110)
    .option('--lease-seconds <n>', 'heartbeat interval', posInt, 10)
    .option('--backoff-base-ms <n>', 'first container restart back-off', posInt, 10_000)
    .option('--backoff-max-ms <n>', 'restart back-off cap', posInt, 300_000)
    .option(
      '--cluster-dns <ips>',
      'cluster DNS Service IPs for pods with dnsPolicy ClusterFirst, comma-separated',
      ipList,
      [],
    )
    .option('--cluster-domain <domain>', 'cluster DNS domain (pod search paths)', 'cluster.local')
    .option('--resolv-conf <file>', 'resolver configuration pods with dnsPolicy Default inherit', '/etc/resolv.conf')
    .option(
      '--tls-cert-file <file>',
      "the kubelet server's certificate (with the key and client CA: serve the kubelet API)",
    )
    .option('--tls-private-key-file <file>', "the kubelet server's private key")
    .option('--client-ca-file <file>', 'CA that signs the client certificates the kubelet server accepts')
    .option('--port <n>', 'kubelet server port (on the first --node-ip)', posInt, 10250);
  if (!parseArgs(cmd, argv)) return;
  const o = cmd.opts<{
    kubeconfig: string;
    nodeName: string;
    nodeIp: string[];
    cniConfDir: string;
    cniBinDir: string;
    cniSocket?: string;
    rootDir: string;
    cniCacheDir: string;
    cniConfMode: string;
    cniVersion: string;
    subnetFile?: string;
    cniConfTemplate?: string;
    clusterCidr: string;
    podRoutes: boolean;
    netnsPrefix?: string;
    maxPods: number;
    leaseSeconds: number;
    backoffBaseMs: number;
    backoffMaxMs: number;
    clusterDns: string[];
    clusterDomain: string;
    resolvConf: string;
    tlsCertFile?: string;
    tlsPrivateKeyFile?: string;
    clientCaFile?: string;
    port: number;
  }>();
  const tls = [o.tlsCertFile, o.tlsPrivateKeyFile, o.clientCaFile];
  if (tls.some(Boolean) && !tls.every(Boolean))
    throw new UserError('--tls-cert-file, --tls-private-key-file and --client-ca-file go together', 2);
  for (const f of tls) if (f && !existsSync(f)) throw new UserError(`${f}: no such file`, 2);
  if (!['bridge', 'vxlan', 'none'].includes(o.cniConfMode))
    throw new UserError(`--cni-conf-mode: expected bridge, vxlan or none, got "${o.cniConfMode}"`, 2);
  if (!['0.4.0', '1.0.0', '1.1.0'].includes(o.cniVersion))
    throw new UserError(`--cni-version: expected 0.4.0, 1.0.0 or 1.1.0, got "${o.cniVersion}"`, 2);
  if (o.cniConfTemplate !== undefined && !existsSync(o.cniConfTemplate))
    throw new UserError(`--cni-conf-template ${o.cniConfTemplate}: no such file`, 2);
  if (!existsSync(o.kubeconfig)) throw new UserError(`--kubeconfig ${o.kubeconfig}: no such file`, 2);
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(o.nodeName))
    throw new UserError(`--node-name "${o.nodeName}" is not a DNS-1123 name`, 2);
  if (o.cniSocket !== undefined && !isAbsolute(o.cniSocket))
    throw new UserError(`--cni-socket ${o.cniSocket}: expected an absolute path`, 2);
  if (process.getuid?.() !== 0) throw new UserError('skiff kubelet needs root (it creates network namespaces)', 1);
  const binDirs = o.cniBinDir.split(':').filter(Boolean);
  if (!binDirs.some((d) => existsSync(d) && readdirSync(d).length > 0))
    throw new UserError(`--cni-bin-dir ${o.cniBinDir}: no CNI plugins there`, 2);
  const rootDir = o.rootDir || `/var/lib/skiff/kubelet/${o.nodeName}`;
  const script = process.argv[1];
  if (!script) throw new UserError('cannot locate the skiff entry script for built-in images', 1);
  const opts: KubeletOptions = {
    kubeconfig: o.kubeconfig,
    nodeName: o.nodeName,
    nodeIP: o.nodeIp[0]!,
    nodeIPs: o.nodeIp,
    cniConfDir: o.cniConfDir,
    cniBinDirs: binDirs,
    cniSocket: o.cniSocket,
    rootDir,
    cniCacheDir: o.cniCacheDir || `${rootDir}/cni-cache`,
    netnsPrefix: o.netnsPrefix ?? currentNetnsName() ?? `skiff-${o.nodeName}`,
    cniConfMode: o.cniConfMode as KubeletOptions['cniConfMode'],
    subnetFile: o.subnetFile,
    cniConfTemplate: o.cniConfTemplate,
    cniVersion: o.cniVersion,
    clusterCIDR: o.clusterCidr,
    podRoutes: o.podRoutes,
    maxPods: o.maxPods,
    leaseSeconds: o.leaseSeconds,
    backoff: { baseMs: o.backoffBaseMs, maxMs: o.backoffMaxMs },
    imageEntry: [process.execPath, script, 'image'],
    dns: { clusterDNS: o.clusterDns, clusterDomain: o.clusterDomain, resolvConf: o.resolvConf },
    ...(o.tlsCertFile && o.tlsPrivateKeyFile && o.clientCaFile
      ? { server: { cert: o.tlsCertFile, key: o.tlsPrivateKeyFile, clientCA: o.clientCaFile, port: o.port } }
      : {}),
  };
  const log = createLogger('kubelet', { node: o.nodeName });
  const kubelet = new Kubelet(opts, log);
  const stop = (): void => {
    // Pods keep running: a restarted kubelet adopts them.
    log.info('kubelet stopping (pods keep running)');
    kubelet.stop();
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await kubelet.run();
}
