/**
 * Builds the libcni driver (main.go next to this file) offline from Debian's golang-github-appc-cni-dev
 * (/usr/share/gocode) into a temporary directory: GOPATH mode, no module download, nothing installed.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runRaw } from '../../../src/os/exec.js';

const GOCODE = '/usr/share/gocode';
const SRC_DIR = dirname(fileURLToPath(import.meta.url));

export async function buildLibcniDriver(outDir: string): Promise<string> {
  if (!existsSync(join(GOCODE, 'src/github.com/containernetworking/cni/libcni')))
    throw new Error(`libcni source missing under ${GOCODE}: install golang-github-appc-cni-dev (scripts/setup.sh)`);
  const out = join(outDir, 'libcni-driver');
  const r = await runRaw(['go', 'build', '-o', out, join(SRC_DIR, 'main.go')], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      GO111MODULE: 'off',
      GOPATH: GOCODE,
      GOFLAGS: '',
      GOPROXY: 'off',
    },
    timeoutMs: 300_000,
  });
  if (r.code !== 0) throw new Error(`go build of the libcni driver failed: ${r.stderr.trim()}`);
  return out;
}
