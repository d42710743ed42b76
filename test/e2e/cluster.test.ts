import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { isStatus } from '../../src/kubelet/api.js';
import { runRaw } from '../../src/os/exec.js';
import { namedNs } from '../../src/os/ns.js';
import { nodeIP } from '../../src/lab/addressing.js';
import { httpGetIn } from '../../src/lab/http.js';
import { podNetnsName } from '../../src/kubelet/pod.js';
import { labPaths } from '../../src/lab/paths.js';
import { alive, labComponents } from '../../src/lab/supervisor.js';
import { teardown } from '../../src/lab/teardown.js';
import { Lab, requireRootAndTools } from '../helpers/lab.js';
import {
  type Cluster,
  type PodJson,
  type SvcJson,
  listPods,
  runServicesConformance,
  service,
  spread,
  until,
  upCluster,
} from './helpers.js';

/**
 * The cheap checks, over the whole matrix (both CNIs x both proxy modes), each against a fresh 3-node
 * `skiff up` lab: pods on different nodes reach each other by pod IP; a ClusterIP spreads over every
 * backend; NodePort and LoadBalancer answer from the client namespace; each node's skiff-cnid served that
 * node's pod ADDs, and `skiff down` stops it and removes its socket.
 * SKIFF_E2E_MATRIX=min runs the two diagonal combinations only.
 */
const cmdline = (pid: string): string => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
};

const full = process.env.SKIFF_E2E_MATRIX !== 'min';
const REFERENCE_CONF = resolve(import.meta.dirname, '../../cni-conf/reference.conflist');
interface Combo {
  cni: 'bridge' | 'vxlan';
  proxyMode: 'nftables' | 'userspace';
  /** bring your own plugins: `skiff up --cni-conf FILE --cni-bin DIR` (no skiff-cnid then) */
  cniConf?: string;
  cniBin?: string[];
  label?: string;
}
// The lab on the reference plugins (bridge + host-local + portmap + loopback) passes the same checks.
const reference: Combo = {
  cni: 'bridge',
  proxyMode: 'nftables',
  cniConf: REFERENCE_CONF,
  cniBin: ['/usr/lib/cni'],
  label: ' (reference plugins, cni-conf/reference.conflist)',
};
const matrix: Combo[] = full
  ? [
      { cni: 'bridge', proxyMode: 'nftables' },
      { cni: 'bridge', proxyMode: 'userspace' },
      { cni: 'vxlan', proxyMode: 'nftables' },
      { cni: 'vxlan', proxyMode: 'userspace' },
      reference,
    ]
  : [{ cni: 'bridge', proxyMode: 'nftables' }, { cni: 'vxlan', proxyMode: 'userspace' }, reference];

