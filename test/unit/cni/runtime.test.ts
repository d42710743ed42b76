import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { PluginExec } from '../../../src/cni/invoke.js';
import { CniRuntime } from '../../../src/cni/runtime/runtime.js';
import { parseConf, parseConfList } from '../../../src/cni/runtime/config.js';
import { CniError } from '../../../src/cni/errors.js';

/** Records every plugin call; ADD answers with an address per plugin so prevResult threading is visible. */
function recorder() {
  const calls: { plugin: string; env: Record<string, string>; conf: Record<string, unknown> }[] = [];
  const exec: PluginExec = {
    async exec(path, env, stdin) {
      const conf = JSON.parse(stdin) as Record<string, unknown>;
      const plugin = path.split('/').pop() as string;
      calls.push({ plugin, env, conf });
      if (conf.type === 'failing')
        return { code: 1, stdout: JSON.stringify({ code: 11, msg: 'try later' }), stderr: '' };
      if (env.CNI_COMMAND !== 'ADD') return { code: 0, stdout: '', stderr: '' };
      const prev = (conf.prevResult as { ips?: unknown[] } | undefined)?.ips ?? [];
      return {
        code: 0,
        stdout: JSON.stringify({
          cniVersion: conf.cniVersion,
          ips: [
            ...prev,
            {
              address: `10.0.0.${calls.length}/24`,
              ...(String(conf.cniVersion).startsWith('0.') ? { version: '4' } : {}),
            },
          ],
        }),
        stderr: '',
      };
    },
  };
  return { calls, exec };
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function rt(exec: PluginExec) {
  const d = mkdtempSync(join(tmpdir(), 'skiff-rt-'));
  dirs.push(d);
  // /bin/true etc. are executables findInPath accepts; the recorder never really runs them.
  return new CniRuntime({ path: ['/usr/bin', '/bin'], cacheDir: d, exec });
}

const listText = JSON.stringify({
  cniVersion: '1.1.0',
  name: 'net1',
  plugins: [
    { type: 'true', a: 1 },
    { type: 'false', capabilities: { portMappings: true } },
  ],
});
const att = {
  containerId: 'ctr1',
  netns: '/run/netns/p',
  ifname: 'eth0',
  capabilityArgs: { portMappings: [{ hostPort: 80, containerPort: 8080 }] },
};

describe('CniRuntime', () => {
  it('ADD runs in order threading prevResult, passes capabilities only where declared, caches the result', async () => {
    const { calls, exec } = recorder();
    const r = rt(exec);
    const res = await r.addNetworkList(parseConfList(listText), att);
    expect(calls.map((c) => [c.plugin, c.env.CNI_COMMAND])).toEqual([
      ['true', 'ADD'],
      ['false', 'ADD'],
    ]);
    expect(calls[0]!.conf).toEqual({ type: 'true', a: 1, cniVersion: '1.1.0', name: 'net1' });
    expect(calls[1]!.conf.runtimeConfig).toEqual({ portMappings: [{ hostPort: 80, containerPort: 8080 }] });
    expect(calls[1]!.conf.prevResult).toEqual({ cniVersion: '1.1.0', ips: [{ address: '10.0.0.1/24' }] });
    expect(calls[0]!.env).toMatchObject({
      CNI_CONTAINERID: 'ctr1',
      CNI_NETNS: '/run/netns/p',
      CNI_IFNAME: 'eth0',
      CNI_PATH: '/usr/bin:/bin',
    });
    expect(res.ips).toHaveLength(2);
    expect(r.getCachedResult('net1', att)?.result?.ips).toEqual(res.ips);
  });

  it('DEL runs in reverse with the cached config and result, even if the current config changed', async () => {
    const { calls, exec } = recorder();
    const r = rt(exec);
    await r.addNetworkList(parseConfList(listText), att);
    calls.length = 0;
    const changed = parseConfList(
      JSON.stringify({ cniVersion: '1.1.0', name: 'net1', plugins: [{ type: 'true', a: 2 }] }),
    );
    await r.delNetworkList(changed, { containerId: 'ctr1', netns: '', ifname: 'eth0' });
    expect(calls.map((c) => c.plugin)).toEqual(['false', 'true']);
    expect(calls[1]!.conf.a).toBe(1);
    expect((calls[1]!.conf.prevResult as { ips: unknown[] }).ips).toHaveLength(2);
    expect(calls[0]!.conf.runtimeConfig).toBeDefined();
    expect(r.getCachedResult('net1', att)).toBeUndefined();
    calls.length = 0;
    await r.delNetworkList(changed, { containerId: 'ctr1', netns: '', ifname: 'eth0' }); // no cache: current config
    expect(calls.map((c) => [c.plugin, c.conf.a, c.conf.prevResult])).toEqual([['true', 2, undefined]]);
  });

  it('CHECK needs a cached result; GC deletes stale cached attachments then sends valid-attachments', async () => {
    const { calls, exec } = recorder();
    const r = rt(exec);
    const list = parseConfList(listText);
    await expect(r.checkNetworkList(list, att)).rejects.toThrow(/no cached result/);
    await r.addNetworkList(list, att);
    await r.addNetworkList(list, { ...att, containerId: 'ctr2' });
    calls.length = 0;
    await r.checkNetworkList(list, att);
    expect(calls.map((c) => c.env.CNI_COMMAND)).toEqual(['CHECK', 'CHECK']);
    calls.length = 0;
    await r.gcNetworkList(list, [{ containerID: 'ctr1', ifname: 'eth0' }]);
    expect(calls.map((c) => `${c.env.CNI_COMMAND} ${c.env.CNI_CONTAINERID ?? '-'}`)).toEqual([
      'DEL ctr2',
      'DEL ctr2',
      'GC -',
      'GC -',
    ]);
    expect(calls[2]!.conf['cni.dev/valid-attachments']).toEqual([{ containerID: 'ctr1', ifname: 'eth0' }]);
    expect(r.cache.list('net1').map((e) => e.containerId)).toEqual(['ctr1']);
  });

  it('a plugin error surfaces as its CniError; .conf files become one-plugin lists', async () => {
    const { exec } = recorder();
    const r = rt(exec);
    const bad = parseConfList(JSON.stringify({ cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'failing' }] }));
    // 'failing' is not on the path: plugin not available
    await expect(r.addNetworkList(bad, att)).rejects.toMatchObject({ code: 50 });
    const one = parseConf(JSON.stringify({ cniVersion: '1.0.0', name: 'solo', type: 'true', x: 1 }));
    expect(one.list).toEqual({ cniVersion: '1.0.0', name: 'solo', plugins: [{ type: 'true', x: 1 }] });
    expect(() => parseConfList('{"cniVersion":"1.0.0","name":"x","plugins":[]}')).toThrow(CniError);
  });

  it('cniVersions: the runtime uses the highest version it supports from the list (spec 1.1)', async () => {
    const l = parseConfList(
      JSON.stringify({
        cniVersion: '0.3.1',
        cniVersions: ['0.3.1', '1.0.0', '9.0.0'],
        name: 'v',
        plugins: [{ type: 'true' }],
      }),
    );
    expect(l.list.cniVersion).toBe('1.0.0');
    const { calls, exec } = recorder();
    await rt(exec).addNetworkList(l, att);
    expect(calls[0]?.conf.cniVersion).toBe('1.0.0');
    expect(calls[0]?.conf).not.toHaveProperty('cniVersions');
    expect(() =>
      parseConfList(
        JSON.stringify({ cniVersion: '1.0.0', cniVersions: ['9.0.0'], name: 'v', plugins: [{ type: 'true' }] }),
      ),
    ).toThrow(/none of cniVersions/);
  });

  it('0.3.1 lists: prevResult is converted to the list version; CHECK is refused', async () => {
    const l = parseConfList(
      JSON.stringify({ cniVersion: '0.3.1', name: 'old', plugins: [{ type: 'true' }, { type: 'true' }] }),
    );
    const { calls, exec } = recorder();
    const r = rt(exec);
    const res = await r.addNetworkList(l, att);
    expect(res.ips?.map((i) => i.address)).toEqual(['10.0.0.1/24', '10.0.0.2/24']);
    expect(calls[1]?.conf.prevResult).toMatchObject({
      cniVersion: '0.3.1',
      ips: [{ version: '4', address: '10.0.0.1/24' }],
    });
    await expect(r.checkNetworkList(l, att)).rejects.toMatchObject({ code: 1 });
  });
});
