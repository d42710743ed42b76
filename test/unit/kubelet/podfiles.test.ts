import { describe, expect, it } from 'vitest';
import {
  parseResolvConf,
  podResolvConf,
  renderHosts,
  renderResolvConf,
  type DnsSettings,
} from '../../../src/kubelet/podfiles.js';
import { containerCapabilities, installPaths } from '../../../src/kubelet/view.js';
import { ETC_DENYLIST, rootViewScript, shq } from '../../../src/os/rootview.js';
import { podSchema } from '../../../src/kubelet/types.js';

const pod = (spec: Record<string, unknown> = {}, ns = 'shop') =>
  podSchema.parse({
    metadata: { name: 'web-1', namespace: ns, uid: 'u1' },
    spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec },
  });

const dns: DnsSettings = { clusterDNS: ['10.96.0.10'], clusterDomain: 'cluster.local', resolvConf: '/x' };
const node = parseResolvConf('# host\nnameserver 192.0.2.53\nsearch corp.example\noptions edns0 timeout:2\n');

describe('resolv.conf per dnsPolicy', () => {
  it('ClusterFirst (the default): cluster DNS, the namespace search path first, ndots:5', () => {
    expect(renderResolvConf(podResolvConf(pod(), dns, node))).toBe(
      'nameserver 10.96.0.10\nsearch shop.svc.cluster.local svc.cluster.local cluster.local corp.example\noptions ndots:5\n',
    );
  });
  it('Default: the node resolver; ClusterFirst without --cluster-dns falls back to it', () => {
    const expected = 'nameserver 192.0.2.53\nsearch corp.example\noptions edns0 timeout:2\n';
    expect(renderResolvConf(podResolvConf(pod({ dnsPolicy: 'Default' }), dns, node))).toBe(expected);
    expect(renderResolvConf(podResolvConf(pod(), { ...dns, clusterDNS: [] }, node))).toBe(expected);
  });
  it('ClusterFirst on hostNetwork uses the node resolver; ClusterFirstWithHostNet the cluster DNS', () => {
    expect(podResolvConf(pod({ hostNetwork: true }), dns, node).nameservers).toEqual(['192.0.2.53']);
    expect(
      podResolvConf(pod({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }), dns, node).nameservers,
    ).toEqual(['10.96.0.10']);
  });
  it('None takes dnsConfig alone; dnsConfig merges into the others (options by name, at most 3 servers)', () => {
    const cfg = { nameservers: ['1.1.1.1'], searches: ['a.example'], options: [{ name: 'ndots', value: '2' }] };
    expect(renderResolvConf(podResolvConf(pod({ dnsPolicy: 'None', dnsConfig: cfg }), dns, node))).toBe(
      'nameserver 1.1.1.1\nsearch a.example\noptions ndots:2\n',
    );
    const merged = podResolvConf(
      pod({ dnsConfig: { ...cfg, nameservers: ['10.0.0.1', '10.0.0.2', '10.0.0.3'] } }),
      dns,
      node,
    );
    expect(merged.nameservers).toEqual(['10.96.0.10', '10.0.0.1', '10.0.0.2']);
    expect(merged.searches.at(-1)).toBe('a.example');
    expect(merged.options).toEqual([{ name: 'ndots', value: '2' }]);
  });
});

describe('/etc/hosts', () => {
  it('names the pod (FQDN with a subdomain) and adds hostAliases', () => {
    const text = renderHosts(
      pod({ subdomain: 'db', hostAliases: [{ ip: '10.1.1.1', hostnames: ['foo', 'bar'] }] }),
      ['10.244.1.7'],
      'web-1',
      'cluster.local',
    );
    expect(text).toContain('127.0.0.1\tlocalhost\n');
    expect(text).toContain('10.244.1.7\tweb-1.db.shop.svc.cluster.local\tweb-1\n');
    expect(text).toContain('# Entries added by HostAliases.\n10.1.1.1\tfoo\tbar\n');
    expect(renderHosts(pod(), ['10.244.1.7'], 'web-1', 'cluster.local')).toContain('10.244.1.7\tweb-1\n');
  });
});

describe('root view', () => {
  it('quotes every path and hides the secrets of /etc', () => {
    expect(shq("a'b")).toBe(`'a'\\''b'`);
    const s = rootViewScript({
      scratch: "/k/pods/u1/containers/c'x/rootview",
      binds: [{ source: '/k/pods/u1/etc/hosts', target: '/etc/hosts', readOnly: false, file: true }],
    });
    expect(s).toContain(`'/k/pods/u1/containers/c'\\''x/rootview'`);
    for (const secret of ['shadow', 'sudoers', 'ssl/private', 'skiff', 'kubernetes'])
      expect(ETC_DENYLIST).toContain(secret);
    expect(s).toContain('pivot_root . . && umount -l .');
    expect(() => rootViewScript({ scratch: 'relative', binds: [] })).toThrow(/absolute/);
    expect(() =>
      rootViewScript({ scratch: '/s', binds: [{ source: '/a/../etc', target: '/x', readOnly: true }] }),
    ).toThrow(/absolute/);
  });
  it('binds the skiff install that runs built-in images', () => {
    expect(installPaths(['/usr/bin/node', '/opt/skiff/dist/skiff.mjs', 'image'])).toEqual(['/opt/skiff/dist']);
    expect(installPaths(['/opt/node/bin/node', '/opt/skiff/dist/skiff.mjs'])).toEqual(['/opt/skiff/dist', '/opt/node']);
  });
  it("derives the capability set from containerd's defaults and the securityContext", () => {
    const c = (securityContext?: unknown) =>
      podSchema.parse({ ...pod(), spec: { containers: [{ name: 'c', securityContext }] } }).spec.containers[0]!;
    expect(containerCapabilities(c())).toContain('NET_RAW');
    expect(containerCapabilities(c())).not.toContain('SYS_ADMIN');
    expect(containerCapabilities(c({ privileged: true }))).toBeUndefined();
    expect(containerCapabilities(c({ capabilities: { drop: ['ALL'], add: ['NET_ADMIN'] } }))).toEqual(['NET_ADMIN']);
    expect(containerCapabilities(c({ capabilities: { drop: ['net_raw'], add: ['CAP_SYS_TIME'] } }))).not.toContain(
      'NET_RAW',
    );
  });
});