describe.each(matrix)('skiff up: $cni CNI, $proxyMode proxy$label', ({ cni, proxyMode, cniConf, cniBin }) => {
  const lab = new Lab(`e${cni[0]}${proxyMode[0]}${cniConf ? 'r' : ''}`);
  const ownPlugins = !cniConf;
  let c: Cluster;
  const pods: PodJson[] = [];

  beforeAll(async () => {
    requireRootAndTools(['ip', 'nsenter', 'unshare', 'socat', 'nft']);
    c = await upCluster(lab, { cni, proxyMode, ...(cniConf ? { cniConf, cniBin } : {}) });
  }, 180_000);

  afterAll(async () => {
    await lab.cleanup();
  }, 60_000);

  it('runs one pod per node, each reaching the others by pod IP', async () => {
    for (let i = 1; i <= 3; i++) {
      await c.api.request('POST', '/api/v1/namespaces/default/pods', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `echo-${i}`, labels: { app: 'echo' } },
        spec: {
          nodeName: `node${i}`,
          containers: [
            {
              name: 'web',
              image: 'skiff/netexec',
              ports: [{ containerPort: 8080 }],
              readinessProbe: { httpGet: { path: '/readyz', port: 8080 }, periodSeconds: 1 },
            },
          ],
        },
      });
    }
    const ready = await until('3 echo pods Running', 90_000, async () => {
      const ps = await listPods(c.api, 'app=echo');
      return ps.length === 3 && ps.every((p) => p.status?.phase === 'Running' && p.status.podIP) ? ps : undefined;
    });
    pods.push(...ready.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)));
    expect(new Set(pods.map((p) => p.spec.nodeName))).toEqual(new Set(['node1', 'node2', 'node3']));
    // the pod's ADD went through its own node's resident helper (the kubelet's container ID is the pod UID)
    for (const p of ownPlugins ? pods : []) {
      const daemon = labComponents(c.stateDir).find((x) => x.name === `skiff-cnid-${p.spec.nodeName}`);
      expect(daemon, `skiff-cnid of ${p.spec.nodeName} in lab.json`).toBeDefined();
      expect(readFileSync(daemon?.log as string, 'utf8')).toContain(
        `skiff-cnid: ADD ${cni} ${p.metadata.uid}/eth0 exit 0`,
      );
    }
    for (const from of pods) {
      const fromNs = podNetnsName(c.ns(from.spec.nodeName as string), from.metadata.uid);
      for (const to of pods) {
        if (to === from) continue;
        const body = await until(`${from.metadata.name} → ${to.metadata.name}`, 20_000, () =>
          httpGetIn(fromNs, to.status?.podIP as string, 8080, '/hostname'),
        );
        expect(body).toBe(to.metadata.name);
        // no NAT between pods: the server sees the client's pod IP
        const seen = await httpGetIn(fromNs, to.status?.podIP as string, 8080, '/clientip');
        expect(seen?.split(':')[0]).toBe(from.status?.podIP);
      }
    }
  });

  it('reaches the API server from a pod on every node through the kubernetes Service (10.96.0.1:443)', async () => {
    const kc = parseYaml(readFileSync(join(c.stateDir, 'admin.kubeconfig'), 'utf8')) as {
      clusters: { cluster: { 'certificate-authority-data': string } }[];
      users: { user: { token: string } }[];
    };
    // An HTTPS GET from the pod's network namespace, verifying the serving certificate against the cluster CA
    // for the name 10.96.0.1 (a client in the pod would do the same with its ServiceAccount's ca.crt).
    const script = `const https=require('node:https');
https.get({host:'10.96.0.1',port:443,path:'/api',ca:Buffer.from(process.env.CA,'base64'),
  headers:{Authorization:'Bearer '+process.env.TOKEN},timeout:3000},
r=>{let b='';r.on('data',d=>b+=d);r.on('end',()=>{console.log(r.statusCode+' '+b);});}).on('error',e=>{console.log('ERR '+e.message);});`;
    for (const pod of pods) {
      const netns = podNetnsName(c.ns(pod.spec.nodeName as string), pod.metadata.uid as string);
      const out = await until(`${pod.metadata.name} reaching 10.96.0.1:443`, 30_000, async () => {
        const r = await runRaw([process.execPath, '-e', script], {
          ns: namedNs(netns),
          timeoutMs: 10_000,
          env: {
            ...process.env,
            CA: kc.clusters[0]!.cluster['certificate-authority-data'],
            TOKEN: kc.users[0]!.user.token,
          },
        });
        return r.stdout.startsWith('200 ') ? r.stdout : undefined;
      });
      expect(JSON.parse(out.slice(4))).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    }
  });

  it(
    'gives each pod its ServiceAccount token, ' +
      'which reaches the API through the kubernetes Service and gets only what RBAC grants',
    async () => {
      // What an in-cluster client does (client-go's rest.InClusterConfig): the mounted token, CA and namespace.
      const script = `const fs=require('node:fs'),https=require('node:https');const d='/var/run/secrets/kubernetes.io/serviceaccount/';
const ns=fs.readFileSync(d+'namespace','utf8');
https.get({host:process.env.KUBERNETES_SERVICE_HOST||'10.96.0.1',port:443,
  path:'/api/v1/namespaces/'+ns+'/'+process.argv[1],ca:fs.readFileSync(d+'ca.crt'),
  headers:{Authorization:'Bearer '+fs.readFileSync(d+'token','utf8')},timeout:3000},
r=>{r.resume();r.on('end',()=>console.log(ns+' '+r.statusCode));}).on('error',e=>console.log('ERR '+e.message));`;
      const inPod = async (pod: PodJson, what: string) => {
        const r = await runRaw(
          [
            process.execPath,
            process.env.SKIFF_JS!,
            'exec',
            '--state-dir',
            c.stateDir,
            `pod/${pod.metadata.name}`,
            '--',
            process.execPath,
            '-e',
            script,
            what,
          ],
          { timeoutMs: 20_000 },
        );
        return r.stdout.trim() || r.stderr.trim();
      };
      const pod = pods[0]!;
      expect(
        await until('the default ServiceAccount denied', 30_000, async () =>
          (await inPod(pod, 'pods')) === 'default 403' ? true : undefined,
        ),
      ).toBe(true);
      await c.api.request('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', {
        metadata: { name: 'default-view' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
        subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'default' }],
      });
      for (const p of pods) expect(await inPod(p, 'pods')).toBe('default 200');
      expect(await inPod(pod, 'secrets')).toBe('default 403');
    },
  );

  it('spreads ClusterIP traffic over every backend', async () => {
    const svc = await c.api.request<SvcJson>(
      'POST',
      '/api/v1/namespaces/default/services',
      service('echo', 'ClusterIP', { app: 'echo' }),
    );
    const vip = svc.spec.clusterIP as string;
    expect(vip).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\./);
    const from = podNetnsName(c.ns(pods[0]?.spec.nodeName as string), pods[0]?.metadata.uid as string);
    const seen = new Set<string>();
    await until('all 3 backends behind the ClusterIP', 60_000, async () => {
      const r = await spread(from, vip, 80, 10);
      for (const h of r.hosts) seen.add(h);
      return seen.size === 3;
    });
    expect([...seen].sort()).toEqual(['echo-1', 'echo-2', 'echo-3']);
  });

  it('answers NodePort and LoadBalancer services from the client namespace', async () => {
    const np = await c.api.request<SvcJson>(
      'POST',
      '/api/v1/namespaces/default/services',
      service('echo-np', 'NodePort', { app: 'echo' }),
    );
    const nodePort = np.spec.ports[0]?.nodePort as number;
    expect(nodePort).toBeGreaterThanOrEqual(30000);
    for (let i = 1; i <= 3; i++) {
      await until(`NodePort via node${i}`, 60_000, () => httpGetIn(c.ns('client'), nodeIP(i), nodePort, '/hostname'));
    }
    await c.api.request(
      'POST',
      '/api/v1/namespaces/default/services',
      service('echo-lb', 'LoadBalancer', { app: 'echo' }),
    );
    const lbIP = await until('LoadBalancer ingress IP', 60_000, async () => {
      const s = await c.api.request<SvcJson>('GET', '/api/v1/namespaces/default/services/echo-lb');
      return s.status?.loadBalancer?.ingress?.[0]?.ip;
    });
    expect(lbIP).toMatch(/^198\.18\.0\.(2[0-4]\d|250)$/);
    const body = await until('LoadBalancer answers', 60_000, () => httpGetIn(c.ns('client'), lbIP, 80, '/hostname'));
    expect(body).toMatch(/^echo-[123]$/);
  });

  it('skiff conformance services: every cell of the Service matrix behaves as under kube-proxy', async () => {
    const { report, code, failures } = await runServicesConformance(c);
    expect(failures).toEqual([]);
    expect(code).toBe(0);
    // 3 nodes, IPv4: every type × source × policy × protocol cell (model.test counts them)
    expect([report.mode, report.results.length]).toEqual([proxyMode, 360]);
    // the drops are real drops: each mode has cells that must not answer, and they did not
    expect(report.results.filter((x) => !x.expected.answers).length).toBeGreaterThan(0);
    // the fixture is removed (the namespace finishes terminating in the background)
    await until('namespace skiff-conformance gone', 30_000, async () =>
      isStatus(await c.api.request('GET', '/api/v1/namespaces/skiff-conformance').catch((e: unknown) => e), 404),
    );
  }, 300_000);

  it.runIf(!ownPlugins)('serves a hostPort from the client through the portMappings capability', async () => {
    await c.api.request('POST', '/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'hostport', labels: { app: 'hostport' } },
      spec: {
        nodeName: 'node2',
        containers: [{ name: 'web', image: 'skiff/netexec', ports: [{ containerPort: 8080, hostPort: 18080 }] }],
      },
    });
    await until('hostport pod Running', 90_000, async () => {
      const [p] = await listPods(c.api, 'app=hostport');
      return p?.status?.phase === 'Running' ? p : undefined;
    });
    const body = await until('hostPort answers', 60_000, () =>
      httpGetIn(c.ns('client'), nodeIP(2), 18080, '/hostname'),
    );
    expect(body).toBe('hostport');
    // it really is the reference chain: node2's conflist is the rendered template, its DNAT in iptables
    const conf = JSON.parse(
      readFileSync(join(labPaths(c.stateDir).node('node2'), 'cni/net.d/10-skiff.conflist'), 'utf8'),
    ) as { name: string; plugins: { ipam?: { ranges: { subnet: string }[][] } }[] };
    const node2 = await c.api.request<{ spec: { podCIDR: string } }>('GET', '/api/v1/nodes/node2');
    expect([conf.name, conf.plugins[0]?.ipam?.ranges[0]?.[0]?.subnet]).toEqual(['skiff-reference', node2.spec.podCIDR]);
    const rules = await runRaw(['iptables-save', '-t', 'nat'], { ns: namedNs(c.ns('node2')) });
    expect(rules.stdout).toMatch(/CNI-DN-\w+ .*--dport 18080/);
  });

  it.runIf(ownPlugins)(
    'stops every skiff-cnid and removes its socket on skiff down',
    async () => {
      const daemons = labComponents(c.stateDir).filter((p) => p.name.startsWith('skiff-cnid-'));
      expect(daemons.map((d) => d.name).sort()).toEqual(['skiff-cnid-node1', 'skiff-cnid-node2', 'skiff-cnid-node3']);
      const procs = daemons.flatMap((d) => (d.process ? [d.process] : []));
      expect(procs).toHaveLength(3);
      const sockets = [1, 2, 3].map((i) => labPaths(c.stateDir).cniSocket(`node${i}`));
      expect(sockets.every((s) => existsSync(s) && existsSync(`${s}.pid`))).toBe(true);
      await teardown(c.stateDir);
      expect(procs.filter((d) => alive(d))).toEqual([]);
      // nor any unrecorded one serving this lab
      const strays = readdirSync('/proc').filter(
        (pid) => /^\d+$/.test(pid) && cmdline(pid).includes('skiff-cnid') && cmdline(pid).includes(c.stateDir),
      );
      expect(strays).toEqual([]);
      expect(sockets.filter((s) => existsSync(s) || existsSync(`${s}.pid`))).toEqual([]);
    },
    60_000,
  );
});
