import { Command, InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import { UserError, errorMessage } from '../util/errors.js';
import { ApiClient } from '../kubelet/api.js';
import { MAX_NODES } from '../lab/addressing.js';
import { applyDemo, askMany, demoTargets } from '../lab/demo.js';
import { Progress } from '../lab/progress.js';
import { DEFAULT_STATE_DIR } from '../lab/state.js';
import { LabBuilder } from '../lab/up.js';
import { teardown } from '../lab/teardown.js';
import { stopLabKeepingState } from '../lab/resume.js';
import { parseArgs } from './parse.js';

function choice<T extends string>(name: string, values: readonly T[]) {
  return (v: string): T => {
    if (!(values as readonly string[]).includes(v))
      throw new InvalidArgumentError(`${name}: expected ${values.join(' or ')}, got "${v}"`);
    return v as T;
  };
}

export async function main(argv: string[]): Promise<void> {
  const cmd = new Command('skiff up')
    .description('bring up a multi-node lab cluster in network namespaces (root only)')
    .option('--state-dir <dir>', 'lab state, logs and kubeconfig', DEFAULT_STATE_DIR)
    .option(
      '--nodes <n>',
      `worker nodes (1-${MAX_NODES})`,
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1 || n > MAX_NODES)
          throw new InvalidArgumentError(`--nodes: expected 1-${MAX_NODES}, got "${v}"`);
        return n;
      },
      3,
    )
    .option(
      '--cni <kind>',
      'pod network: bridge (routes between nodes) or vxlan (overlay)',
      choice('--cni', ['bridge', 'vxlan'] as const),
      'bridge',
    )
    .option(
      '--proxy-mode <mode>',
      'service proxy: nftables or userspace',
      choice('--proxy-mode', ['nftables', 'userspace'] as const),
      'nftables',
    )
    .option(
      '--ip-family <family>',
      'pod and Service addresses: ipv4, dual (IPv4 primary + IPv6) or ipv6 (ULA ranges, docs/cluster.md)',
      choice('--ip-family', ['ipv4', 'dual', 'ipv6'] as const),
      'ipv4',
    )
    .option(
      '--cni-conf <file>',
      'run the nodes on this conflist template ({{podCIDR}}, {{nodeIP}}, {{mtu}}, ... per node; docs/cni.md)',
    )
    .option(
      '--cni-bin <dir>',
      "plugin directory for --cni-conf, repeatable (default: skiff's plugins, then /usr/lib/cni)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--store <kind>', 'API storage: sqlite or etcd', choice('--store', ['sqlite', 'etcd'] as const), 'sqlite')
    .option('--demo', 'deploy the demo app and show it answering from different pods', false)
    .option('--timeout <seconds>', 'how long to wait for the nodes to be Ready', (v) => Number(v), 120)
    .option('--keep-on-failure', 'leave a failed lab in place for inspection (then run skiff down)', false);
  if (!parseArgs(cmd, argv)) return;
  const o = cmd.opts<{
    stateDir: string;
    nodes: number;
    cni: 'bridge' | 'vxlan';
    proxyMode: 'nftables' | 'userspace';
    ipFamily: 'ipv4' | 'dual' | 'ipv6';
    cniConf?: string;
    cniBin?: string[];
    store: 'sqlite' | 'etcd';
    demo: boolean;
    timeout: number;
    keepOnFailure: boolean;
  }>();
  const stateDir = resolve(o.stateDir);
  const progress = new Progress();
  const builder = new LabBuilder(
    {
      stateDir,
      nodes: o.nodes,
      cni: o.cni,
      proxyMode: o.proxyMode,
      ipFamily: o.ipFamily,
      store: o.store,
      readyTimeoutMs: o.timeout * 1000,
      ...(o.cniConf ? { cniConf: resolve(o.cniConf) } : {}),
      ...(o.cniBin ? { cniBin: o.cniBin.map((d) => resolve(d)) } : {}),
    },
    progress,
  );
  let lab;
  try {
    lab = await builder.up();
  } catch (err) {
    if (builder.resumed && !o.keepOnFailure) {
      // never lose a stopped cluster's state to a failed resume
      await stopLabKeepingState(stateDir).catch(() => undefined);
      throw new UserError(
        `skiff up failed to resume the lab: ${errorMessage(err)}\n(it is stopped again with its state kept; logs are in ${stateDir}/logs)`,
      );
    }
    if (builder.lab && !o.keepOnFailure) {
      await teardown(stateDir).catch(() => undefined);
      throw new UserError(
        `skiff up failed: ${errorMessage(err)}\n(the lab was removed; logs are in ${stateDir}/logs; --keep-on-failure keeps it)`,
      );
    }
    throw new UserError(
      `skiff up failed: ${errorMessage(err)}${builder.lab ? `\n(run: skiff down --state-dir ${stateDir})` : ''}`,
    );
  }
  const sd = stateDir === resolve(DEFAULT_STATE_DIR) ? '' : ` --state-dir ${stateDir}`;
  if (o.demo) {
    const api = new ApiClient(builder.paths.adminKubeconfig);
    await progress.step('demo app (skiff/hostname x3, ClusterIP + NodePort + LoadBalancer)', async (update) => {
      await applyDemo(api);
      const deadline = Date.now() + 120_000;
      for (;;) {
        const eps = await api
          .request<{ items: { endpoints?: { conditions?: { ready?: boolean } }[] }[] }>(
            'GET',
            '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dhostname-demo',
          )
          .catch(() => ({ items: [] }));
        const ready = eps.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).length;
        update(`${ready}/3 endpoints ready`);
        if (ready >= 3) break;
        if (Date.now() > deadline) throw new UserError('demo: endpoints not ready within 120s (see the logs)');
        await new Promise((r) => setTimeout(r, 500));
      }
    });
    for (const t of await demoTargets(api, lab)) {
      const { answers, failures } = await askMany(t, 9);
      const who = [...answers.entries()].map(([h, n]) => `${h} x${n}`).join(', ');
      progress.info(`  ${t.label}: ${who || 'no answer'}${failures ? ` (${failures} failed)` : ''}`);
    }
  }
  const cniLabel = lab.cniConf ? `CNI from ${lab.cniConf}` : `${lab.cni} CNI`;
  const state = builder.resumed ? 'resumed (its objects kept)' : 'up';
  progress.info(`
skiff lab ${lab.prefix} is ${state}: ${lab.nodes} nodes, ${cniLabel}, ${lab.proxyMode} proxy, ${lab.store} store.
  kubectl --kubeconfig ${builder.paths.adminKubeconfig} get nodes -o wide
  skiff exec${sd} node1 -- ip route            # a shell command inside a node
  skiff exec${sd} client -- ...                # from outside the cluster
  skiff status${sd}                            # components, restarts, nodes, logs (${builder.paths.logs})
  skiff logs${sd} kubelet-node1 [-f]           # a component's log, human-readable
  skiff restart${sd} proxy                     # restart components (the supervisor restarts crashed ones)
  skiff stop${sd}                              # stop the lab, keep its state (skiff up resumes it)
  skiff down${sd}                              # remove everything`);
}
