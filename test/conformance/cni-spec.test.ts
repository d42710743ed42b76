import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, requireRootAndTools } from '../helpers/lab.js';
import { callPlugin, IMPLS, requirePlugins } from '../integration/cni/cnilab.js';

/**
 * Spec conformance: one table of protocol cases, run against our plugins and the reference plugins, with
 * the same observable behaviour required of both (exit status, error code, output shape). Plugins run in
 * a lab namespace so that even a misbehaving DEL could not touch the root namespace.
 */
interface Outcome {
  exit: number;
  code?: number;
  json?: Record<string, unknown>;
  stdout: string;
}

describe('CNI spec conformance: skiff vs reference', () => {
  const lab = new Lab();
  let node = '';
  let dataDir = '';
  beforeAll(async () => {
    requireRootAndTools(['ip', 'flock']);
    requirePlugins(['bridge', 'host-local', 'loopback', 'portmap']);
    node = await lab.netns('node');
    dataDir = lab.tmpdir();
  });
  afterAll(() => lab.cleanup());

  const fullEnv = () => ({ CNI_CONTAINERID: 'conf1', CNI_NETNS: `/run/netns/${node}`, CNI_IFNAME: 'eth0' });
  const conf = (o: Record<string, unknown> = {}) =>
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'conformance',
      type: 'bridge',
      bridge: 'cnf0',
      ipam: { type: 'host-local', subnet: '10.244.50.0/24', dataDir },
      ...o,
    });

  async function call(pathDir: string, type: string, env: Record<string, string>, stdin: string): Promise<Outcome> {
    const r = await callPlugin(
      node,
      join(pathDir, type),
      { ...env, ...(env.CNI_PATH === '' ? {} : { CNI_PATH: pathDir }) },
      stdin,
    );
    let json: Record<string, unknown> | undefined;
    try {
      json = JSON.parse(r.stdout) as Record<string, unknown>;
    } catch {
      json = undefined;
    }
    return { exit: r.code, code: typeof json?.code === 'number' ? json.code : undefined, json, stdout: r.stdout };
  }

  const cases: {
    name: string;
    type: string;
    env: () => Record<string, string>;
    stdin: () => string;
    expect: (o: Outcome) => void;
  }[] = [
    {
      name: 'VERSION prints cniVersion and supportedVersions (incl. 0.4.0 and 1.0.0)',
      type: 'bridge',
      env: () => ({ CNI_COMMAND: 'VERSION' }),
      stdin: () => '{"cniVersion":"1.0.0"}',
      expect: (o) => {
        expect(o.exit).toBe(0);
        expect(typeof o.json?.cniVersion).toBe('string');
        expect(o.json?.supportedVersions).toEqual(expect.arrayContaining(['0.4.0', '1.0.0']));
      },
    },
    {
      name: 'unknown command → code 4',
      type: 'bridge',
      env: () => ({ ...fullEnv(), CNI_COMMAND: 'FROBNICATE' }),
      stdin: () => conf(),
      expect: (o) => expect([o.exit !== 0, o.code, o.json?.msg]).toEqual([true, 4, 'unknown CNI_COMMAND: FROBNICATE']),
    },
    {
      name: 'missing env → code 4 naming the variables',
      type: 'bridge',
      env: () => ({ CNI_COMMAND: 'ADD' }),
      stdin: () => conf(),
      expect: (o) => {
        expect([o.exit !== 0, o.code]).toEqual([true, 4]);
        expect(String(o.json?.msg)).toMatch(
          /required env variables \[CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME(,CNI_PATH)?\] missing/,
        );
      },
    },
    {
      name: 'bad JSON on stdin → code 6',
      type: 'bridge',
      env: () => ({ ...fullEnv(), CNI_COMMAND: 'ADD' }),
      stdin: () => '{"cniVersion": "1.0.0", nope',
      expect: (o) => {
        expect([o.exit !== 0, o.code]).toEqual([true, 6]);
        expect(String(o.json?.msg)).toMatch(/^error unmarshall network config/);
      },
    },
    {
      name: 'unsupported cniVersion → code 1',
      type: 'bridge',
      env: () => ({ ...fullEnv(), CNI_COMMAND: 'ADD' }),
      stdin: () => conf({ cniVersion: '9.9.9' }),
      expect: (o) => {
        expect([o.exit !== 0, o.code, o.json?.msg]).toEqual([true, 1, 'incompatible CNI versions']);
        expect(String(o.json?.details)).toMatch(/^config is "9\.9\.9", plugin supports \[/);
      },
    },
    {
      name: 'invalid container ID → code 4',
      type: 'host-local',
      env: () => ({ ...fullEnv(), CNI_CONTAINERID: 'bad id', CNI_COMMAND: 'ADD' }),
      stdin: () => conf({ type: 'host-local' }),
      expect: (o) =>
        expect([o.exit !== 0, o.code, o.json?.msg]).toEqual([true, 4, 'invalid characters in containerID']),
    },
    {
      name: 'DEL of an attachment that never existed succeeds silently (twice)',
      type: 'bridge',
      env: () => ({ CNI_CONTAINERID: 'never-added', CNI_IFNAME: 'eth0', CNI_COMMAND: 'DEL' }),
      stdin: () => conf(),
      expect: (o) => expect([o.exit, o.stdout.trim()]).toEqual([0, '']),
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const outcomes: Outcome[] = [];
      for (const impl of IMPLS) {
        const o = await call(impl.path, c.type, c.env(), c.stdin());
        c.expect(o);
        outcomes.push(o);
        if (c.name.startsWith('DEL')) c.expect(await call(impl.path, c.type, c.env(), c.stdin()));
      }
      // same observable behaviour: exit status and error code agree
      const [ours, ref] = outcomes as [Outcome, Outcome];
      expect([ours.exit === 0, ours.code]).toEqual([ref.exit === 0, ref.code]);
    });
  }

  it('ADD then DEL twice through host-local: same behaviour, allocation released', async () => {
    for (const impl of IMPLS) {
      const env = { ...fullEnv(), CNI_CONTAINERID: `twice-${impl.name}` };
      const hl = conf({ type: 'host-local', name: `twice-${impl.name}` });
      const add = await call(impl.path, 'host-local', { ...env, CNI_COMMAND: 'ADD' }, hl);
      expect(add.exit, add.stdout).toBe(0);
      expect((add.json?.ips as { address: string }[])[0]?.address).toMatch(/^10\.244\.50\.\d+\/24$/);
      for (let i = 0; i < 2; i++) {
        const del = await call(impl.path, 'host-local', { ...env, CNI_COMMAND: 'DEL' }, hl);
        expect([del.exit, del.stdout.trim()]).toEqual([0, '']);
      }
    }
  });
});
