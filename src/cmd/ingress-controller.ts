import { runUntilSignal } from '../client/lifecycle.js';
import { createLogger } from '../util/log.js';
import { startIngressController, type Running } from '../ingress/main.js';

/** `skiff ingress-controller`: the HTTP entry point for Ingress and Gateway API routes (see docs/ingress.md). */
export async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    await startIngressController(argv);
    return;
  }
  let running: Running | undefined;
  await runUntilSignal(
    createLogger('ingress-controller'),
    async () => {
      running = await startIngressController(argv);
    },
    () => void running?.close(),
  );
}
