import { Command } from 'commander';
import { loadKubeConfig } from '../client/kubeconfig.js';
import { durationOption as duration } from '../client/duration.js';
import { runUntilSignal } from '../client/lifecycle.js';
import { ALL_CONTROLLERS, ControllerManager, DEFAULT_OPTIONS, type ControllerName } from '../controllers/manager.js';
import { nodeCidrAllocators } from '../controllers/nodeipam/cidr.js';
import { AddressPools } from '../controllers/loadbalancer/pool.js';
import { UserError, errorMessage } from '../util/errors.js';
import { createLogger } from '../util/log.js';
import { parseArgs } from './parse.js';

export async function main(argv: string[]): Promise<void> {
  const program = new Command('skiff controller-manager')
    .description(
      'run the controllers: deployments, replica sets, garbage collection, endpoint slices, ' +
        'node IPAM, node lifecycle, load-balancer addresses',
    )
    .requiredOption(
      '--kubeconfig <file>',
      'kubeconfig to reach the API server (e.g. STATE/controller-manager.kubeconfig)',
    )
    .option(
      '--controllers <list>',
      `comma-separated controllers to run (${ALL_CONTROLLERS.join(',')})`,
      ALL_CONTROLLERS.join(','),
    )
    .option(
      '--cluster-cidr <cidrs>',
      'pod network, cut into one subnet per node (two CIDRs of different families for dual stack)',
      DEFAULT_OPTIONS.clusterCidr,
    )
    .option(
      '--node-cidr-mask-size <n>',
      'prefix length of each IPv4 node pod CIDR',
      String(DEFAULT_OPTIONS.nodeCidrMaskSize),
    )
    .option(
      '--node-cidr-mask-size-ipv6 <n>',
      'prefix length of each IPv6 node pod CIDR',
      String(DEFAULT_OPTIONS.nodeCidrMaskSizeIPv6),
    )
    .option(
      '--lb-pool <range>',
      'LoadBalancer addresses: A-B, a CIDR or one address; an IPv4 and an IPv6 one, comma-separated, for dual stack',
      DEFAULT_OPTIONS.lbPool,
    )
    .option(
      '--node-monitor-period <d>',
      'how often node heartbeats are checked',
      duration,
      DEFAULT_OPTIONS.nodeMonitorPeriodMs,
    )
    .option(
      '--node-monitor-grace-period <d>',
      'silence after which a node is marked unreachable',
      duration,
      DEFAULT_OPTIONS.nodeMonitorGracePeriodMs,
    )
    .option(
      '--pod-eviction-timeout <d>',
      'how long pods stay on an unreachable node before they are deleted',
      duration,
      DEFAULT_OPTIONS.podEvictionTimeoutMs,
    )
    .option('--gc-period <d>', 'garbage collector sweep period', duration, DEFAULT_OPTIONS.gcPeriodMs);
  if (!parseArgs(program, argv)) return;
  const o = program.opts<{
    kubeconfig: string;
    controllers: string;
    clusterCidr: string;
    nodeCidrMaskSize: string;
    nodeCidrMaskSizeIpv6: string;
    lbPool: string;
    nodeMonitorPeriod: number;
    nodeMonitorGracePeriod: number;
    podEvictionTimeout: number;
    gcPeriod: number;
  }>();
  const controllers = o.controllers
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = controllers.filter((c) => !(ALL_CONTROLLERS as readonly string[]).includes(c));
  if (unknown.length)
    throw new UserError(
      `skiff controller-manager: unknown controller(s) ${unknown.join(', ')} (known: ${ALL_CONTROLLERS.join(', ')})`,
      2,
    );
  const mask = Number(o.nodeCidrMaskSize);
  const mask6 = Number(o.nodeCidrMaskSizeIpv6);
  for (const [flag, v, text] of [
    ['--node-cidr-mask-size', mask, o.nodeCidrMaskSize],
    ['--node-cidr-mask-size-ipv6', mask6, o.nodeCidrMaskSizeIpv6],
  ] as const)
    if (!Number.isInteger(v))
      throw new UserError(`skiff controller-manager: ${flag} must be an integer, not "${text}"`, 2);
  try {
    nodeCidrAllocators(o.clusterCidr, mask, mask6);
    new AddressPools(o.lbPool);
  } catch (err) {
    throw new UserError(`skiff controller-manager: ${errorMessage(err)}`, 2);
  }
  const kc = loadKubeConfig(o.kubeconfig);
  const log = createLogger('controller-manager');
  const cm = new ControllerManager(kc, log, {
    controllers: controllers as ControllerName[],
    clusterCidr: o.clusterCidr,
    nodeCidrMaskSize: mask,
    nodeCidrMaskSizeIPv6: mask6,
    lbPool: o.lbPool,
    nodeMonitorPeriodMs: o.nodeMonitorPeriod,
    nodeMonitorGracePeriodMs: o.nodeMonitorGracePeriod,
    podEvictionTimeoutMs: o.podEvictionTimeout,
    gcPeriodMs: o.gcPeriod,
  });
  await runUntilSignal(
    log,
    () => cm.start(),
    () => cm.stop(),
  );
}
