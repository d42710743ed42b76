import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The lab's copy of skiff's CNI plugins. A lab runs one skiff-cnid per node, and the daemon only serves
 * plugin files of its own build (docs/cni.md). `node scripts/build.mjs` while a lab runs would therefore
 * silently turn the fast path off (and mix builds on CNI_PATH), so `skiff up` takes a private copy of one
 * consistent build and points both CNI_PATH and the daemons at it.
 */
const DAEMON = 'skiff-cnid';

const BUILD_RE = /skiff-cni-shim ([0-9a-f]+)/;

/** The build id in a bundled plugin's sh prelude, or undefined when the file has none. */
export function buildIdOf(file: string): string | undefined {
  try {
    // the id is on the prelude's second line; 512 bytes cover it
    return BUILD_RE.exec(readFileSync(file, 'utf8').slice(0, 512))?.[1];
  } catch {
    return undefined;
  }
}

/** The build id shared by every executable in `dir`; throws when they disagree or one has none. */
export function consistentBuild(dir: string): string {
  const ids = new Map<string, string>();
  for (const f of readdirSync(dir, { withFileTypes: true })) {
    if (!f.isFile() || f.name === 'package.json') continue;
    ids.set(f.name, buildIdOf(join(dir, f.name)) ?? '(none)');
  }
  const distinct = new Set(ids.values());
  if (!ids.has(DAEMON)) throw new Error(`${dir} has no ${DAEMON}`);
  if (distinct.size !== 1 || distinct.has('(none)')) {
    throw new Error(
      `plugins in ${dir} come from different builds: ${[...ids].map(([f, id]) => `${f}=${id}`).join(' ')}`,
    );
  }
  return [...distinct][0] as string;
}

/**
 * Copy `src` (plugins/bin) to `dest`, retrying (bounded) when a build was rewriting `src` meanwhile.
 * Returns the build id of the copy.
 */
export function snapshotPlugins(src: string, dest: string, attempts = 5): string {
  let last: Error | undefined;
  for (let i = 0; i < attempts; i++) {
    rmSync(dest, { recursive: true, force: true });
    mkdirSync(dest, { recursive: true });
    // package.json ({"type":"commonjs"}) too: the extension-less bundles are CommonJS wherever they live
    for (const f of readdirSync(src, { withFileTypes: true })) {
      // *.tmp: a bundle being written by a build right now (renamed into place when done)
      if (f.isFile() && !f.name.endsWith('.tmp')) copyFileSync(join(src, f.name), join(dest, f.name));
    }
    try {
      return consistentBuild(dest);
    } catch (err) {
      last = err as Error;
    }
  }
  throw new Error(`could not copy one consistent plugin build from ${src}: ${last?.message}`);
}

/** Does `dir` hold a built skiff plugin set that includes the resident helper? */
export function hasDaemon(dir: string): boolean {
  return existsSync(join(dir, DAEMON)) && existsSync(join(dir, 'bridge')) && existsSync(join(dir, 'host-local'));
}
