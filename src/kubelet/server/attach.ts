import { closeSync, openSync, statSync, writeSync } from 'node:fs';
import type { WebSocket } from 'ws';
import { CH, send } from './channels.js';
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
  ws: WebSocket,
  protocol: string,
  c: ServedContainer,
  o: StreamOptions,
  pollMs: number,
): Promise<void> {
  let fifo: number | undefined;
  if (o.stdin && c.stdin) fifo = openSync(c.stdin, 'r+');
  const v5 = protocol.startsWith('v5.');
  ws.on('message', (raw: Buffer, isBinary) => {
    if (!isBinary || raw.length === 0 || fifo === undefined) return;
    if (raw[0] === CH.stdin) {
      try {
        writeSync(fifo, raw.subarray(1));
      } catch {
        /* the container is gone */
      }
    } else if (raw[0] === CH.close && v5) {
      closeSync(fifo);
      fifo = undefined;
    }
  });
  let gone = false;
  ws.once('close', () => (gone = true));
  const reader = new LogFileReader(c.log);
  reader.skipTo(size(c.log));
  try {
    while (!gone) {
      const running = c.running();
      for (const line of reader.read()) {
        const l = parseCriLine(line);
        if (!l) continue;
        if (l.stream === 'stderr' && !o.tty) {
          if (o.stderr) send(ws, CH.stderr, l.content);
        } else if (o.stdout) send(ws, CH.stdout, l.content);
      }
      if (!running) break;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } finally {
    if (fifo !== undefined) closeSync(fifo);
  }
  if (!gone) {
    send(ws, CH.error, JSON.stringify({ metadata: {}, status: 'Success' }));
    ws.close(1000);
  }
}

function size(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
