/** Start, then stay up until SIGINT/SIGTERM, then stop cleanly and exit 0. */
export async function runUntilSignal(
  log: { info: (o: object, m: string) => void },
  start: () => Promise<void>,
  stop: () => void | Promise<void>,
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onSignal = (sig: string): void => {
      log.info({ signal: sig }, 'stopping');
      // A stop that flushes (queued Events, say) is waited for, bounded by the stop itself.
      void Promise.resolve()
        .then(stop)
        .catch(() => undefined)
        .finally(resolve);
    };
    process.once('SIGINT', () => onSignal('SIGINT'));
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    start().catch(reject);
  });
  process.exit(0);
}
