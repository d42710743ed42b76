import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { explain } from '../../../src/cni/conformance/known.js';
import { templateNetwork } from '../../../src/cni/conformance/network.js';
import { CASES } from '../../../src/cni/conformance/registry.js';
import { failures, formatTable, type ConformanceReport } from '../../../src/cni/conformance/runner.js';
import { snapshotDiff } from '../../../src/cni/conformance/snapshot.js';

const dir = mkdtempSync(join(tmpdir(), 'skiff-cnf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('conformance pieces', () => {
  it('case ids are unique', () => {
    expect(new Set(CASES.map((c) => c.id)).size).toBe(CASES.length);
  });

  it('snapshotDiff names what an attachment added and removed', () => {
    expect(snapshotDiff(['a', 'b'], ['b', 'c'])).toEqual({ added: ['c'], removed: ['a'] });
  });

  it('a --conf template is rendered with the run CIDR and every host-local gets the run dataDir', () => {
    const f = join(dir, 't.conflist');
    writeFileSync(
      f,
      '{"cniVersion":"1.0.0","name":"t","plugins":[{"type":"bridge","mtu":{{mtu}},"ipam":{"type":' +
        '"host-local","subnet":"{{podCIDR}}"}},{"type":"x","delegate":{"ipam":{"type":"host-local",' +
        '"dataDir":"/keep"}}}]}',
    );
    const { list } = templateNetwork(f)('/run/dir');
    expect(list.plugins[0]).toMatchObject({ mtu: 1500, ipam: { subnet: '10.244.250.0/24', dataDir: '/run/dir' } });
    expect(list.plugins[1]).toMatchObject({ delegate: { ipam: { dataDir: '/keep' } } });
  });

  it('known reference departures are named, other failures are left alone', () => {
    const d = 'error: could not check ipv6 dnat: chain CNI-DN-abc123 not found in iptables table nat';
    expect(explain('add-check-del', { status: 'fail', detail: d }).known).toMatch(/reference portmap CHECK/);
    expect(explain('gc', { status: 'fail', detail: d }).known).toBeUndefined();
    expect(explain('add-check-del', { status: 'pass' })).toEqual({ status: 'pass' });
  });

  it('only the first column decides the exit status; the table shows both', () => {
    const r: ConformanceReport = {
      columns: [
        { name: 'under test', path: ['/a'], network: 'n', cniVersion: '1.1.0', versions: ['1.1.0'] },
        { name: 'reference', path: ['/b'], network: 'n', cniVersion: '1.0.0', versions: ['1.0.0'] },
      ],
      rows: [
        { id: 'x', title: 'x', outcomes: [{ status: 'pass' }, { status: 'fail', detail: 'boom' }] },
        { id: 'y', title: 'y', outcomes: [{ status: 'n/a', detail: 'old' }, { status: 'pass' }] },
      ],
    };
    expect(failures(r)).toBe(0);
    expect(formatTable(r)).toMatch(/x\s+PASS\s+FAIL boom\ny\s+N\/A old\s+PASS/);
    r.rows[0]!.outcomes[0] = { status: 'fail', detail: 'leak' };
    expect(failures(r)).toBe(1);
  });
});
