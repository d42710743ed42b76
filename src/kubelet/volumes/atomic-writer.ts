import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { type Payload, VolumeError } from './types.js';

/**
 * Writes a projected payload the way Kubernetes' AtomicWriter does, so a container never sees a half-updated
 * volume: the files go into a fresh `..<timestamp>` directory, `..data` is switched to it with one rename, and
 * each top-level name is a symlink through `..data`. Older generations are removed afterwards.
 */
export function validatePayloadPath(p: string): void {
  if (!p || p.startsWith('/') || p.split('/').some((s) => s === '..' || s === '') || p.startsWith('..'))
    throw new VolumeError(`invalid path "${p}": must be relative, without ".." elements, and not start with ".."`);
}

export function writePayload(dir: string, payload: Payload): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  for (const p of payload.keys()) validatePayloadPath(p);
  const gen = `..${new Date().toISOString().replace(/[-:.]/g, '_')}.${randomBytes(3).toString('hex')}`;
  const genDir = join(dir, gen);
  mkdirSync(genDir, { mode: 0o755 });
  for (const [p, f] of payload) {
    const file = join(genDir, p);
    mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
    writeFileSync(file, f.data, { mode: f.mode });
    chmodSync(file, f.mode);
  }
  const tmpLink = join(dir, '..data_tmp');
  rmSync(tmpLink, { force: true });
  symlinkSync(gen, tmpLink);
  renameSync(tmpLink, join(dir, '..data'));
  const top = new Set([...payload.keys()].map((p) => p.split('/')[0] as string));
  for (const name of top) {
    const link = join(dir, name);
    let current: string | undefined;
    try {
      current = readlinkSync(link);
    } catch {
      current = undefined;
    }
    if (current !== join('..data', name)) {
      rmSync(link, { recursive: true, force: true });
      symlinkSync(join('..data', name), link);
    }
  }
  for (const entry of readdirSync(dir)) {
    if (entry === '..data' || entry === gen) continue;
    if (entry.startsWith('..') || !top.has(entry)) rmSync(join(dir, entry), { recursive: true, force: true });
  }
}
