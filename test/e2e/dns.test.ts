import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRaw } from '../../src/os/exec.js';
import { Lab, requireRootAndTools } from '../helpers/lab.js';
import { type Cluster, isReady, listPods, until, upCluster } from './helpers.js';

/**
 * Cluster DNS end to end: `skiff up` deploys skiff/dns behind kube-dns (10.96.0.10), and the machine's own
 * resolvers — dig (dnsutils) and glibc's getent — ask it from inside pods, through the service proxy and
 * the CNI, for every record kind of the DNS spec.
 */
const DNS = '10.96.0.10';

async function podExec(c: Cluster, pod: string, argv: string[]): Promise<{ code: number; out: string }> {
  const r = await runRaw(
    [process.execPath, process.env.SKIFF_JS as string, 'exec', '--state-dir', c.stateDir, `pod/${pod}`, '--', ...argv],
    { timeoutMs: 20_000 },
  );
  return { code: r.code, out: r.stdout + r.stderr };
}

async function dig(c: Cluster, args: string[]): Promise<string> {
  const r = await podExec(c, 'dnsclient', ['dig', `@${DNS}`, '+time=2', '+tries=1', ...args]);
  return r.out;
}

const short = async (c: Cluster, args: string[]): Promise<string[]> =>
  (await dig(c, ['+short', ...args])).trim().split('\n').filter(Boolean).sort();

function pod(name: string, labels: Record<string, string>, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: {
      ...extra,
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: 'c',
          image: 'skiff/netexec',
          args: ['--http-port=8080'],
          readinessProbe: { httpGet: { path: '/readyz', port: 8080 }, periodSeconds: 1 },
        },
      ],
    },
  };
}

function svc(name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec };
}

