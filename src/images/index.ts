import { parseDnsArgs, startDns } from './dns.js';
import { startHostname, parseHostnameArgs } from './hostname.js';
import { startNetexec, parseNetexecArgs, type Running } from './netexec.js';

/**
 * The built-in image catalogue: an image reference maps to a server implemented in skiff itself, run as
 * `skiff image <name> [args]` inside the pod. Tags are accepted and ignored (`skiff/netexec:1.0`).
 */
export interface BuiltinImage {
  name: string;
  start(argv: string[]): Promise<Running>;
}

export const builtinImages: Record<string, BuiltinImage> = {
  netexec: { name: 'netexec', start: (argv) => startNetexec(parseNetexecArgs(argv)) },
  hostname: { name: 'hostname', start: (argv) => startHostname(parseHostnameArgs(argv)) },
  'serve-hostname': {
    name: 'serve-hostname',
    start: (argv) => startHostname({ ...parseHostnameArgs(argv), plain: true }),
  },
  ingress: {
    name: 'ingress',
    start: async (argv) => {
      const { startIngressController } = await import('../ingress/main.js');
      const r = await startIngressController(argv, 'skiff/ingress');
      return { close: async () => r?.close() };
    },
  },
  dns: { name: 'dns', start: (argv) => startDns(parseDnsArgs(argv)) },
};

/** "skiff/netexec:1.2" → "netexec"; undefined when the reference is not a built-in image. */
export function builtinImageName(image: string): string | undefined {
  const m = /^(?:docker\.io\/)?skiff\/([a-z0-9-]+)(?::[\w.-]+)?(?:@sha256:[0-9a-f]+)?$/.exec(image.trim());
  if (!m) return undefined;
  return builtinImages[m[1] as string] ? (m[1] as string) : undefined;
}
