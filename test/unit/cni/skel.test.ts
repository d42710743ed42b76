import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CniError } from '../../../src/cni/errors.js';
import { type CniPlugin, runPlugin, parseCniArgs } from '../../../src/cni/skel.js';
import { convertResult, parseResult } from '../../../src/cni/spec/convert.js';
import { netConfSchema, type Result } from '../../../src/cni/spec/types.js';

const env = { CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };

function harness(plugin: CniPlugin, e: Record<string, string>, stdin: string) {
  let out = '';
  let err = '';
  const io = {
    env: e,
    readStdin: () => stdin,
    stdout: (t: string) => void (out += t),
    stderr: (t: string) => void (err += t),
  };
  return runPlugin(plugin, io).then((code) => ({
    code,
    out,
    err,
    json: out ? (JSON.parse(out) as Record<string, unknown>) : undefined,
  }));
}

const calls: string[] = [];
const plugin: CniPlugin = {
  name: 'test',
  confSchema: netConfSchema.extend({ must: z.number().optional() }),
  async add(args, conf) {
    calls.push(`add ${args.containerId} ${conf.prevResult ? 'prev' : 'noprev'}`);
    if (conf.name === 'boom') throw new Error('kaput');
    if (conf.name === 'typed') throw new CniError(11, 'later', 'busy');
    return {
      cniVersion: conf.cniVersion,
      ips: [{ address: '10.0.0.2/24', gateway: '10.0.0.1' }, { address: 'fd00::2/64' }],
    };
  },
  async del() {
    calls.push('del');
  },
};
const conf = (o: Record<string, unknown> = {}) =>
  JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'test', ...o });

describe('runPlugin', () => {
  it('VERSION echoes the config version and lists supported versions', async () => {
    const r = await harness(plugin, { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}');
    expect(r).toMatchObject({
      code: 0,
      json: { cniVersion: '0.4.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] },
    });
  });

  it('maps protocol failures to the spec codes', async () => {
    const cases: [Record<string, string>, string, number, RegExp][] = [
      [{ ...env, CNI_COMMAND: 'FROB' }, conf(), 4, /unknown CNI_COMMAND: FROB/],
      [
        { CNI_COMMAND: 'ADD', CNI_PATH: '/x' },
        conf(),
        4,
        /required env variables \[CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME\] missing/,
      ],
      [{ ...env, CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'a b' }, conf(), 4, /invalid characters in containerID/],
      [{ ...env, CNI_COMMAND: 'ADD', CNI_IFNAME: 'eth0/x' }, conf(), 4, /interface name contains/],
      [{ ...env, CNI_COMMAND: 'ADD' }, '{nope', 6, /error unmarshall network config/],
      [{ ...env, CNI_COMMAND: 'ADD' }, conf({ cniVersion: '9.9.9' }), 1, /incompatible CNI versions/],
      [{ ...env, CNI_COMMAND: 'ADD' }, conf({ must: 'x' }), 7, /invalid network config: must/],
      [{ ...env, CNI_COMMAND: 'ADD' }, conf({ name: 'boom' }), 999, /kaput/],
      [{ ...env, CNI_COMMAND: 'ADD' }, conf({ name: 'typed' }), 11, /later/],
      [{ ...env, CNI_COMMAND: 'GC' }, conf(), 1, /does not allow GC/],
      [{ ...env, CNI_COMMAND: 'CHECK' }, conf({ cniVersion: '0.3.1' }), 1, /does not allow CHECK/],
      [{ ...env, CNI_COMMAND: 'ADD' }, conf({ cniVersion: '0.2.0' }), 1, /incompatible CNI versions/],
    ];
    for (const [e, stdin, code, msg] of cases) {
      const r = await harness(plugin, e, stdin);
      expect(r.code, stdin).toBe(1);
      expect(r.json?.code, JSON.stringify(r.json)).toBe(code);
      expect(String(r.json?.msg)).toMatch(msg);
    }
  });

  it('converts the result to the config version (0.4.0 adds ip versions) and parses prevResult', async () => {
    const r = await harness(
      plugin,
      { ...env, CNI_COMMAND: 'ADD' },
      conf({
        cniVersion: '0.4.0',
        prevResult: { cniVersion: '0.4.0', ips: [{ version: '4', address: '10.0.0.9/24' }] },
      }),
    );
    expect(r.code).toBe(0);
    expect(r.json).toEqual({
      cniVersion: '0.4.0',
      ips: [
        { version: '4', address: '10.0.0.2/24', gateway: '10.0.0.1' },
        { version: '6', address: 'fd00::2/64' },
      ],
    });
    expect(calls).toContain('add c1 prev');
  });

  it('speaks 0.3.0 and 0.3.1: the result and prevResult carry ip versions', async () => {
    for (const v of ['0.3.0', '0.3.1']) {
      const r = await harness(
        plugin,
        { ...env, CNI_COMMAND: 'ADD' },
        conf({ cniVersion: v, prevResult: { cniVersion: v, ips: [{ version: '4', address: '10.0.0.9/24' }] } }),
      );
      expect(r.code, r.out).toBe(0);
      expect(r.json).toMatchObject({ cniVersion: v, ips: [{ version: '4' }, { version: '6' }] });
    }
  });

  it('DEL needs no netns and prints nothing', async () => {
    const { CNI_NETNS: _n, ...noNs } = env;
    const r = await harness(plugin, { ...noNs, CNI_COMMAND: 'DEL' }, conf());
    expect(r).toMatchObject({ code: 0, out: '' });
  });

  it('GC at 1.1.0 without a gc handler succeeds; bare invocation prints the about text', async () => {
    expect((await harness(plugin, { CNI_COMMAND: 'GC', CNI_PATH: '/x' }, conf({ cniVersion: '1.1.0' }))).code).toBe(0);
    const r = await harness(plugin, {}, '');
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/CNI protocol versions supported: 0\.3\.0, 0\.3\.1, 0\.4\.0, 1\.0\.0, 1\.1\.0/);
  });

  it('parses CNI_ARGS', () => {
    expect(parseCniArgs('IgnoreUnknown=1;K8S_POD_NAME=p')).toEqual({ IgnoreUnknown: '1', K8S_POD_NAME: 'p' });
    expect(() => parseCniArgs('bad')).toThrow(CniError);
  });
});

describe('result conversion', () => {
  it('round-trips between 0.4.0 and 1.x', () => {
    const r: Result = {
      cniVersion: '1.1.0',
      interfaces: [{ name: 'eth0', sandbox: '/x' }],
      ips: [{ address: 'fd00::1/64', interface: 0 }],
    };
    const wire = convertResult(r, '0.4.0');
    expect(wire).toMatchObject({ cniVersion: '0.4.0', ips: [{ version: '6', address: 'fd00::1/64', interface: 0 }] });
    expect(parseResult(wire, '0.4.0')).toEqual({ ...r, cniVersion: '0.4.0' });
    expect(() => parseResult({ cniVersion: '1.0.0', ips: [{ address: 'nope' }] }, '1.0.0')).toThrow(CniError);
  });
});
