/**
 * `skiff pod-routes`: makes the machine it runs on (a control plane that is no node, e.g. the Vagrant cp VM) a
 * routed member of a bridge-CNI pod network, as `skiff up` does for the lab's control plane: one route per node,
 * its pod CIDR via its InternalIP, kept in sync with the Node objects (the kubelet's --pod-routes logic, for a
 * machine without a kubelet). So the API server reaches pods (DNS and ingress add-ons, Services it proxies).
 */
import { Command } from 'commander';
import { durationOption as duration } from '../client/duration.js';
import { runUntilSignal } from '../client/lifecycle.js';
import { ApiClient } from '../kubelet/api.js';
import type { NodeObject } from '../kubelet/node.js';
import { desiredPeerRoutes, syncPeerRoutes } from '../kubelet/routes.js';
import { errorMessage } from '../util/errors.js';
import { createLogger } from '../util/log.js';
import { parseArgs } from './parse.js';

export async function main(argv: string[]): Promise<void> {
  const program = new Command('skiff pod-routes')
    .description('keep a route to every node’s pod CIDR via its InternalIP (bridge CNI, on a machine that is no node)')
    .requiredOption('--kubeconfig <file>', 'kubeconfig that may list Nodes')
    .option('--interval <d>', 'how often to re-read the Nodes', duration, 3000);
  if (!parseArgs(program, argv)) return;
  const o = program.opts<{ kubeconfig: string; interval: number }>();
  const log = createLogger('pod-routes');
  const api = new ApiClient(o.kubeconfig);
  let timer: NodeJS.Timeout | undefined;
  const sync = async () => {
    try {
      const list = await api.request<{ items: NodeObject[] }>('GET', '/api/v1/nodes');
      const nodes = list.items.map((n) => ({
        name: n.metadata.name,
        podCIDR: n.spec?.podCIDR,
        podCIDRs: n.spec?.podCIDRs,
        ips: (n.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address),
      }));
      await syncPeerRoutes(desiredPeerRoutes('', nodes));
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'pod route sync failed');
    }
  };
  await runUntilSignal(
    log,
    async () => {
      await sync();
      timer = setInterval(() => void sync(), o.interval);
    },
    () => clearInterval(timer),
  );
}
