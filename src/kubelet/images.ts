import { existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { BUSYBOX_BIN, type ImageRun, resolveImage } from '../images/catalogue.js';
import type { ViewBind } from '../os/rootview.js';
import { runRaw } from '../os/exec.js';
import { resolveCommand } from './process.js';
import type { Container } from './types.js';

/**
 * Turns a container's image + command/args into what runs in its view (src/images/catalogue.ts): a built-in
 * server through the skiff entry, or node programs. Images outside the catalogue run only with an explicit
 * command that exists on the node; otherwise the container waits with a reason `kubectl get pods` shows.
 */
export interface Launch {
  argv: string[];
  /** extra read-only binds (busybox's applets) and PATH entries in front */
  binds: ViewBind[];
  pathPrefix: string[];
}
export type Waiting = { reason: string; message: string };

export class ImageRunner {
  private busyboxDir: string | undefined;

  constructor(
    private readonly imageEntry: string[],
    private readonly rootDir: string,
  ) {}

  /** Link busybox's applets once (busybox-static from the setup), for the busybox image's PATH. */
  async prepare(): Promise<void> {
    const busybox = resolveCommand('busybox', '/usr/bin:/bin:/usr/sbin:/sbin');
    if (!busybox) return;
    const dir = join(this.rootDir, 'images', 'busybox', 'bin');
    mkdirSync(dir, { recursive: true });
    const have = new Set(readdirSync(dir));
    const list = await runRaw([busybox, '--list']);
    for (const applet of list.stdout.split('\n').filter((a) => /^[\w.[-]+$/.test(a)))
      if (!have.has(applet)) symlinkSync(busybox, join(dir, applet));
    this.busyboxDir = dir;
  }

  launch(c: Container, path: string, volumeBinds: ViewBind[]): Launch | Waiting {
    const run: ImageRun =
      resolveImage(c.image, c) ??
      (c.command?.length
        ? { kind: 'exec', argv: [...c.command, ...(c.args ?? [])] }
        : {
            kind: 'unsupported',
            message:
              `image "${c.image}" is not in skiff's image catalogue (docs/cluster.md); give the ` +
              `container an explicit command that exists on the node`,
          });
    if (run.kind === 'unsupported') return { reason: 'ImageNotSupported', message: run.message };
    if (run.kind === 'builtin') return { argv: [...this.imageEntry, run.name, ...run.args], binds: [], pathPrefix: [] };
    const binds: ViewBind[] = [];
    const prefix = run.pathPrefix ?? [];
    if (prefix.includes(BUSYBOX_BIN)) {
      if (!this.busyboxDir || !existsSync(this.busyboxDir))
        return { reason: 'ImageNotSupported', message: `image "${c.image}" needs busybox-static on the node` };
      binds.push({ source: this.busyboxDir, target: BUSYBOX_BIN, readOnly: true });
    }
    const [cmd] = run.argv;
    if (!cmd) return { reason: 'RunContainerError', message: 'no command to run (empty command and args)' };
    // a command inside a volume (a script from a ConfigMap) exists only in the view
    const inVolume = cmd.startsWith('/') && volumeBinds.some((b) => cmd.startsWith(`${b.target.replace(/\/$/, '')}/`));
    const searchPath = [...(prefix.includes(BUSYBOX_BIN) && this.busyboxDir ? [this.busyboxDir] : []), path].join(':');
    if (!inVolume && !resolveCommand(cmd, searchPath))
      return { reason: 'RunContainerError', message: `command "${cmd}" not found on node` };
    return { argv: run.argv, binds, pathPrefix: prefix };
  }
}
