import { Command } from 'commander';
import { makeClients } from '../client/apis.js';
import { durationOption as duration } from '../client/duration.js';
import { runUntilSignal } from '../client/lifecycle.js';
import { InformerFactory } from '../client/informers.js';
import { loadKubeConfig } from '../client/kubeconfig.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { createLogger } from '../util/log.js';
import { componentEvents } from '../events/index.js';
import { parseArgs } from './parse.js';

export async function main(argv: string[]): Promise<void> {
  const program = new Command('skiff scheduler')
    .description('bind pending pods to Ready nodes (nodeSelector, node affinity, taints, resources; spreads owners)')
    .requiredOption('--kubeconfig <file>', 'kubeconfig to reach the API server (e.g. STATE/scheduler.kubeconfig)')
    .option('--scheduler-name <name>', 'pods with this spec.schedulerName (or none) are ours', 'default-scheduler')
    .option('--backoff-initial <d>', 'first retry delay for an unschedulable pod', duration, 1000)
    .option('--backoff-max <d>', 'longest retry delay', duration, 60_000);
  if (!parseArgs(program, argv)) return;
  const o = program.opts<{ kubeconfig: string; schedulerName: string; backoffInitial: number; backoffMax: number }>();
  const kc = loadKubeConfig(o.kubeconfig);
  const log = createLogger('scheduler');
  const informers = new InformerFactory(kc, log);
  const events = componentEvents(kc, log, o.schedulerName);
  const scheduler = new Scheduler(
    makeClients(kc),
    informers,
    log,
    { schedulerName: o.schedulerName, backoffInitialMs: o.backoffInitial, backoffMaxMs: o.backoffMax },
    events.recorder,
  );
  await runUntilSignal(
    log,
    async () => {
      informers.start();
      await informers.synced();
      scheduler.start();
      log.info({ schedulerName: o.schedulerName }, 'caches synced, scheduling');
    },
    async () => {
      scheduler.stop();
      informers.stop();
      await events.shutdown();
    },
  );
}
