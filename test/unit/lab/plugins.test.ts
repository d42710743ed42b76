import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildIdOf, consistentBuild, hasDaemon, snapshotPlugins } from '../../../src/lab/plugins.js';
import { labPaths } from '../../../src/lab/paths.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function pluginDir(ids: Record<string, string | undefined>): string {
  const d = mkdtempSync(join(tmpdir(), 'skiff-plugins-'));
  dirs.push(d);
  writeFileSync(join(d, 'package.json'), '{ "type": "commonjs" }\n');
  for (const [f, id] of Object.entries(ids)) {
    const head = id ? `#!/bin/sh\n":" //; # skiff-cni-shim ${id} -- prelude\n` : '#!/bin/sh\necho plain\n';
    writeFileSync(join(d, f), `${head}module.exports = 1;\n`);
    chmodSync(join(d, f), 0o755);
  }
  return d;
}

describe('lab plugin copy (one build for CNI_PATH and skiff-cnid)', () => {
  it('reads the build id from the prelude', () => {
    const d = pluginDir({ bridge: 'ab12cd34ef56', other: undefined });
    expect(buildIdOf(join(d, 'bridge'))).toBe('ab12cd34ef56');
    expect(buildIdOf(join(d, 'other'))).toBeUndefined();
    expect(buildIdOf(join(d, 'missing'))).toBeUndefined();
  });

  it('copies a consistent build, with modes and package.json', () => {
    const src = pluginDir({ bridge: 'aaa111', 'host-local': 'aaa111', 'skiff-cnid': 'aaa111' });
    const dest = join(src, '..', `${src.split('/').pop()}-copy`);
    dirs.push(dest);
    expect(hasDaemon(src)).toBe(true);
    expect(snapshotPlugins(src, dest)).toBe('aaa111');
    expect(readFileSync(join(dest, 'package.json'), 'utf8')).toContain('commonjs');
    expect(statSync(join(dest, 'skiff-cnid')).mode & 0o111).not.toBe(0);
    expect(hasDaemon(dest)).toBe(true);
  });

  it('refuses mixed builds, files without a prelude, and a set without the daemon', () => {
    expect(() => consistentBuild(pluginDir({ bridge: 'aaa111', 'skiff-cnid': 'bbb222' }))).toThrow(
      /different builds: bridge=aaa111 skiff-cnid=bbb222/,
    );
    expect(() => consistentBuild(pluginDir({ bridge: undefined, 'skiff-cnid': 'aaa111' }))).toThrow(/bridge=\(none\)/);
    expect(() => consistentBuild(pluginDir({ bridge: 'aaa111' }))).toThrow(/no skiff-cnid/);
    const mixed = pluginDir({ bridge: 'aaa111', 'skiff-cnid': 'bbb222' });
    mkdirSync(join(mixed, 'subdir')); // ignored, like package.json
    expect(() => snapshotPlugins(mixed, join(mixed, 'copy'), 2)).toThrow(/could not copy one consistent plugin build/);
    expect(hasDaemon(mixed)).toBe(false); // no host-local
  });

  it('gives each node its own socket under the state dir', () => {
    const p = labPaths('/var/lib/skiff/lab');
    expect(p.cniSocket('node1')).toBe('/var/lib/skiff/lab/nodes/node1/cni.sock');
    expect(p.cniSocket('node2')).not.toBe(p.cniSocket('node1'));
    expect(p.cniBin).toBe('/var/lib/skiff/lab/cni-bin');
  });
});
