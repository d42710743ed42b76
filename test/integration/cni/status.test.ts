import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSubnetFile } from '../../../src/overlay/vxlan/subnetfile.js';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { callPlugin, OUR_BIN } from './cnilab.js';

/**
 * STATUS (spec 1.1): bridge delegates it to its IPAM plugin (so an IPAM that cannot serve makes the network
 * not ready); vxlan is not ready until the agent has written the node's subnet file. Plugins run in a lab
 * namespace.
 */
describe('STATUS', () => {
  const lab = new Lab('status');
  let node = '';
  let tmp = '';
  beforeAll(async () => {
    requireRootAndTools(['ip', 'flock']);
    node = await lab.netns('node');
    tmp = lab.tmpdir();
    // an IPAM plugin that is down: STATUS answers code 50
    writeFileSync(
      join(tmp, 'down-ipam'),
      '#!/bin/sh\nif [ "$CNI_COMMAND" = STATUS ]; then echo \'{"code":50,"msg":"ipam pool offline"}\'; exit 1; fi\nexit 0\n',
    );
    chmodSync(join(tmp, 'down-ipam'), 0o755);
  });
  afterAll(() => lab.cleanup());

  const status = (type: string, conf: Record<string, unknown>) =>
    callPlugin(
      node,
      join(OUR_BIN, type),
      { CNI_COMMAND: 'STATUS', CNI_PATH: `${tmp}:${OUR_BIN}` },
      JSON.stringify({ cniVersion: '1.1.0', name: 'st', type, ...conf }),
    );

  it("bridge answers its IPAM's STATUS", async () => {
    const ok = await status('bridge', { ipam: { type: 'host-local', subnet: '10.244.60.0/24', dataDir: tmp } });
    expect([ok.code, ok.stdout]).toEqual([0, '']);
    const down = await status('bridge', { ipam: { type: 'down-ipam' } });
    expect(down.code).toBe(1);
    expect(JSON.parse(down.stdout)).toMatchObject({ code: 50, msg: 'ipam pool offline' });
  });

  it('vxlan is not ready without the subnet file, ready once the agent wrote it', async () => {
    const subnetFile = join(tmp, 'subnet.env');
    const conf = { subnetFile, cacheDir: join(tmp, 'vx'), delegate: { ipam: { dataDir: tmp } } };
    const before = await status('vxlan', conf);
    expect(before.code).toBe(1);
    expect(JSON.parse(before.stdout)).toMatchObject({ code: 50, msg: expect.stringMatching(/not ready: .*subnet/) });
    await writeSubnetFile(subnetFile, {
      network: '10.244.0.0/16',
      subnet: '10.244.61.1/24',
      mtu: 1450,
      vni: 1,
      port: 8472,
    });
    const after = await status('vxlan', conf);
    expect([after.code, after.stdout]).toEqual([0, '']);
  });
});
