/**
 * `skiff trace` in a whole `skiff up` lab, both proxy modes: a probe answered by the one endpoint (on
 * another node than the source), one rejected (a Service without endpoints), one dropped (NodePort of an
 * externalTrafficPolicy: Local Service, from the external client, on a node without a local endpoint).
 * The probes and nft tracing happen in the lab's namespaces only; the trace tables are gone afterwards.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRaw } from '../../src/os/exec.js';
import { netnsPids } from '../../src/os/netns.js';
import { nftListJson } from '../../src/os/nft.js';
import { namedNs } from '../../src/os/ns.js';
import { formatReport } from '../../src/trace/report.js';
import type { TraceReport } from '../../src/trace/run.js';
import { Lab, requireRootAndTools } from '../helpers/lab.js';
import { type Cluster, isReady, listPods, readyEndpoints, until, upCluster } from './helpers.js';

function netexecPod(name: string, labels: Record<string, string>, node: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: {
      nodeSelector: { 'kubernetes.io/hostname': node },
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: 'c',
          image: 'skiff/netexec',
          args: ['--http-port=8080', '--udp-port=8081'],
          readinessProbe: { httpGet: { path: '/readyz', port: 8080 }, periodSeconds: 1 },
        },
      ],
    },
  };
}

function svc(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec };
}

async function trace(c: Cluster, args: string[]): Promise<{ code: number; report: TraceReport; text: string }> {
  const base = [process.execPath, process.env.SKIFF_JS as string, 'trace', '--state-dir', c.stateDir, ...args];
  const json = await runRaw([...base, '-o', 'json'], { timeoutMs: 90_000 });
  if (!json.stdout.trim()) throw new Error(`skiff trace ${args.join(' ')}: exit ${json.code}: ${json.stderr}`);
  const report = JSON.parse(json.stdout) as TraceReport;
  // the text the command prints for the same report
  return { code: json.code, report, text: formatReport(report) };
}

const allLines = (r: TraceReport): string => r.hops.flatMap((h) => h.lines).join('\n');

function suite(proxyMode: 'nftables' | 'userspace'): void {
  describe(`skiff trace (${proxyMode} proxy)`, () => {
    const lab = new Lab(proxyMode === 'nftables' ? 'trn' : 'tru');
    let c: Cluster;
    let webIP = '';

    beforeAll(async () => {
      requireRootAndTools(['ip', 'nsenter', 'unshare', 'socat', 'nft', 'conntrack', 'ss']);
      c = await upCluster(lab, { cni: 'bridge', proxyMode, nodes: 2 });
      const post = (path: string, body: unknown): Promise<unknown> => c.api.request('POST', path, body);
      await post('/api/v1/namespaces/default/pods', netexecPod('tclient', { app: 'tclient' }, 'node1'));
      await post('/api/v1/namespaces/default/pods', netexecPod('web', { app: 'web' }, 'node2'));
      const ports = [
        { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' },
        { name: 'udp', port: 81, targetPort: 8081, protocol: 'UDP' },
      ];
      await post('/api/v1/namespaces/default/services', svc('web', { selector: { app: 'web' }, ports }));
      await post('/api/v1/namespaces/default/services', svc('empty', { selector: { app: 'none' }, ports }));
      await post(
        '/api/v1/namespaces/default/services',
        svc('local', { type: 'NodePort', externalTrafficPolicy: 'Local', selector: { app: 'web' }, ports }),
      );
      const pods = await until('pods ready', 90_000, async () => {
        const all = [...(await listPods(c.api, 'app=web')), ...(await listPods(c.api, 'app=tclient'))];
        return all.filter(isReady).length === 2 ? all : undefined;
      });
      webIP = pods.find((p) => p.metadata.name === 'web')?.status?.podIP ?? '';
      await until('web endpoints', 30_000, async () => (await readyEndpoints(c.api, 'local')).length > 0);
      // the proxies have programmed the Service once a probe through it answers
      await until(
        'web answers through its ClusterIP',
        30_000,
        async () => (await trace(c, ['--from', 'pod/tclient', '--to', 'svc/web:80'])).code === 0,
      );
    }, 300_000);

    afterAll(async () => {
      await lab.cleanup();
    }, 60_000);

    it('follows an answered TCP probe: route, service map element, the endpoint chosen, the pod', async () => {
      const { code, report, text } = await trace(c, ['--from', 'pod/tclient', '--to', 'svc/web:http']);
      expect(code, text).toBe(0);
      expect(report.verdict).toBe('answered');
      expect(report.route).toMatch(/^10\.96\.\d+\.\d+ via 10\.244\.\d+\.1 dev eth0/);
      expect(report.answeringPod).toBe('default/web on node2');
      expect(report.result.reply).toContain('web');
      // nftables: the probe itself reaches node2, DNATed; userspace: the proxy's own connection does (untraced)
      expect(report.hops.map((h) => h.node)).toEqual(proxyMode === 'nftables' ? ['node1', 'node2'] : ['node1']);
      if (proxyMode === 'nftables') {
        expect(report.dnat).toEqual({ to: `${webIP}:8080`, node: 'node1' });
        expect(allLines(report)).toMatch(/map svc_ips element 10\.96\.\d+\.\d+ \. tcp \. 80 : goto /);
        expect(allLines(report)).toContain(`: ${webIP} . 8080`);
        // pod to pod: the source is kept
        expect(report.masquerade).toBeUndefined();
      } else {
        expect(allLines(report)).toMatch(/redirected to the userspace proxy's listener/);
        expect(allLines(report)).toMatch(/map portals element 10\.96\.\d+\.\d+ \. tcp \. 80 : \d+/);
        expect(report.proxyChoice?.node).toBe('node1');
        expect(report.proxyChoice?.endpoint).toBe(`${webIP}:8080`);
      }
      expect(text).toMatch(/result: answered by pod default\/web on node2/);
    }, 180_000);

    it('follows an answered UDP probe', async () => {
      const { code, report, text } = await trace(c, ['--from', 'pod/tclient', '--to', 'svc/web', '--proto', 'udp']);
      expect(code, text).toBe(0);
      expect(report.result.reply.trim()).toBe('web');
      expect(report.answeringPod).toBe('default/web on node2');
      if (proxyMode === 'nftables') expect(report.dnat?.to).toBe(`${webIP}:8081`);
      else expect(report.proxyChoice?.endpoint).toBe(`${webIP}:8081`);
    }, 180_000);

    it('shows where a probe to a Service without endpoints is rejected', async () => {
      const { code, report, text } = await trace(c, ['--from', 'pod/tclient', '--to', 'svc/empty:80']);
      expect(code, text).toBe(1);
      expect(report.verdict).toBe('rejected');
      expect(report.result.outcome).toBe('refused');
      const stop = report.hops.find((h) => h.stop);
      expect(stop?.node).toBe('node1');
      expect(stop?.stop?.verdict).toBe('reject');
      expect(allLines(report)).toMatch(/map noep_ips element 10\.96\.\d+\.\d+ \. tcp \. 80 : goto reject-svc/);
      expect(text).toMatch(/result: rejected on node1 by .*reject/);
      expect(text).toMatch(/the Service has no endpoints/);
    }, 180_000);

    it('shows where an external probe to a Local NodePort without a local endpoint is dropped', async () => {
      const args = ['--from', 'client', '--to', 'svc/local:80', '--via', 'nodeport', '--node', 'node1'];
      const { code, report, text } = await trace(c, [...args, '--timeout', '1']);
      expect(code, text).toBe(1);
      expect(report.verdict).toBe('dropped');
      expect(report.result.outcome).toBe('timeout');
      const stop = report.hops.find((h) => h.stop);
      expect(stop?.node).toBe('node1');
      expect(stop?.stop?.verdict).toBe('drop');
      expect(allLines(report)).toMatch(/map noep_nodeports element tcp \. \d+ : drop/);
      // the same NodePort on the endpoint's node answers the client
      const ok = await trace(c, ['--from', 'client', '--to', 'svc/local:80', '--via', 'nodeport', '--node', 'node2']);
      expect(ok.code, ok.text).toBe(0);
      expect(ok.report.answeringPod).toBe('default/web on node2');
    }, 180_000);

    it('leaves no trace table and no monitor behind', async () => {
      for (const node of ['node1', 'node2']) {
        const doc = await nftListJson(namedNs(c.ns(node)));
        const names = doc.nftables.map((i) => (i.table as { name?: string } | undefined)?.name).filter(Boolean);
        expect(names.filter((n) => n?.startsWith('skiff-trace-'))).toEqual([]);
      }
      // no process of the trace (nft monitor, socat) is left in the node namespaces
      for (const node of ['node1', 'node2']) {
        const cmds = (await netnsPids(c.ns(node))).map((pid) => {
          try {
            return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
          } catch {
            return '';
          }
        });
        expect(cmds.filter((cmd) => /nft monitor|socat/.test(cmd))).toEqual([]);
      }
    });

    it('refuses bad input with one line and exit 2', async () => {
      const r = await runRaw([
        process.execPath,
        process.env.SKIFF_JS as string,
        'trace',
        '--state-dir',
        c.stateDir,
        '--from',
        'pod/tclient',
        '--to',
        'svc/nope',
      ]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe('skiff trace: service default/nope not found');
    });
  });
}

suite('nftables');
suite('userspace');
