import type { WebSocket } from 'ws';
import { CH, parseResize, send, type TerminalSize } from './channels.js';

/**
 * The streams of one exec or attach session, whatever carries them: a WebSocket with channel bytes
 * (v5/v4.channel.k8s.io) or a SPDY/3.1 session with one stream per channel (spdy-command.ts). exec.ts and
 * attach.ts speak only this.
 */
export interface CommandStreams {
  /** how the session is carried, for the log */
  readonly transport: string;
  onStdin(cb: (b: Buffer) => void): void;
  /** the client's stdin ended (v5's close signal, or the SPDY stdin stream's FIN) */
  onStdinEnd(cb: () => void): void;
  onResize(cb: (s: TerminalSize) => void): void;
  stdout(b: Buffer | string): void;
  stderr(b: Buffer | string): void;
  /** the error channel's Status (how the command ended), then the end of the session */
  finish(status: Record<string, unknown>): void;
  /** resolves when the session ended, by finish() or by the client leaving */
  readonly closed: Promise<void>;
  open(): boolean;
  /** drop the session at once (a failure) */
  terminate(): void;
}

/** The WebSocket transport: every binary message is a channel byte and its payload. */
export function wsCommandStreams(ws: WebSocket, protocol: string): CommandStreams {
  const v5 = protocol.startsWith('v5.');
  let stdin: ((b: Buffer) => void) | undefined;
  let stdinEnd: (() => void) | undefined;
  let resize: ((s: TerminalSize) => void) | undefined;
  ws.on('message', (raw: Buffer, isBinary) => {
    if (!isBinary || raw.length === 0) return;
    const payload = raw.subarray(1);
    if (raw[0] === CH.stdin) stdin?.(payload);
    else if (raw[0] === CH.resize) {
      const s = parseResize(payload);
      if (s) resize?.(s);
    } else if (raw[0] === CH.close && v5 && payload[0] === CH.stdin) stdinEnd?.();
  });
  const closed = new Promise<void>((r) => ws.once('close', () => r()));
  return {
    transport: `WebSocket ${protocol}`,
    onStdin: (cb) => (stdin = cb),
    onStdinEnd: (cb) => (stdinEnd = cb),
    onResize: (cb) => (resize = cb),
    stdout: (b) => send(ws, CH.stdout, b),
    stderr: (b) => send(ws, CH.stderr, b),
    finish: (status) => {
      send(ws, CH.error, JSON.stringify(status));
      ws.close(1000);
    },
    closed,
    open: () => ws.readyState === ws.OPEN,
    terminate: () => ws.terminate(),
  };
}
