import { builtinImages } from '../images/index.js';
import { UserError } from '../util/errors.js';

/**
 * `skiff image <name> [args]`: run a built-in image in the foreground (the kubelet starts this inside the
 * pod). SIGTERM closes the listeners and exits 0, after --delay-shutdown seconds if given.
 */
export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(
      `Usage: skiff image <${Object.keys(builtinImages).join('|')}> [args]\n` +
        '  netexec  [--http-port 8080] [--udp-port 8081] [--delay-shutdown SECONDS]\n' +
        '  hostname [--port 9376]\n' +
        '  dns      [--port 53] [--domain cluster.local] [--ttl 5] [--kubeconfig FILE] [--upstream IP[:PORT]]\n' +
        '           [--health-port 8080] [--ready-port 8181]\n',
    );
    return;
  }
  const image = builtinImages[name];
  if (!image)
    throw new UserError(`skiff image: unknown image "${name}" (built-in: ${Object.keys(builtinImages).join(', ')})`, 2);
  const delay = Number(/--delay-shutdown[= ](\d+)/.exec(rest.join(' '))?.[1] ?? 0);
  const running = await image.start(rest);
  process.stderr.write(`skiff image ${name}: serving\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      setTimeout(() => void running.close().finally(resolve), delay * 1000);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  process.exit(0);
}
