/**
 * Dual-stack Services through the real kubectl against `skiff apiserver` with two service CIDRs: what
 * kube-apiserver allocates and refuses, and that both families' allocations survive a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, requireKubectlAndBuild, startServer, type ServerProc } from './server.js';

const RANGE = '10.96.0.0/16,fd00:10:96::/112';
const svcYaml = (name: string, spec: string) => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  selector: { app: ${name} }
  ports: [{ port: 80 }]
${spec}
`;

describe('dual-stack Services with kubectl', () => {
  let dir: string;
  let s: ServerProc;
  beforeAll(async () => {
    requireKubectlAndBuild();
    dir = mkdtempSync(join(tmpdir(), 'skiff-ip-dual-'));
    s = await startServer(dir, ['--store', 'sqlite', '--service-cluster-ip-range', RANGE]);
  }, 90_000);
  afterAll(async () => {
    await s?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = async (name: string) => {
    const r = await kubectl(s, ['get', 'svc', name, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout).spec;
  };

  it('allocates one ClusterIP per family for RequireDualStack, in the order of ipFamilies', async () => {
    const r = await kubectl(
      s,
      ['apply', '-f', '-'],
      [
        svcYaml('single', ''),
        svcYaml('dual', '  ipFamilyPolicy: RequireDualStack'),
        svcYaml('six-first', '  ipFamilyPolicy: PreferDualStack\n  ipFamilies: [IPv6, IPv4]'),
      ].join('---\n'),
    );
    expect(r.code, r.stderr).toBe(0);
    const single = await get('single');
    expect([single.ipFamilyPolicy, single.ipFamilies, single.clusterIPs.length]).toEqual(['SingleStack', ['IPv4'], 1]);
    const dual = await get('dual');
    expect(dual.ipFamilies).toEqual(['IPv4', 'IPv6']);
    expect(dual.clusterIPs[0]).toMatch(/^10\.96\./);
    expect(dual.clusterIPs[1]).toMatch(/^fd00:10:96::/);
    expect(dual.clusterIP).toBe(dual.clusterIPs[0]);
    const six = await get('six-first');
    expect(six.clusterIP).toMatch(/^fd00:10:96::/);
    const wide = await kubectl(s, ['get', 'svc', 'six-first', '-o', 'jsonpath={.spec.clusterIPs}']);
    expect(wide.stdout).toContain('fd00:10:96::');
  });

  it('refuses what kube-apiserver refuses, with its messages', async () => {
    const r = await kubectl(
      s,
      ['apply', '-f', '-'],
      svcYaml('bad', '  ipFamilyPolicy: SingleStack\n  ipFamilies: [IPv4, IPv6]'),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      'spec.ipFamilyPolicy: Invalid value: "SingleStack": must be \'RequireDualStack\' or ' +
        "'PreferDualStack' when multiple IP families are specified",
    );
    const out = await kubectl(s, ['apply', '-f', '-'], svcYaml('out', '  clusterIP: fd00:10:97::1'));
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('not in the valid range');
  });

  it('downgrades with SingleStack and keeps both families allocated across a restart', async () => {
    const before = await get('dual');
    const down = await kubectl(s, [
      'patch',
      'svc',
      'six-first',
      '--type=merge',
      '-p',
      '{"spec":{"ipFamilyPolicy":"SingleStack"}}',
    ]);
    expect(down.code, down.stderr).toBe(0);
    expect((await get('six-first')).ipFamilies).toEqual(['IPv6']);
    await s.stop();
    s = await startServer(dir, ['--store', 'sqlite', '--service-cluster-ip-range', RANGE]);
    const taken = await kubectl(
      s,
      ['apply', '-f', '-'],
      svcYaml('dup', `  clusterIP: ${before.clusterIPs[1]}\n  ipFamilies: [IPv6]`),
    );
    expect(taken.code).not.toBe(0);
    expect(taken.stderr).toContain('already allocated');
    const again = await kubectl(s, ['apply', '-f', '-'], svcYaml('dual2', '  ipFamilyPolicy: RequireDualStack'));
    expect(again.code, again.stderr).toBe(0);
    const d2 = await get('dual2');
    expect(d2.clusterIPs).toHaveLength(2);
    expect(d2.clusterIPs).not.toContain(before.clusterIPs[1]);
  }, 90_000);
});
