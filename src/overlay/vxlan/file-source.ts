/**
 * Peers from a JSON file: `[{ "name", "podCIDR", "publicIP", "vtepMAC" }, ...]`, this node included.
 * Re-read when the directory reports a change to it (inotify via fs.watch, which also sees an atomic
 * rename-over) and on every resync, so a missed event only delays convergence by one resync period.
 * A file that is missing or invalid keeps the last good list (logged): a half-written file must not
 * tear down every tunnel.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Logger } from '../../util/log.js';
import { errorMessage } from '../../util/errors.js';
import { peersFileSchema, type Peer } from './peers.js';
import type { PeerSource } from './agent.js';

export function parsePeersFile(text: string, source = 'peers file'): Peer[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: not JSON: ${errorMessage(err)}`, { cause: err });
  }
  const r = peersFileSchema.safeParse(json);
  if (!r.success) {
    const msg = r.error.issues.map((x) => `${x.path.join('.') || '(root)'}: ${x.message}`).join('; ');
    throw new Error(`${source}: ${msg}`);
  }
  const names = new Set<string>();
  for (const p of r.data) {
    if (names.has(p.name)) throw new Error(`${source}: node ${p.name} listed twice`);
    names.add(p.name);
  }
  return r.data;
}

export class FilePeerSource implements PeerSource {
  private current: Peer[] = [];
  private lastText: string | undefined;
  private watcher: FSWatcher | undefined;
  private onChange: (() => void) | undefined;

  constructor(
    private readonly path: string,
    private readonly log: Logger,
  ) {}

  async start(onChange: () => void): Promise<void> {
    this.onChange = onChange;
    await this.refresh();
    try {
      const name = basename(this.path);
      this.watcher = watch(dirname(this.path), (_event, file) => {
        if (file === null || file === name) void this.refresh();
      });
      this.watcher.on('error', (err) =>
        this.log.warn({ err: errorMessage(err) }, 'watching peers file failed; resync timer only'),
      );
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'cannot watch peers file; resync timer only');
    }
  }

  peers(): Peer[] {
    return this.current;
  }

  async refresh(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if (this.lastText !== '\0missing')
        this.log.warn({ file: this.path, err: errorMessage(err) }, 'cannot read peers file; keeping last list');
      this.lastText = '\0missing';
      return;
    }
    if (text === this.lastText) return;
    this.lastText = text;
    try {
      this.current = parsePeersFile(text, this.path);
    } catch (err) {
      this.log.error({ err: errorMessage(err) }, 'invalid peers file; keeping last list');
      return;
    }
    this.onChange?.();
  }

  async stop(): Promise<void> {
    this.watcher?.close();
    this.watcher = undefined;
    this.onChange = undefined;
  }
}
