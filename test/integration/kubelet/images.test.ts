import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCriLine } from '../../../src/kubelet/server/cri-log.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podNetnsName } from '../../../src/kubelet/pod.js';
import { httpGetIn } from '../../../src/lab/http.js';
import { runRaw } from '../../../src/os/exec.js';
import { namedNs } from '../../../src/os/ns.js';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { Harness, waitUntil } from './harness.js';

/** The images service tests use, run unchanged by a real kubelet: agnhost, serve_hostname, busybox, curl. */
interface PodJson {
  metadata: { name: string; uid: string };
  status?: {
    phase?: string;
    podIP?: string;
    containerStatuses?: { state: { waiting?: { reason: string; message?: string } } }[];
  };
}

const lab = new Lab('img');
let h: Harness;
let node: Awaited<ReturnType<Harness['startNode']>>;
const getPod = (n: string): Promise<PodJson> => h.api.request<PodJson>('GET', `/api/v1/namespaces/default/pods/${n}`);
const create = (name: string, container: Record<string, unknown>, restartPolicy = 'Always'): Promise<unknown> =>
  h.api.request('POST', '/api/v1/namespaces/default/pods', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      nodeName: 'node1',
      restartPolicy,
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'c', ...container }],
    },
  });
const running = (name: string): Promise<PodJson> =>
  waitUntil(
    `${name} Running`,
    60_000,
    async () => {
      const p = await getPod(name);
      return p.status?.phase === 'Running' && p.status.podIP ? p : undefined;
    },
    [node.proc],
  );
/** curl from inside a pod's namespace (it keeps the connection open while netexec dials; socat half-closes) */
const curlIn = async (netns: string, url: string): Promise<unknown> =>
  JSON.parse(
    (await runRaw(['curl', '-s', '--max-time', '20', url], { ns: namedNs(netns), timeoutMs: 25_000 })).stdout || '{}',
  );
const output = (p: PodJson, match: RegExp): Promise<string> =>
  waitUntil(`${p.metadata.name} output`, 30_000, () => {
    const f = join(node.root, 'pods', p.metadata.uid, 'containers', 'c', 'output.log');
    // what `kubectl logs` shows of the CRI-format file
    const lines = existsSync(f) ? readFileSync(f, 'utf8').split('\n') : [];
    const t = lines.map((l) => parseCriLine(l)?.content ?? '').join('');
    if (!match.test(t)) throw new Error(`output so far: ${JSON.stringify(t.slice(-500))}`);
    return t;
  });

describe('image catalogue', () => {
  beforeAll(async () => {
    requireRootAndTools(['ip', 'nsenter', 'unshare', 'socat', 'busybox', 'curl']);
    h = new Harness(lab);
    await h.startControlPlane();
    node = await h.startNode('node1');
    await h.makeReady('node1', '10.244.1.0/24', node.proc);
  });
  afterAll(async () => {
    await lab.cleanup();
  });

  it('runs agnhost netexec (with /dial over HTTP and UDP) and serve_hostname as built-ins', async () => {
    await create('agn', {
      image: 'registry.k8s.io/e2e-test-images/agnhost:2.47',
      args: ['netexec', '--http-port=8080', '--udp-port=8081'],
    });
    await create('sh', { image: 'registry.k8s.io/serve_hostname:1.1' });
    const agn = await running('agn');
    const sh = await running('sh');
    const ns = podNetnsName(node.ns, agn.metadata.uid);
    const ip = agn.status?.podIP as string;
    expect(await waitUntil('sh answers', 20_000, () => httpGetIn(ns, sh.status?.podIP as string, 9376, '/'))).toBe(
      'sh',
    );
    await waitUntil('agn answers', 20_000, () => httpGetIn(ns, ip, 8080, '/hostname'));
    const q = (p: Record<string, string>) => `/dial?${new URLSearchParams(p).toString()}`;
    const viaHttp = await curlIn(
      ns,
      `http://${ip}:8080${q({ request: 'hostname', protocol: 'http', host: sh.status?.podIP as string, port: '9376', tries: '2' })}`,
    );
    expect(viaHttp).toEqual({ responses: ['sh', 'sh'] });
    const viaUdp = await curlIn(
      ns,
      `http://${ip}:8080${q({ request: 'echo hi', protocol: 'udp', host: ip, port: '8081' })}`,
    );
    expect(viaUdp).toEqual({ responses: ['hi'] });
    const refused = await curlIn(
      ns,
      `http://${ip}:8080${q({ request: 'hostname', protocol: 'http', host: ip, port: '9' })}`,
    );
    expect(refused).toMatchObject({ errors: [expect.stringMatching(/ECONNREFUSED/)] });
    expect(await httpGetIn(ns, ip, 8080, '/echo?msg=ping')).toBe('ping');
    expect(await httpGetIn(ns, ip, 8080, '/clientip')).toMatch(new RegExp(`^${ip.replace(/\./g, '\\.')}:\\d+$`));
  });

  it('runs busybox with its applets first on PATH, and curlimages/curl with args as curl arguments', async () => {
    await create('bb', { image: 'busybox:1.36', args: ['sh', '-c', 'echo "PATH=$PATH"; which wget; sleep 3600'] });
    const bb = await running('bb');
    const out = await output(bb, /wget/);
    expect(out).toMatch(/^PATH=\/busybox\/bin:/m);
    expect(out).toMatch(/^\/busybox\/bin\/wget$/m);
    const agn = await running('agn');
    await create(
      'curl',
      { image: 'curlimages/curl:8.5.0', args: ['-s', `http://${agn.status?.podIP}:8080/hostname`] },
      'Never',
    );
    const done = await waitUntil('curl done', 30_000, async () => {
      const p = await getPod('curl');
      return p.status?.phase === 'Succeeded' ? p : undefined;
    });
    expect(await output(done, /agn/)).toBe('agn');
  });

  it('says why it cannot run an image or an agnhost subcommand', async () => {
    await create('nginx', { image: 'nginx:1.25' });
    await create('agn-dns', { image: 'registry.k8s.io/e2e-test-images/agnhost:2.47', args: ['dns-server'] });
    for (const [name, msg] of [
      ['nginx', /not in skiff's image catalogue/],
      ['agn-dns', /agnhost subcommand "dns-server" is not available/],
    ] as const) {
      const w = await waitUntil(
        `${name} waiting`,
        30_000,
        async () => (await getPod(name)).status?.containerStatuses?.[0]?.state.waiting,
      );
      expect(w.reason).toBe('ImageNotSupported');
      expect(w.message).toMatch(msg);
    }
  });
});