function suite(cni: 'bridge' | 'vxlan', proxyMode: 'nftables' | 'userspace', full: boolean): void {
  describe(`cluster DNS (${cni} CNI, ${proxyMode} proxy)`, () => {
    const lab = new Lab(full ? 'edns' : 'edn2');
    let c: Cluster;
    let podIPs: Record<string, string> = {};
    let webIP = '';

    beforeAll(async () => {
      requireRootAndTools(['ip', 'nsenter', 'unshare', 'socat', 'nft', 'dig', 'getent']);
      c = await upCluster(lab, { cni, proxyMode, nodes: 2 });
      const post = (path: string, body: unknown): Promise<unknown> => c.api.request('POST', path, body);
      await post('/api/v1/namespaces/default/pods', pod('dnsclient', { app: 'client' }));
      if (full) {
        await post(
          '/api/v1/namespaces/default/pods',
          pod('db-0', { app: 'db' }, { hostname: 'db-0', subdomain: 'db' }),
        );
        await post('/api/v1/namespaces/default/pods', pod('db-1', { app: 'db' }));
        await post(
          '/api/v1/namespaces/default/services',
          svc('web', { selector: { app: 'client' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] }),
        );
        await post(
          '/api/v1/namespaces/default/services',
          svc('db', { clusterIP: 'None', selector: { app: 'db' }, ports: [{ name: 'http', port: 8080 }] }),
        );
        // 12 named ports x 2 endpoints: an SRV answer too large for 512 bytes of UDP
        const ports = Array.from({ length: 12 }, (_, i) => ({ name: `port-${i}`, port: 9000 + i }));
        await post(
          '/api/v1/namespaces/default/services',
          svc('wide', { clusterIP: 'None', selector: { app: 'db' }, ports }),
        );
        await post(
          '/api/v1/namespaces/default/services',
          svc('ext', { type: 'ExternalName', externalName: 'web.default.svc.cluster.local' }),
        );
      }
      const want = full ? 3 : 1;
      const pods = await until('pods ready', 90_000, async () => {
        const all = [...(await listPods(c.api, 'app=client')), ...(await listPods(c.api, 'app=db'))];
        return all.filter(isReady).length === want ? all : undefined;
      });
      podIPs = Object.fromEntries(pods.map((p) => [p.metadata.name, p.status?.podIP ?? '']));
      if (full) {
        const s = await c.api.request<{ spec: { clusterIP: string } }>(
          'GET',
          '/api/v1/namespaces/default/services/web',
        );
        webIP = s.spec.clusterIP;
        await until(
          'db endpoints in DNS',
          30_000,
          async () => (await short(c, ['db.default.svc.cluster.local'])).length === 2,
        );
      }
    }, 240_000);

    afterAll(async () => {
      await lab.cleanup();
    }, 60_000);

    it('runs two replicas behind kube-dns on 10.96.0.10 (UDP and TCP 53)', async () => {
      const s = await c.api.request<{
        spec: { clusterIP: string; ports: { name: string; protocol: string; port: number }[] };
      }>('GET', '/api/v1/namespaces/kube-system/services/kube-dns');
      expect(s.spec.clusterIP).toBe(DNS);
      expect(s.spec.ports.map((p) => `${p.name}/${p.protocol}/${p.port}`).sort()).toEqual([
        'dns-tcp/TCP/53',
        'dns/UDP/53',
      ]);
      const d = await c.api.request<{ status: { readyReplicas?: number } }>(
        'GET',
        '/apis/apps/v1/namespaces/kube-system/deployments/coredns',
      );
      expect(d.status.readyReplicas).toBe(2);
      // on their ServiceAccount's projected token, with a role of exactly what the informers read
      const dnsPods = await c.api.request<{
        items: {
          spec: { serviceAccountName?: string; containers: { env?: unknown[] }[]; volumes?: { projected?: unknown }[] };
        }[];
      }>('GET', '/api/v1/namespaces/kube-system/pods?labelSelector=k8s-app%3Dkube-dns');
      expect(dnsPods.items.length).toBeGreaterThanOrEqual(2);
      for (const p of dnsPods.items) {
        expect(p.spec.serviceAccountName).toBe('coredns');
        expect(p.spec.containers[0]?.env ?? []).toEqual([]);
        expect(p.spec.volumes?.some((v) => v.projected)).toBe(true);
      }
      const role = await c.api.request<{ rules: { resources: string[]; verbs: string[] }[] }>(
        'GET',
        '/apis/rbac.authorization.k8s.io/v1/clusterroles/system:coredns',
      );
      expect(role.rules.flatMap((r) => r.resources).sort()).toEqual([
        'endpointslices',
        'namespaces',
        'pods',
        'services',
      ]);
      expect([...new Set(role.rules.flatMap((r) => r.verbs))].sort()).toEqual(['list', 'watch']);
      expect(await short(c, ['kubernetes.default.svc.cluster.local'])).toEqual(['10.96.0.1']);
      expect(await short(c, ['+tcp', 'kubernetes.default.svc.cluster.local'])).toEqual(['10.96.0.1']);
      expect(await short(c, ['-x', DNS])).toEqual(['kube-dns.kube-system.svc.cluster.local.']);
    });

    it('refuses names outside the zone at once (no upstream configured)', async () => {
      const out = await dig(c, ['example.com']);
      expect(out).toMatch(/status: REFUSED/);
      // dig's own measure of the server's answer time (the exec around it is slow under load)
      expect(Number(/Query time: (\d+) msec/.exec(out)?.[1] ?? 'NaN')).toBeLessThan(1000);
    });

    if (!full) return;

    it('A, AAAA (NODATA), SRV, PTR, CNAME and pod records, as dig sees them', async () => {
      const clientIP = podIPs.dnsclient as string;
      const dashed = (ip: string): string => ip.replace(/\./g, '-');
      // one dig, many questions: `+noall +answer` prints "name ttl IN type data" per record
      const out = await dig(c, [
        '+noall',
        '+answer',
        // dig reads "NAME TYPE" pairs; -x IP asks the PTR
        ...['web.default.svc.cluster.local', 'A', '_http._tcp.web.default.svc.cluster.local', 'SRV'],
        ...['db.default.svc.cluster.local', 'A', 'db-0.db.default.svc.cluster.local', 'A'],
        ...['_http._tcp.db.default.svc.cluster.local', 'SRV'],
        ...['-x', webIP, '-x', podIPs['db-0'] as string, '-x', clientIP],
        ...[`${dashed(clientIP)}.default.pod.cluster.local`, 'A', 'ext.default.svc.cluster.local', 'A'],
        ...['dns-version.cluster.local', 'TXT'],
      ]);
      const records = out
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/))
        .filter((f) => f.length >= 5)
        .map(([name, ttl, , type, ...data]) => ({ name, ttl: Number(ttl), type, data: data.join(' ') }));
      // unique: the CNAME chase of ext repeats web's A record
      const of = (name: string, type: string): string[] =>
        [...new Set(records.filter((r) => r.name === name && r.type === type).map((r) => r.data))].sort();
      expect(records.every((r) => r.ttl === 5)).toBe(true);
      expect(of('web.default.svc.cluster.local.', 'A')).toEqual([webIP]);
      expect(of('_http._tcp.web.default.svc.cluster.local.', 'SRV')).toEqual([
        '0 100 80 web.default.svc.cluster.local.',
      ]);
      expect(of('db.default.svc.cluster.local.', 'A')).toEqual([podIPs['db-0'], podIPs['db-1']].sort());
      expect(of('db-0.db.default.svc.cluster.local.', 'A')).toEqual([podIPs['db-0']]);
      expect(of('_http._tcp.db.default.svc.cluster.local.', 'SRV')).toEqual(
        [
          '0 50 8080 db-0.db.default.svc.cluster.local.',
          `0 50 8080 ${dashed(podIPs['db-1'] as string)}.db.default.svc.cluster.local.`,
        ].sort(),
      );
      const ptr = (ip: string): string[] => of(`${ip.split('.').reverse().join('.')}.in-addr.arpa.`, 'PTR');
      expect(ptr(webIP)).toEqual(['web.default.svc.cluster.local.']);
      // one PTR per headless Service the endpoint is in (db and wide), as CoreDNS answers
      expect(ptr(podIPs['db-0'] as string)).toContain('db-0.db.default.svc.cluster.local.');
      expect(ptr(clientIP)).toEqual([`${dashed(clientIP)}.default.pod.cluster.local.`]);
      expect(of(`${dashed(clientIP)}.default.pod.cluster.local.`, 'A')).toEqual([clientIP]);
      expect(of('ext.default.svc.cluster.local.', 'CNAME')).toEqual(['web.default.svc.cluster.local.']);
      expect(of('web.default.svc.cluster.local.', 'A')).toEqual([webIP]);
      expect(of('dns-version.cluster.local.', 'TXT')).toEqual(['"1.1.0"']);
      // NODATA vs NXDOMAIN, both with the zone's SOA
      const neg = await dig(c, ['web.default.svc.cluster.local', 'AAAA', 'nope.default.svc.cluster.local', 'A']);
      const [, aaaa = '', nx = ''] = neg.split(';; ->>HEADER<<-');
      expect(aaaa).toMatch(/status: NOERROR/);
      expect(aaaa).toMatch(/ANSWER: 0,/);
      expect(aaaa).toMatch(/AUTHORITY SECTION:\s+cluster\.local\.\s+5\s+IN\s+SOA/);
      expect(nx).toMatch(/status: NXDOMAIN/);
      expect(nx).toMatch(/AUTHORITY SECTION:\s+cluster\.local\.\s+5\s+IN\s+SOA/);
    }, 120_000);

    it('truncates a large UDP answer (TC) and serves it whole over TCP', async () => {
      const udp = await dig(c, ['+noedns', '+ignore', 'SRV', 'wide.default.svc.cluster.local']);
      expect(udp).toMatch(/flags: qr aa( rd)? tc|flags: qr tc aa|tc/);
      expect(udp).toMatch(/ANSWER: 0,/);
      // without +ignore dig retries over TCP on TC
      const full = await short(c, ['+noedns', 'SRV', 'wide.default.svc.cluster.local']);
      expect(full).toHaveLength(24);
    });

    it("glibc's resolver (getent) resolves short names through the pod's resolv.conf", async () => {
      const conf = await podExec(c, 'dnsclient', ['cat', '/etc/resolv.conf']);
      expect(conf.out).toContain(`nameserver ${DNS}`);
      expect(conf.out).toMatch(/search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local/);
      const getent = async (...args: string[]): Promise<string> => {
        const r = await podExec(c, 'dnsclient', ['getent', ...args]);
        expect(r.code, r.out).toBe(0);
        return r.out;
      };
      expect(await getent('hosts', 'web')).toMatch(
        new RegExp(`^${webIP.replace(/\./g, '\\.')}\\s+web\\.default\\.svc\\.cluster\\.local`),
      );
      expect(await getent('hosts', 'kubernetes.default')).toMatch(/^10\.96\.0\.1\s/);
      const ahosts = await getent('ahosts', 'db');
      for (const ip of [podIPs['db-0'], podIPs['db-1']]) expect(ahosts).toContain(ip);
      expect(await getent('hosts', 'db-0.db')).toContain(podIPs['db-0']);
      expect(await getent('hosts', webIP)).toMatch(/web\.default\.svc\.cluster\.local/);
      expect((await podExec(c, 'dnsclient', ['getent', 'hosts', 'nope'])).code).toBe(2);
    });

    it('a new Service resolves within seconds; a deleted one stops', async () => {
      await c.api.request(
        'POST',
        '/api/v1/namespaces/default/services',
        svc('late', { selector: { app: 'client' }, ports: [{ port: 80, targetPort: 8080 }] }),
      );
      const ip = await until(
        'late resolves',
        15_000,
        async () => (await short(c, ['late.default.svc.cluster.local']))[0],
      );
      expect(ip).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\./);
      await c.api.request('DELETE', '/api/v1/namespaces/default/services/late');
      await until('late is gone', 15_000, async () =>
        /status: NXDOMAIN/.test(await dig(c, ['late.default.svc.cluster.local'])),
      );
    });
  });
}

suite('bridge', 'nftables', true);
suite('vxlan', 'userspace', false);
