// Builds skiff with esbuild (tsc only type-checks):
//  - dist/skiff.mjs (+ lazily loaded chunks): the CLI, npm packages left external;
//  - plugins/bin/<type>: one self-contained file per CNI plugin, so a plugin process loads nothing else;
//  - dist/bench/<name>.mjs: the benchmarks.
import { build } from 'esbuild';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const common = { platform: 'node', target: 'node20', bundle: true, sourcemap: false, logLevel: 'warning' };

// A subcommand whose module does not exist yet is left out of the bundle; the CLI then says it is not
// available instead of the whole build failing.
const optionalCommands = {
  name: 'optional-commands',
  setup(b) {
    b.onResolve({ filter: /^\.\/[a-z-]+\.js$/ }, (args) => {
      if (!args.importer.endsWith(join('src', 'cmd', 'registry.ts'))) return undefined;
      const ts = join(args.resolveDir, args.path.replace(/\.js$/, '.ts'));
      return existsSync(ts) ? undefined : { path: args.path, external: true };
    });
  },
};

await build({
  ...common,
  entryPoints: { skiff: join(root, 'bin/skiff.ts') },
  outdir: join(root, 'dist'),
  format: 'esm',
  splitting: true,
  packages: 'external',
  outExtension: { '.js': '.mjs' },
  plugins: [optionalCommands],
});

const pluginsDir = join(root, 'plugins');
const pluginBin = join(pluginsDir, 'bin');
mkdirSync(pluginBin, { recursive: true });
// Extension-less CommonJS executables: portable to any CNI_PATH, no package.json needed beside them.
writeFileSync(join(pluginBin, 'package.json'), '{ "type": "commonjs" }\n');
// Every bundle starts with the sh prelude of src/cni/shim.sh (sh and JavaScript at once): it relays the call
// to a resident skiff-cnid of the same build when one serves this netns, else runs the file with node.
// The build id ties prelude and daemon together, so a daemon never serves a newer or older bundle.
const buildId = randomBytes(6).toString('hex');
const shim = readFileSync(join(root, 'src/cni/shim.sh'), 'utf8').replaceAll('@BUILD@', buildId);
for (const dir of readdirSync(pluginsDir)) {
  const entry = join(pluginsDir, dir, 'main.ts');
  if (dir === 'bin' || !existsSync(entry)) continue;
  const out = join(pluginBin, dir);
  const tmp = `${out}.tmp`;
  await build({
    ...common,
    entryPoints: [entry],
    outfile: tmp,
    format: 'cjs',
    minify: true,
    define: { __SKIFF_CNI_BUILD__: JSON.stringify(buildId) },
    banner: { js: shim },
  });
  chmodSync(tmp, 0o755);
  renameSync(tmp, out); // never a half-written plugin on CNI_PATH
}

const benchDir = join(root, 'bench');
const benches = existsSync(benchDir)
  ? readdirSync(benchDir)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => join(benchDir, f))
  : [];
if (benches.length) {
  await build({
    ...common,
    entryPoints: benches,
    outdir: join(root, 'dist/bench'),
    format: 'esm',
    packages: 'external',
    outExtension: { '.js': '.mjs' },
  });
}
