/**
 * Events served by the real `skiff apiserver` and read with the real kubectl: both versions over one stored
 * object, field selectors, the table columns, describe's Events section, watch, and expiry (--event-ttl).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import {
  kubectl,
  rawRequest,
  requireKubectlAndBuild,
  startServer,
  tokenOf,
  until,
  type ServerProc,
} from '../apiserver/server.js';

const lab = new Lab();
let s: ServerProc;
let token: string;
let podUid: string;

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const ok = async (args: string[], input?: string) => {
  const r = await kubectl(s, args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
};

beforeAll(async () => {
  requireRootAndTools([]);
  requireKubectlAndBuild();
  s = await startServer(lab.tmpdir(), ['--store', 'memory']);
  lab.onCleanup(() => s.stop());
  token = tokenOf(s.kubeconfig);
  await ok(
    ['apply', '-f', '-'],
    'apiVersion: v1\nkind: Pod\nmetadata: {name: web-1}\nspec:\n  containers: [{name: web, image: skiff/netexec}]\n',
  );
  podUid = (await ok(['get', 'pod', 'web-1', '-o', 'jsonpath={.metadata.uid}'])).trim();
});

afterAll(async () => {
  await lab.cleanup();
});

const coreEvent = (name: string, reason: string, message: string, type = 'Normal', count = 1) => `apiVersion: v1
kind: Event
metadata: {name: ${name}}
involvedObject: {kind: Pod, name: web-1, namespace: default, uid: ${podUid}, apiVersion: v1}
reason: ${reason}
message: ${JSON.stringify(message)}
type: ${type}
source: {component: default-scheduler}
firstTimestamp: "${now()}"
lastTimestamp: "${now()}"
count: ${count}
`;

describe('Events', () => {
  it('serves one stored Event in both versions (involvedObject/message/count ↔ regarding/note/deprecatedCount)', async () => {
    await ok(['create', '-f', '-'], coreEvent('web-1.a1', 'Scheduled', 'Successfully assigned default/web-1 to node1'));
    const v1 = JSON.parse(await ok(['get', 'events.v1.events.k8s.io', 'web-1.a1', '-o', 'json']));
    expect(v1).toMatchObject({
      apiVersion: 'events.k8s.io/v1',
      regarding: { kind: 'Pod', name: 'web-1', uid: podUid },
      note: 'Successfully assigned default/web-1 to node1',
      deprecatedCount: 1,
      deprecatedSource: { component: 'default-scheduler' },
      reason: 'Scheduled',
    });
    expect(v1.involvedObject).toBeUndefined();
    const created = `apiVersion: events.k8s.io/v1
kind: Event
metadata: {name: web-1.b2}
eventTime: "${new Date().toISOString().replace('Z', '000Z')}"
reportingController: kubelet
reportingInstance: node1
action: StartContainer
reason: Started
note: Started container web
type: Normal
regarding: {kind: Pod, name: web-1, namespace: default, uid: ${podUid}, apiVersion: v1, fieldPath: "spec.containers{web}"}
`;
    await ok(['create', '-f', '-'], created);
    const core = JSON.parse(await ok(['get', 'event', 'web-1.b2', '-o', 'json']));
    expect(core).toMatchObject({
      apiVersion: 'v1',
      involvedObject: { kind: 'Pod', name: 'web-1', fieldPath: 'spec.containers{web}' },
      message: 'Started container web',
      reportingComponent: 'kubelet',
      reportingInstance: 'node1',
    });
    expect(core.metadata.resourceVersion).toBe(
      JSON.parse(await ok(['get', 'events.v1.events.k8s.io', 'web-1.b2', '-o', 'json'])).metadata.resourceVersion,
    );
  });

  it('validates events.k8s.io/v1 writes strictly, as kube-apiserver does', async () => {
    const r = await kubectl(
      s,
      ['create', '-f', '-'],
      'apiVersion: events.k8s.io/v1\nkind: Event\nmetadata: {name: bad}\nreason: X\nnote: "why"\ntype: Bogus\n' +
        'regarding: {kind: Pod, name: web-1, namespace: default}\n',
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('eventTime: Required value');
    expect(r.stderr).toContain('type: Invalid value');
  });

  it('prints LAST SEEN, TYPE, REASON, OBJECT, MESSAGE (and the wide columns)', async () => {
    const out = await ok(['get', 'events']);
    const [header, ...rows] = out.trim().split('\n');
    expect(header!.split(/\s{2,}/)).toEqual(['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE']);
    expect(rows.join('\n')).toMatch(/Normal\s+Scheduled\s+pod\/web-1\s+Successfully assigned default\/web-1 to node1/);
    const wide = await ok(['get', 'events', '-o', 'wide']);
    expect(wide.split('\n')[0]!.split(/\s{2,}/)).toEqual([
      'LAST SEEN',
      'TYPE',
      'REASON',
      'OBJECT',
      'SUBOBJECT',
      'SOURCE',
      'MESSAGE',
      'FIRST SEEN',
      'COUNT',
      'NAME',
    ]);
    expect(wide).toMatch(/spec\.containers\{web\}\s+kubelet, node1\s+Started container web/);
  });

  it('selects by involvedObject.*, reason, type and source; refuses unknown field labels', async () => {
    await ok(
      ['create', '-f', '-'],
      coreEvent('web-1.c3', 'BackOff', 'Back-off restarting failed container', 'Warning', 4),
    );
    const names = async (args: string[]) =>
      (await ok(['get', ...args, '-o', 'jsonpath={.items[*].metadata.name}']))
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .sort();
    expect(await names(['events', '--field-selector', `involvedObject.uid=${podUid},reason=BackOff`])).toEqual([
      'web-1.c3',
    ]);
    expect(await names(['events', '--field-selector', 'type=Warning'])).toEqual(['web-1.c3']);
    expect(await names(['events', '--field-selector', 'involvedObject.kind=Pod,involvedObject.name=web-1'])).toEqual([
      'web-1.a1',
      'web-1.b2',
      'web-1.c3',
    ]);
    expect(await names(['events', '--field-selector', 'involvedObject.name=other'])).toEqual([]);
    expect(await names(['events', '--field-selector', 'source=kubelet'])).toEqual([]);
    expect(await names(['events.v1.events.k8s.io', '--field-selector', 'regarding.name=web-1,source=kubelet'])).toEqual(
      ['web-1.b2'],
    );
    const bad = await kubectl(s, ['get', 'events', '--field-selector', 'spec.nodeName=x']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('field label not supported: spec.nodeName');
  });

  it('shows the events of a pod in kubectl describe (found by involvedObject field selectors)', async () => {
    const out = await ok(['describe', 'pod', 'web-1']);
    const events = out.slice(out.indexOf('Events:'));
    expect(events).toMatch(
      /Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned default\/web-1 to node1/,
    );
    expect(events).toMatch(/Warning\s+BackOff\s+\S+ \(x4 over \S+\)\s+default-scheduler\s+Back-off restarting failed/);
    expect(events).toMatch(/Normal\s+Started\s+\S+\s+kubelet\s+Started container web/);
  });

  it('streams ADDED / MODIFIED to a watch from a resourceVersion', async () => {
    const list = JSON.parse((await rawRequest(s, 'GET', '/api/v1/namespaces/default/events', { token })).body);
    await ok(['create', '-f', '-'], coreEvent('web-1.d4', 'Killing', 'Stopping container web'));
    await ok(['patch', 'event', 'web-1.d4', '-p', '{"count":2}']);
    const w = await rawRequest(
      s,
      'GET',
      '/apis/events.k8s.io/v1/namespaces/default/events?watch=1&timeoutSeconds=2' +
        `&resourceVersion=${list.metadata.resourceVersion}&fieldSelector=reason%3DKilling`,
      { token },
    );
    const lines = w.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; object: { note: string; deprecatedCount: number } });
    expect(lines.map((l) => [l.type, l.object.note, l.object.deprecatedCount])).toEqual([
      ['ADDED', 'Stopping container web', 1],
      ['MODIFIED', 'Stopping container web', 2],
    ]);
  });

  it('expires events --event-ttl after their last write (the server does it, watchers see DELETED)', async () => {
    // A server of its own with a short TTL, so the other tests' events do not expire under them.
    const short = await startServer(lab.tmpdir(), ['--store', 'memory', '--event-ttl', '5s']);
    lab.onCleanup(() => short.stop());
    const run = (args: string[], input?: string) => kubectl(short, args, input);
    const t = tokenOf(short.kubeconfig);
    const ev = coreEvent('web-1.e5', 'Pulled', 'Container image "skiff/netexec" already present');
    expect((await run(['create', '-f', '-'], ev.replace(/uid: [^,]+,/, ''))).code).toBe(0);
    const rv = JSON.parse((await run(['get', 'event', 'web-1.e5', '-o', 'json'])).stdout).metadata.resourceVersion;
    // Renewed by a write: a patch 3 s later moves its expiry 5 s past the patch.
    await new Promise((r) => setTimeout(r, 3000));
    expect((await run(['patch', 'event', 'web-1.e5', '-p', '{"count":2}'])).code).toBe(0);
    await new Promise((r) => setTimeout(r, 3000));
    expect((await run(['get', 'event', 'web-1.e5'])).code).toBe(0);
    await until(
      'web-1.e5 to expire',
      20_000,
      async () => (await run(['get', 'event', 'web-1.e5'])).code !== 0 || undefined,
    );
    expect((await run(['get', 'event', 'web-1.e5'])).stderr).toContain('events "web-1.e5" not found');
    const w = await rawRequest(
      short,
      'GET',
      `/api/v1/namespaces/default/events?watch=1&timeoutSeconds=1&resourceVersion=${rv}`,
      { token: t },
    );
    expect(
      w.body
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { type: string }).type),
    ).toEqual(['MODIFIED', 'DELETED']);
  });
});
