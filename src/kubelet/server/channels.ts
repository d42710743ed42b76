import type { WebSocket } from 'ws';

/**
 * The WebSocket framing of Kubernetes' remote command streams (k8s.io/apimachinery/pkg/util/remotecommand and
 * the kubelet's wsstream): every binary message starts with a channel byte. v4.channel.k8s.io carries
 * stdin 0, stdout 1, stderr 2, the error channel 3 (a metav1.Status in JSON when the command ends) and
 * resize 4 (`{"Width":W,"Height":H}`); v5.channel.k8s.io adds channel 255, "close stream N" (the client's
 * stdin EOF). kubectl 1.30+ offers v5 first, then v4.
 */
export const REMOTE_COMMAND_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;

export const CH = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

export function send(ws: WebSocket, channel: number, data: Buffer | string): void {
  if (ws.readyState !== ws.OPEN) return;
  const payload = typeof data === 'string' ? Buffer.from(data) : data;
  ws.send(Buffer.concat([Buffer.from([channel]), payload]), { binary: true });
}

export interface TerminalSize {
  cols: number;
  rows: number;
}

/** A resize message, or undefined when it is not one. */
export function parseResize(payload: Buffer): TerminalSize | undefined {
  try {
    const v = JSON.parse(payload.toString('utf8')) as { Width?: unknown; Height?: unknown };
    const cols = Number(v.Width);
    const rows = Number(v.Height);
    if (!Number.isInteger(cols) || !Number.isInteger(rows) || cols < 0 || rows < 0) return undefined;
    return { cols, rows };
  } catch {
    return undefined;
  }
}

/** The error channel's message when the command ended: Success, or NonZeroExitCode with the code as cause
 *  (kubectl exits with that code). */
export function exitStatus(code: number, command: string[]): Record<string, unknown> {
  if (code === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

/** A failure before or while running (no exit code): InternalError with the message. */
export function errorStatus(message: string): Record<string, unknown> {
  return { metadata: {}, status: 'Failure', message, reason: 'InternalError', code: 500 };
}
