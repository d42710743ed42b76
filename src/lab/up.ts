import { X509Certificate, randomBytes } from 'node:crypto';
import { waitFor as pollUntil, WaitTimeout } from '../util/wait.js';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { run } from '../os/exec.js';
import { ApiClient } from '../kubelet/api.js';
import {
  API_PORT,
  CLUSTER_CIDR,
  CP_IP,
  lbPools,
  SERVICE_CIDR,
  type IpFamilyMode,
  clusterCidrs,
  members,
  nodeIP,
  nodeIPs,
  nodeName,
  nsName,
  serviceCidrs,
} from './addressing.js';
import { CLUSTER_DOMAIN, applyDns, clusterDnsIP, readyDnsEndpoints } from './dns.js';
import { applyIngressAddon, readyIngressEndpoints } from './addons/ingress.js';
import { freeLoopbackPort, startForwarder } from './forwarder.js';
import { attachMember, checkNoOverlap, createUnderlay, routeControlPlaneToPods } from './network.js';
import { desiredPeerRoutes, type PeerRoute } from '../kubelet/routes.js';
import {
  cniBinDir,
  cniVersionFor,
  labPaths,
  ourPluginsDir,
  provisionScript,
  skiffScript,
  type LabPaths,
} from './paths.js';
import { hasDaemon, snapshotPlugins } from './plugins.js';
import { renderConflistTemplate, SAMPLE_VALUES } from '../cni/template.js';
import { findInPath } from '../cni/invoke.js';
import { Progress } from './progress.js';
import { type LabProcess, type LabState, readLab, writeLab } from './state.js';
import { alive, labComponents, labSupervision, startSupervisor, startUnit } from './supervisor.js';
import { readStatus } from './supervision.js';
import { teardown } from './teardown.js';
import { privateDir } from '../util/private.js';
import { issueKubeletServingCert } from '../apiserver/auth/pki.js';

export interface UpOptions {
  stateDir: string;
  nodes: number;
  cni: 'bridge' | 'vxlan';
  proxyMode: 'nftables' | 'userspace';
  /** pod and Service address families (default ipv4) */
  ipFamily?: IpFamilyMode;
  /** a conflist template (src/cni/template.ts) every node runs on instead of the generated conflist */
  cniConf?: string;
  /** plugin directories for it (default: skiff's plugins, then /usr/lib/cni) */
  cniBin?: string[];
  store: 'sqlite' | 'etcd';
  readyTimeoutMs: number;
  /** kubelet restart back-off base (tests shorten it) */
  backoffBaseMs?: number;
  leaseSeconds?: number;
  /** node failover speed (controller-manager): silence before a node is unreachable, then eviction delay */
  nodeGraceMs?: number;
  evictionMs?: number;
  /** namespace-name prefix (default: random "sk" + 6 hex); tests pass their run prefix */
  prefix?: string;
}

class LabUpError extends Error {}

/** What the node components get for CNI: CNI_PATH, the conflist's cniVersion, and whether skiff-cnid runs. */
interface CniSetup {
  binDir: string;
  version: string;
  daemon: boolean;
}

/** The shared wait, its timeout reported as a failed `skiff up` (LabUpError). */
async function waitFor<T>(
  what: string,
  timeoutMs: number,
  fn: () => Promise<T | undefined>,
  check?: () => void,
): Promise<T> {
  try {
    return await pollUntil(what, timeoutMs, fn, { check });
  } catch (err) {
    if (err instanceof WaitTimeout) throw new LabUpError(err.message);
    throw err;
  }
}

function servingCertCoversLoopback(pkiDir: string): boolean {
  try {
    for (const f of readdirSync(pkiDir).filter((n) => n.endsWith('.crt') && !n.startsWith('ca'))) {
      const san = new X509Certificate(readFileSync(join(pkiDir, f))).subjectAltName ?? '';
      if (san.includes('IP Address:127.0.0.1')) return true;
    }
  } catch {
    /* no readable certificate: fall back to tls-server-name */
  }
  return false;
}

/** What a stopped lab was made with: `skiff up` resumes it as it was. */
function recordedOptions(lab: LabState): Partial<UpOptions> {
  return {
    nodes: lab.nodes,
    cni: lab.cni,
    proxyMode: lab.proxyMode,
    ipFamily: lab.ipFamily ?? 'ipv4',
    store: lab.store,
    prefix: lab.prefix,
    cniConf: lab.cniConf,
    cniBin: lab.cniBin?.split(':'),
  };
}

