import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * One logger per component. JSON to stderr by default (so stdout stays free for CNI results and CLI
 * output); pretty when stderr is a TTY. Level from SKIFF_LOG_LEVEL (default info).
 */
export function createLogger(component: string, bindings: Record<string, unknown> = {}): Logger {
  const level = process.env.SKIFF_LOG_LEVEL ?? 'info';
  const pretty = process.stderr.isTTY && process.env.SKIFF_LOG_FORMAT !== 'json';
  if (pretty) {
    return pino({
      level,
      base: { component, ...bindings },
      transport: { target: 'pino-pretty', options: { destination: 2, ignore: 'pid,hostname' } },
    });
  }
  return pino({ level, base: { component, ...bindings } }, pino.destination(2));
}
