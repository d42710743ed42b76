import { chmodSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConformanceReport } from '../../src/cni/conformance/runner.js';
import { runRaw } from '../../src/os/exec.js';
import { listNetns } from '../../src/os/netns.js';
import { Lab, requireRootAndTools } from '../helpers/lab.js';
import { callPlugin, OUR_BIN, REF_BIN, requirePlugins } from '../integration/cni/cnilab.js';

/**
 * Spec conformance through the user command, `skiff cni conformance` (src/cni/conformance: one case per
 * file): skiff's plugins pass every case; the reference plugins, side by side, answer the protocol cases with
 * the same exit status and error codes, their missing GC/STATUS shows as n/a and their known departures are
 * named; a plugin that leaks on DEL fails the run; the run leaves no namespace behind.
 */
const SKIFF = resolve(import.meta.dirname, '../../dist/skiff.mjs');
const ROOT = resolve(import.meta.dirname, '../..');

async function conformance(
  prefix: string,
  args: string[],
): Promise<{ code: number; report: ConformanceReport; stderr: string }> {
  const before = new Set(listNetns());
  const r = await runRaw(
    [process.execPath, SKIFF, 'cni', 'conformance', '-o', 'json', '--netns-prefix', prefix, ...args],
    {
      timeoutMs: 600_000,
    },
  );
  const leftover = listNetns().filter((n) => !before.has(n) && n.startsWith(prefix));
  expect(leftover, 'namespaces left by the run').toEqual([]);
  return { code: r.code, report: JSON.parse(r.stdout) as ConformanceReport, stderr: r.stderr };
}

describe('skiff cni conformance', () => {
  const lab = new Lab('conf');
  beforeAll(() => {
    requireRootAndTools(['ip', 'nft', 'tc', 'flock', 'iptables-save']);
    requirePlugins(['bridge', 'host-local', 'loopback', 'portmap', 'bandwidth']);
  });
  afterAll(() => lab.cleanup());

  it('skiff passes every case; the reference matches on the protocol, n/a without 1.1.0, departures named', async () => {
    const { code, report, stderr } = await conformance(`${lab.prefix}-a`, [
      '--cni-bin',
      OUR_BIN,
      '--reference',
      REF_BIN,
    ]);
    expect(code, stderr).toBe(0);
    expect(report.columns.map((c) => [c.name, c.cniVersion])).toEqual([
      ['under test', '1.1.0'],
      ['reference', '1.0.0'],
    ]);
    const row = (id: string) => report.rows.find((r) => r.id === id);
    expect(report.rows.length).toBeGreaterThanOrEqual(16);
    for (const r of report.rows)
      expect([r.id, r.outcomes[0]?.status, r.outcomes[0]?.detail]).toEqual([r.id, 'pass', r.outcomes[0]?.detail]);
    expect(row('versions')?.outcomes[0]?.detail).toBe('0.3.0 ok, 0.3.1 ok, 0.4.0 ok, 1.0.0 ok, 1.1.0 ok');
    expect(row('prevresult')?.outcomes[0]?.detail).toBe('bridge → bandwidth → portmap → loopback');
    // the same error codes from both
    for (const r of report.rows.filter((x) => x.id.startsWith('error-'))) {
      expect(r.outcomes.map((o) => [o.status, o.code])).toEqual([
        r.outcomes[0] && ['pass', r.outcomes[0].code],
        ['pass', r.outcomes[0]?.code],
      ]);
    }
    expect(row('gc')?.outcomes[1]).toMatchObject({
      status: 'n/a',
      detail: expect.stringMatching(/does not support 1\.1\.0/),
    });
    expect(row('status')?.outcomes[1]?.status).toBe('n/a');
    expect(row('bandwidth')?.outcomes[0]?.detail).toBe('1000 Mbit/s each way');
    for (const id of ['del-never-added', 'del-twice', 'prevresult', 'concurrent', 'check-detects'])
      expect([id, row(id)?.outcomes[1]?.status]).toEqual([id, 'pass']);
    // every reference failure is a known departure, named as such
    for (const r of report.rows.filter((x) => x.outcomes[1]?.status === 'fail'))
      expect([r.id, r.outcomes[1]?.known]).toEqual([r.id, expect.stringMatching(/^reference /)]);
  }, 600_000);

  it('fails the run for a plugin whose DEL leaks, naming what it left', async () => {
    const dir = lab.tmpdir();
    writeFileSync(
      join(dir, 'bridge'),
      `#!/bin/sh\n# a "bridge" that forgets to clean up\n[ "$CNI_COMMAND" = DEL ] && exit 0\nexec ${join(OUR_BIN, 'bridge')}\n`,
    );
    chmodSync(join(dir, 'bridge'), 0o755);
    symlinkSync(join(OUR_BIN, 'host-local'), join(dir, 'host-local'));
    const { code, report } = await conformance(`${lab.prefix}-b`, [
      '--cni-bin',
      dir,
      '--only',
      'add-check-del,del-never-added',
    ]);
    expect(code).toBe(1);
    const [life, never] = report.rows;
    expect(life?.outcomes[0]).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/^DEL left behind: .*(link|ipam-file|iptables|nft)/),
    });
    expect(never?.outcomes[0]?.status).toBe('pass');
  }, 300_000);

  it('--conf takes a template (cni-conf/reference.conflist) and keeps IPAM inside the run', async () => {
    const { code, report, stderr } = await conformance(`${lab.prefix}-c`, [
      '--cni-bin',
      OUR_BIN,
      '--conf',
      join(ROOT, 'cni-conf/reference.conflist'),
      '--only',
      'add-check-del,prevresult',
    ]);
    expect(code, stderr).toBe(0);
    expect(report.columns[0]).toMatchObject({ network: 'skiff-reference', cniVersion: '1.0.0' });
    expect(report.rows.map((r) => r.outcomes[0]?.status)).toEqual(['pass', 'pass']);
  }, 300_000);

  it('host-local alone: ADD then DEL twice, same behaviour from both, allocation released', async () => {
    const node = await lab.netns('hl');
    const dataDir = lab.tmpdir();
    for (const path of [OUR_BIN, REF_BIN]) {
      const env = { CNI_CONTAINERID: 'twice', CNI_NETNS: `/run/netns/${node}`, CNI_IFNAME: 'eth0', CNI_PATH: path };
      const conf = JSON.stringify({
        cniVersion: '1.0.0',
        name: `twice-${path === OUR_BIN ? 'skiff' : 'ref'}`,
        type: 'host-local',
        ipam: { type: 'host-local', subnet: '10.244.50.0/24', dataDir },
      });
      const add = await callPlugin(node, join(path, 'host-local'), { ...env, CNI_COMMAND: 'ADD' }, conf);
      expect(add.code, add.stdout).toBe(0);
      expect((JSON.parse(add.stdout) as { ips: { address: string }[] }).ips[0]?.address).toMatch(
        /^10\.244\.50\.\d+\/24$/,
      );
      for (let i = 0; i < 2; i++) {
        const del = await callPlugin(node, join(path, 'host-local'), { ...env, CNI_COMMAND: 'DEL' }, conf);
        expect([del.code, del.stdout.trim()]).toEqual([0, '']);
      }
    }
  });
});
