/**
 * kill -9 of the API server in the middle of writes, with the sqlite store and with etcd (started by the
 * test): every acknowledged object survives the restart, and a watch resumed from the last resourceVersion
 * it saw receives every later event.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { startEtcd } from '../../../src/store/etcd-server.js';
import { rawRequest, requireKubectlAndBuild, startServer, tokenOf, until, type ServerProc } from './server.js';

interface Event {
  type: string;
  object: { metadata: { name?: string; resourceVersion?: string } };
}

/** Stream a watch; events are pushed as they arrive. */
function openWatch(s: ServerProc, path: string, events: Event[]): { close(): void; ended: Promise<void> } {
  const kc = parse(readFileSync(s.kubeconfig, 'utf8')) as {
    clusters: { cluster: { 'certificate-authority-data': string } }[];
  };
  const ca = Buffer.from(kc.clusters[0]!.cluster['certificate-authority-data'], 'base64');
  let buf = '';
  let req: ReturnType<typeof request>;
  const ended = new Promise<void>((resolve) => {
    req = request(
      new URL(path, s.url),
      { agent: new Agent({ ca }), headers: { Authorization: `Bearer ${tokenOf(s.kubeconfig)}` } },
      (res) => {
        res.on('data', (d: Buffer) => {
          buf += d.toString();
          let i;
          while ((i = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            if (line.trim()) events.push(JSON.parse(line) as Event);
          }
        });
        res.on('end', () => resolve());
        res.on('error', () => resolve());
      },
    );
    req.on('error', () => resolve());
    req.end();
  });
  return { close: () => req.destroy(), ended };
}

const lab = new Lab();
const started: ServerProc[] = [];

beforeAll(() => {
  requireRootAndTools(['etcd']);
  requireKubectlAndBuild();
  lab.onCleanup(async () => {
    for (const p of started) await p.stop();
  });
});

async function start(dir: string, flags: string[]): Promise<ServerProc> {
  const p = await startServer(dir, flags);
  started.push(p);
  return p;
}
afterAll(async () => {
  await lab.cleanup();
});

describe.each(['sqlite', 'etcd'])('API server restart (%s)', (store) => {
  it('loses no acknowledged object and no watch event across kill -9', async () => {
    const dir = lab.tmpdir();
    let flags = ['--store', store];
    if (store === 'etcd') {
      const etcd = await startEtcd({ dataDir: `${dir}/etcd`, name: lab.prefix });
      lab.onCleanup(() => etcd.stop());
      flags = [...flags, '--etcd-endpoints', etcd.endpoint];
    }
    let s = await start(dir, flags);
    const token = tokenOf(s.kubeconfig);
    const list0 = JSON.parse((await rawRequest(s, 'GET', '/api/v1/namespaces/default/configmaps', { token })).body) as {
      metadata: { resourceVersion: string };
    };
    const first: Event[] = [];
    const w1 = openWatch(
      s,
      `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${list0.metadata.resourceVersion}`,
      first,
    );

    const acked: string[] = [];
    const server = s;
    // Writers keep going while the server is killed; only 201s count as acknowledged.
    const writer = (async () => {
      for (let i = 0; i < 5000; i++) {
        const name = `cm-${i}`;
        try {
          const r = await rawRequest(server, 'POST', '/api/v1/namespaces/default/configmaps', {
            token,
            body: JSON.stringify({ metadata: { name }, data: { i: String(i) } }),
          });
          if (r.status === 201) acked.push(name);
        } catch {
          return;
        }
      }
    })();
    await until('some acknowledged writes seen by the watch', 30_000, () =>
      acked.length >= 60 && first.some((e) => e.type === 'ADDED') ? true : undefined,
    );
    await s.kill9();
    await writer;
    w1.close();
    expect(acked.length).toBeGreaterThanOrEqual(60);
    const lastSeen = first.filter((e) => e.type === 'ADDED').at(-1)!;
    const seenNames = new Set(first.map((e) => e.object.metadata.name));

    s = await start(dir, flags);
    const after = JSON.parse((await rawRequest(s, 'GET', '/api/v1/namespaces/default/configmaps', { token })).body) as {
      items: { metadata: { name: string } }[];
    };
    const names = new Set(after.items.map((i) => i.metadata.name));
    for (const n of acked) expect(names.has(n), `acknowledged ${n} survived`).toBe(true);

    // Resume from the last event the first watch saw: every later write arrives, nothing is skipped.
    const resumed: Event[] = [];
    const w2 = openWatch(
      s,
      `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${lastSeen.object.metadata.resourceVersion}`,
      resumed,
    );
    try {
      const missing = () =>
        acked.filter((n) => !seenNames.has(n) && !resumed.some((e) => e.object.metadata.name === n));
      await until('the resumed watch to deliver every later write', 30_000, () =>
        missing().length === 0 ? true : undefined,
      );
      expect(resumed.every((e) => e.type === 'ADDED')).toBe(true);
      const revs = resumed.map((e) => Number(e.object.metadata.resourceVersion));
      expect(
        revs.every((r, i) => r > Number(lastSeen.object.metadata.resourceVersion) && (i === 0 || r > revs[i - 1]!)),
      ).toBe(true);
    } finally {
      w2.close();
    }

    // The event history survived too: a watch from revision 1 replays every acknowledged creation.
    const replay: Event[] = [];
    const w3 = openWatch(
      s,
      '/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1&timeoutSeconds=20',
      replay,
    );
    try {
      await until('the replay from revision 1', 30_000, () =>
        acked.every((n) => replay.some((e) => e.object.metadata.name === n)) ? true : undefined,
      );
    } finally {
      w3.close();
    }
  });
});