/** One log file per component per lab run: a new lab moves the last run's logs to logs/previous. */
function keepPreviousLogs(logs: string): void {
  mkdirSync(logs, { recursive: true });
  const files = readdirSync(logs).filter((f) => f.endsWith('.log'));
  if (files.length === 0) return;
  const previous = join(logs, 'previous');
  rmSync(previous, { recursive: true, force: true });
  mkdirSync(previous);
  for (const f of files) renameSync(join(logs, f), join(previous, f));
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * `skiff up`: the namespace lab. Writes lab.json before creating anything (so `skiff down` can always
 * clean up), then: namespaces and underlay, the API forwarder, etcd (optional), the API server, the
 * controllers, node credentials and per-node components, and waits until every node is Ready.
 */
export class LabBuilder {
  readonly paths: LabPaths;
  lab!: LabState;
  private cniSetup!: CniSetup;
  private supervisor!: LabProcess;
  /** the stopped lab `skiff up` resumes (its recorded options win over the command line's) */
  private resuming?: LabState;

  constructor(
    private o: UpOptions,
    private readonly progress = new Progress(),
  ) {
    this.paths = labPaths(o.stateDir);
  }

  private save(): void {
    writeLab(this.lab);
  }

  private env(extra: Record<string, string>): Record<string, string> {
    return { SKIFF_JS: skiffScript(), NODE: process.execPath, ...extra };
  }

  /** Start a component and fail fast (with its log) if it dies. */
  private get ipFamily(): IpFamilyMode {
    return this.o.ipFamily ?? 'ipv4';
  }

  private start(name: string, script: string, netns: string | undefined, env: Record<string, string>): void {
    startUnit(this.o.stateDir, this.supervisor, {
      name,
      argv: ['bash', provisionScript(script)],
      netns,
      log: join(this.paths.logs, `${name}.log`),
      env: this.env(env),
    });
  }

  /** During `skiff up` any exit is a failure (the supervisor would restart it, but up reports it at once). */
  private assertAlive(): void {
    if (!alive(this.supervisor)) {
      throw new LabUpError(
        `the lab supervisor exited; last lines of ${this.supervisor.log}:\n${tail(this.supervisor.log)}`,
      );
    }
    const paths = labSupervision(this.o.stateDir);
    for (const c of labComponents(this.o.stateDir)) {
      const st = readStatus(paths, c.name);
      if (st && (st.state !== 'running' || st.restarts > 0)) {
        throw new LabUpError(`${c.name} exited; last lines of ${c.log}:\n${tail(c.log)}`);
      }
    }
  }

  async preflight(): Promise<void> {
    if (process.getuid?.() !== 0)
      throw new LabUpError('skiff up needs root (it creates network namespaces); run it with sudo');
    for (const tool of ['ip', 'nsenter', 'unshare', 'socat', 'bash', ...(this.o.store === 'etcd' ? ['etcd'] : [])]) {
      try {
        await run(['sh', '-c', 'command -v "$1"', 'sh', tool]);
      } catch {
        throw new LabUpError(`skiff up needs \`${tool}\` on PATH (scripts/setup.sh installs it)`);
      }
    }
    const existing = readLab(this.o.stateDir);
    if (existing) {
      if (existing.processes.some((p) => alive(p)) || labComponents(this.o.stateDir).some((c) => c.process)) {
        throw new LabUpError(
          `a lab (${existing.prefix}) is already running in ${this.o.stateDir}; run \`skiff down --state-dir ${this.o.stateDir}\` first`,
        );
      }
      if (existing.phase === 'stopped') {
        this.resuming = existing;
        this.o = { ...this.o, ...recordedOptions(existing) };
      } else {
        await teardown(this.o.stateDir); // leftovers of a crashed lab
      }
    }
    if (this.o.cniConf) this.checkCniConf(this.o.cniConf);
    await checkNoOverlap();
  }

  /** A template that does not render, or names a plugin not on the path, fails before anything is made. */
  private checkCniConf(file: string): void {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new LabUpError(`--cni-conf ${file}: ${(err as Error).message}`);
    }
    try {
      const { list } = renderConflistTemplate(text, SAMPLE_VALUES, file);
      if (this.o.cniBin) for (const p of list.plugins) findInPath(p.type, this.o.cniBin);
    } catch (err) {
      throw new LabUpError(`--cni-conf ${file}: ${(err as Error).message}`);
    }
  }

  /** True when this `up` resumes a lab `skiff stop` stopped (known after preflight). */
  get resumed(): boolean {
    return !!this.resuming;
  }

  private freshLab(): LabState {
    const o = this.o;
    return {
      version: 1,
      prefix: o.prefix ?? `sk${randomBytes(3).toString('hex')}`,
      stateDir: o.stateDir,
      nodes: o.nodes,
      cni: o.cni,
      proxyMode: o.proxyMode,
      ...(o.ipFamily && o.ipFamily !== 'ipv4' ? { ipFamily: o.ipFamily } : {}),
      ...(o.cniConf ? { cniConf: o.cniConf } : {}),
      ...(o.cniBin ? { cniBin: o.cniBin.join(':') } : {}),
      store: o.store,
      createdAt: new Date().toISOString(),
      namespaces: [],
      processes: [],
      phase: 'creating',
    };
  }

  async up(): Promise<LabState> {
    const p = this.progress;
    await p.step('preflight checks', () => this.preflight());
    const o = this.o; // after preflight: a resumed lab's own options
    privateDir(o.stateDir); // holds the admin kubeconfig, tokens, PKI and the store
    if (this.resuming) {
      // the same cluster: same prefix and objects, its logs continued
      this.lab = {
        ...this.resuming,
        phase: 'creating',
        processes: [],
        namespaces: [],
        resumedAt: new Date().toISOString(),
      };
    } else {
      keepPreviousLogs(this.paths.logs);
      this.lab = this.freshLab();
    }
    this.save();
    const prefix = this.lab.prefix;
    await p.step('supervisor', async () => {
      this.supervisor = await startSupervisor(o.stateDir, join(this.paths.logs, 'supervisor.log'), {
        backoffBaseMs: o.backoffBaseMs,
      });
      this.lab.processes.push(this.supervisor);
      this.save();
    });
    await p.step(`network namespaces (prefix ${prefix}, ${o.nodes} nodes)`, async () => {
      this.lab.namespaces.push(await createUnderlay(prefix));
      for (const m of members(o.nodes)) this.lab.namespaces.push(await attachMember(prefix, m, this.ipFamily));
      this.save();
    });
    const cpNs = nsName(prefix, 'cp');
    const port = await freeLoopbackPort();
    this.lab.apiPort = port;
    privateDir(this.paths.cp);
    if (o.store === 'etcd') {
      await p.step('etcd', async () => {
        this.start('etcd', 'etcd', cpNs, { STATE_DIR: this.paths.cp });
        await waitFor(
          'etcd',
          30_000,
          async () => {
            await run([
              'nsenter',
              `--net=/run/netns/${cpNs}`,
              '--',
              'socat',
              '-u',
              'OPEN:/dev/null',
              'TCP:127.0.0.1:2379,connect-timeout=1',
            ]);
            return true;
          },
          () => this.assertAlive(),
        );
      });
    }
    await p.step('API server', async () => {
      this.start('apiserver', 'apiserver', cpNs, {
        STATE_DIR: this.paths.cp,
        ADVERTISE_ADDRESS: CP_IP,
        API_PORT: String(API_PORT),
        STORE: o.store,
        SERVICE_CIDR: serviceCidrs(this.ipFamily),
      });
      startForwarder(prefix, this.paths, port, this.supervisor);
      const cpAdmin = join(this.paths.cp, 'admin.kubeconfig');
      await waitFor(
        'admin.kubeconfig',
        60_000,
        async () => (existsSync(cpAdmin) ? true : undefined),
        () => this.assertAlive(),
      );
      this.writeAdminKubeconfig(cpAdmin, port);
      const api = new ApiClient(this.paths.adminKubeconfig);
      await waitFor(
        'API server /readyz',
        60_000,
        async () => {
          await api.request('GET', '/readyz');
          return true;
        },
        () => this.assertAlive(),
      );
    });
    await p.step('controller-manager and scheduler', async () => {
      this.start('controller-manager', 'controller-manager', cpNs, {
        STATE_DIR: this.paths.cp,
        CLUSTER_CIDR: clusterCidrs(this.ipFamily),
        LB_POOL: lbPools(this.ipFamily),
        ...(o.nodeGraceMs ? { NODE_MONITOR_GRACE_MS: String(o.nodeGraceMs) } : {}),
        ...(o.evictionMs ? { POD_EVICTION_TIMEOUT_MS: String(o.evictionMs) } : {}),
      });
      this.start('scheduler', 'scheduler', cpNs, { STATE_DIR: this.paths.cp });
    });
    await p.step(`node components (${o.cni} CNI, ${o.proxyMode} proxy)`, async () => {
      this.cniSetup = this.prepareCni();
      if (this.cniSetup.daemon) await this.startCniDaemons();
      for (let i = 1; i <= o.nodes; i++) await this.startNode(i);
    });
    await p.step(`waiting for ${o.nodes} nodes to be Ready`, async (update) => {
      const api = new ApiClient(this.paths.adminKubeconfig);
      await waitFor(
        'nodes Ready',
        o.readyTimeoutMs,
        async () => {
          const list = await api.request<{ items: { status?: { conditions?: { type: string; status: string }[] } }[] }>(
            'GET',
            '/api/v1/nodes',
          );
          const ready = list.items.filter((n) =>
            n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
          ).length;
          update(`${ready}/${o.nodes}`);
          return ready >= o.nodes ? true : undefined;
        },
        () => this.assertAlive(),
      );
    });
    await p.step('routes from the control plane to the pod networks', async () => {
      await routeControlPlaneToPods(this.lab.prefix, await this.podRoutes());
    });
    await p.step('cluster DNS (kube-system/coredns behind kube-dns)', () => this.startDns());
    await p.step('ingress controller (skiff-ingress; IngressClass and GatewayClass skiff)', () => this.startIngress());
    this.lab.phase = 'ready';
    this.save();
    return this.lab;
  }

  /** One route per node: its pod CIDR via its InternalIP (nodes are Ready, so both are set). */
  private async podRoutes(): Promise<PeerRoute[]> {
    const api = new ApiClient(this.paths.adminKubeconfig);
    const list = await api.request<{
      items: {
        metadata: { name: string };
        spec?: { podCIDR?: string };
        status?: { addresses?: { type: string; address: string }[] };
      }[];
    }>('GET', '/api/v1/nodes');
    const nodes = list.items.map((n) => ({
      name: n.metadata.name,
      podCIDR: n.spec?.podCIDR,
      ip: n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address,
    }));
    return desiredPeerRoutes('', nodes);
  }

  /** The ingress add-on (it runs on its ServiceAccount's token) and one ready replica. */
  private async startIngress(): Promise<void> {
    const api = new ApiClient(this.paths.adminKubeconfig);
    await applyIngressAddon(api);
    await waitFor(
      'a ready ingress controller',
      this.o.readyTimeoutMs,
      async () => ((await readyIngressEndpoints(api)) > 0 ? true : undefined),
      () => this.assertAlive(),
    );
  }

  /** The DNS add-on (it runs on its ServiceAccount's token) and one ready replica. */
  private async startDns(): Promise<void> {
    const api = new ApiClient(this.paths.adminKubeconfig);
    await applyDns(api, clusterDnsIP(SERVICE_CIDR));
    await waitFor(
      'a ready kube-dns endpoint',
      this.o.readyTimeoutMs,
      async () => ((await readyDnsEndpoints(api)) > 0 ? true : undefined),
      () => this.assertAlive(),
    );
  }

  private async issueKubeconfig(user: string, group: string, out: string): Promise<void> {
    await run([
      process.execPath,
      skiffScript(),
      'apiserver',
      'issue-kubeconfig',
      '--state-dir',
      this.paths.cp,
      '--user',
      user,
      '--group',
      group,
      '--server',
      `https://${CP_IP}:${API_PORT}`,
      '--out',
      out,
    ]);
  }

  private writeAdminKubeconfig(src: string, port: number): void {
    const kc = parseYaml(readFileSync(src, 'utf8')) as { clusters?: { cluster: Record<string, unknown> }[] };
    const coversLoopback = servingCertCoversLoopback(join(this.paths.cp, 'pki'));
    for (const c of kc.clusters ?? []) {
      c.cluster.server = `https://127.0.0.1:${port}`;
      // we connect through the loopback forwarder: if the serving certificate does not name 127.0.0.1,
      // verify it against the advertise address it does name
      if (!coversLoopback) c.cluster['tls-server-name'] = CP_IP;
    }
    writeFileSync(this.paths.adminKubeconfig, toYaml(kc), { mode: 0o600 });
  }

  /**
   * Our plugins (copied into the lab, one consistent build) with a skiff-cnid per node, else the reference
   * plugins exactly as before (no daemon, no socket).
   */
  private prepareCni(): CniSetup {
    // someone else's plugins: exactly their directories, no resident helper
    if (this.o.cniBin) return { binDir: this.o.cniBin.join(':'), version: '1.0.0', daemon: false };
    const ours = ourPluginsDir();
    if (!hasDaemon(ours)) {
      const binDir = cniBinDir();
      return { binDir, version: cniVersionFor(binDir), daemon: false };
    }
    snapshotPlugins(ours, this.paths.cniBin);
    const binDir = existsSync('/usr/lib/cni') ? `${this.paths.cniBin}:/usr/lib/cni` : this.paths.cniBin;
    return { binDir, version: '1.1.0', daemon: true };
  }

  /**
   * One skiff-cnid per node, in the node's namespace, on the node's own socket; waits (bounded) until each
   * serves, so the kubelet's first ADD already goes through it.
   */
  private async startCniDaemons(): Promise<void> {
    const sockets: string[] = [];
    for (let i = 1; i <= this.o.nodes; i++) {
      const name = nodeName(i);
      const socket = this.paths.cniSocket(name);
      mkdirSync(this.paths.node(name), { recursive: true });
      this.start(`skiff-cnid-${name}`, 'cnid', nsName(this.lab.prefix, name), {
        STATE_DIR: this.paths.node(name),
        CNI_BIN_DIR: this.cniSetup.binDir,
        CNI_SOCKET: socket,
      });
      sockets.push(socket);
    }
    await waitFor(
      'skiff-cnid sockets',
      60_000,
      async () => (sockets.every((s) => existsSync(s) && existsSync(`${s}.pid`)) ? true : undefined),
      () => this.assertAlive(),
    );
  }

  private async startNode(i: number): Promise<void> {
    const name = nodeName(i);
    const ip = nodeIP(i);
    const ns = nsName(this.lab.prefix, name);
    const dir = this.paths.node(name);
    mkdirSync(dir, { recursive: true });
    const kubeconfig = join(dir, 'kubelet.kubeconfig');
    await this.issueKubeconfig(`system:node:${name}`, 'system:nodes', kubeconfig);
    // the kubelet API's serving certificate, from the cluster CA the API server created
    const pkiDir = join(dir, 'pki');
    issueKubeletServingCert(this.paths.cp, name, nodeIPs(i, this.ipFamily).split(','), pkiDir);
    const env: Record<string, string> = {
      STATE_DIR: dir,
      NODE_NAME: name,
      NODE_IP: ip,
      NODE_IPS: nodeIPs(i, this.ipFamily),
      KUBECONFIG_FILE: kubeconfig,
      KUBELET_PKI_DIR: pkiDir,
      CNI: this.o.cni,
      CNI_BIN_DIR: this.cniSetup.binDir,
      CNI_VERSION: this.cniSetup.version,
      ...(this.o.cniConf ? { CNI_CONF_TEMPLATE: this.o.cniConf } : {}),
      CLUSTER_CIDR,
      CLUSTER_DNS: clusterDnsIP(SERVICE_CIDR),
      CLUSTER_DOMAIN,
      NETNS_PREFIX: ns,
      ...(this.cniSetup.daemon ? { CNI_SOCKET: this.paths.cniSocket(name) } : {}),
      PROXY_KUBECONFIG: join(this.paths.cp, 'proxy.kubeconfig'),
      PROXY_MODE: this.o.proxyMode,
      PROXY_CLUSTER_CIDR: clusterCidrs(this.ipFamily),
      PROXY_SERVICE_CIDR: serviceCidrs(this.ipFamily),
      ...(this.o.backoffBaseMs ? { BACKOFF_BASE_MS: String(this.o.backoffBaseMs) } : {}),
      ...(this.o.leaseSeconds ? { LEASE_SECONDS: String(this.o.leaseSeconds) } : {}),
    };
    if (this.o.cni === 'vxlan') this.start(`vxlan-agent-${name}`, 'vxlan-agent', ns, env);
    this.start(`kubelet-${name}`, 'kubelet', ns, env);
    this.start(`proxy-${name}`, 'proxy', ns, env);
  }
}
