import { closeSync, openSync, statSync, writeSync } from 'node:fs';
import type { CommandStreams } from './command-streams.js';
import { LogFileReader, parseCriLine } from './cri-log.js';
import type { StreamOptions } from './exec.js';
import type { ServedContainer } from './server.js';

/**
 * `kubectl attach` (and `kubectl run -it`): the container's own streams. Input goes to the FIFO behind its
 * stdin (spec.stdin; held open by the container, so one attach ending does not end it); output is what the
 * container writes from now on, read back from its CRI log as it grows (partial lines are logged at once, so a
 * prompt shows). The session ends when the container does (Success on the error channel) or the client leaves.
 * Resize messages are not applied (the container's terminal is util-linux `script`'s, which has no resize input).
 */
export async function serveAttach(
  io: CommandStreams,
  c: ServedContainer,
  o: StreamOptions,
  pollMs: number,
): Promise<void> {
  let fifo: number | undefined;
  if (o.stdin && c.stdin) fifo = openSync(c.stdin, 'r+');
  io.onStdin((payload) => {
    if (fifo === undefined) return;
    try {
      writeSync(fifo, payload);
    } catch {
      /* the container is gone */
    }
  });
  // the client's stdin ended: this attach stops writing; the container's stdin stays open for the next one
  io.onStdinEnd(() => {
    if (fifo !== undefined) closeSync(fifo);
    fifo = undefined;
  });
  io.onResize(() => undefined);
  let gone = false;
  void io.closed.then(() => (gone = true));
  const reader = new LogFileReader(c.log);
  reader.skipTo(size(c.log));
  try {
    while (!gone) {
      const running = c.running();
      for (const line of reader.read()) {
        const l = parseCriLine(line);
        if (!l) continue;
        if (l.stream === 'stderr' && !o.tty) {
          if (o.stderr) io.stderr(l.content);
        } else if (o.stdout) io.stdout(l.content);
      }
      if (!running) break;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } finally {
    if (fifo !== undefined) closeSync(fifo);
  }
  if (!gone) io.finish({ metadata: {}, status: 'Success' });
}

function size(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
