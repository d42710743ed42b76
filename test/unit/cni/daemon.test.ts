import { describe, expect, it } from 'vitest';
import { DECLINED, parseRequest, serveRequest } from '../../../src/cni/daemon.js';
import type { CniPlugin } from '../../../src/cni/skel.js';
import { netConfSchema } from '../../../src/cni/spec/types.js';

const req = (header: string, env: string[], stdin: string) =>
  Buffer.concat([
    Buffer.from(`${header}\n`),
    Buffer.from(env.map((e) => `${e}\0`).join('')),
    Buffer.from('\0'),
    Buffer.from(stdin),
  ]);

const echo: CniPlugin = {
  name: 'echo',
  confSchema: netConfSchema,
  add: async (args, conf) => ({ cniVersion: conf.cniVersion, ips: [{ address: `10.0.0.${args.args.N ?? '9'}/24` }] }),
  del: async () => undefined,
};
const ownPid = process.pid; // this test process is in its own netns, so the namespace check passes

describe('skiff-cnid wire format', () => {
  it('parses header, env (values may hold = and newlines) and stdin', () => {
    const r = parseRequest(req('b1 42 /opt/cni/bin/bridge', ['A=1', 'B=x=y', 'C=l1\nl2', 'E='], '{"a":1}'));
    expect(r).toEqual({
      build: 'b1',
      pid: 42,
      self: '/opt/cni/bin/bridge',
      env: { A: '1', B: 'x=y', C: 'l1\nl2', E: '' },
      stdin: '{"a":1}',
    });
  });

  it('accepts an empty environment and an empty stdin; rejects truncated requests', () => {
    expect(parseRequest(req('b 1 x', [], ''))).toMatchObject({ env: {}, stdin: '' });
    expect(parseRequest(Buffer.from('b 1 x\nA=1\0'))).toBeUndefined();
    expect(parseRequest(Buffer.from('no newline'))).toBeUndefined();
    expect(parseRequest(Buffer.from('bad header\n\0'))).toBeUndefined();
  });
});

describe('serveRequest', () => {
  const opts = { build: 'b1', plugins: { echo } };
  const env = {
    CNI_COMMAND: 'ADD',
    CNI_CONTAINERID: 'c1',
    CNI_NETNS: '/run/netns/x',
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/bin',
    CNI_ARGS: 'N=7',
  };
  const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'echo' });

  it('runs the plugin with the caller env and stdin, and replies code:stdout', async () => {
    const r = await serveRequest({ build: 'b1', pid: ownPid, self: '/x/echo', env, stdin: conf }, opts);
    expect(r.startsWith('0:')).toBe(true);
    expect(JSON.parse(r.slice(2))).toMatchObject({ ips: [{ address: '10.0.0.7/24' }] });
  });

  it('relays CNI errors as code 1 with the error JSON', async () => {
    const r = await serveRequest({ build: 'b1', pid: ownPid, self: '/x/echo', env, stdin: '{bad' }, opts);
    expect(r.startsWith('1:')).toBe(true);
    expect(JSON.parse(r.slice(2))).toMatchObject({ code: 6 });
  });

  it('declines another build, an unknown type, and a caller in another network namespace', async () => {
    const base = { pid: ownPid, env, stdin: conf };
    expect(await serveRequest({ ...base, build: 'other', self: '/x/echo' }, opts)).toBe(DECLINED);
    expect(await serveRequest({ ...base, build: 'b1', self: '/x/bridge' }, opts)).toBe(DECLINED);
    expect(await serveRequest({ ...base, build: 'b1', self: '/x/echo' }, opts, 'net:[1]')).toBe(DECLINED);
  });
});
