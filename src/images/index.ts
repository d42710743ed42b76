import type { Running } from './netexec.js';

/**
 * The built-in image catalogue: an image reference maps to a server implemented in skiff itself, run as
 * `skiff image <name> [args]` inside the pod. Tags are accepted and ignored (`skiff/netexec:1.0`).
 */
export interface BuiltinImage {
  name: string;
  start(argv: string[]): Promise<Running>;
}

// Each image loads only its own module when it starts: a pod is one process per container, so what a
// server imports is paid for by every pod (the DNS image's Kubernetes client alone is ~70 MiB of RSS).
export const builtinImages: Record<string, BuiltinImage> = {
  netexec: {
    name: 'netexec',
    start: async (argv) => {
      const { startNetexec, parseNetexecArgs } = await import('./netexec.js');
      return startNetexec(parseNetexecArgs(argv));
    },
  },
  hostname: {
    name: 'hostname',
    start: async (argv) => {
      const { startHostname, parseHostnameArgs } = await import('./hostname.js');
      return startHostname(parseHostnameArgs(argv));
    },
  },
  'serve-hostname': {
    name: 'serve-hostname',
    start: async (argv) => {
      const { startHostname, parseHostnameArgs } = await import('./hostname.js');
      return startHostname({ ...parseHostnameArgs(argv), plain: true });
    },
  },
  ingress: {
    name: 'ingress',
    start: async (argv) => {
      const { startIngressController } = await import('../ingress/main.js');
      const r = await startIngressController(argv, 'skiff/ingress');
      return { close: async () => r?.close() };
    },
  },
  dns: {
    name: 'dns',
    start: async (argv) => {
      const { startDns, parseDnsArgs } = await import('./dns.js');
      return startDns(parseDnsArgs(argv));
    },
  },
};

/** "skiff/netexec:1.2" → "netexec"; undefined when the reference is not a built-in image. */
export function builtinImageName(image: string): string | undefined {
  const m = /^(?:docker\.io\/)?skiff\/([a-z0-9-]+)(?::[\w.-]+)?(?:@sha256:[0-9a-f]+)?$/.exec(image.trim());
  if (!m) return undefined;
  return builtinImages[m[1] as string] ? (m[1] as string) : undefined;
}
