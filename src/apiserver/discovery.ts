/** Legacy (non-aggregated) discovery documents: /version, /api, /api/v1, /apis, /apis/G, /apis/G/V. */
import { createHash } from 'node:crypto';
import { resources } from './resources/index.js';
import type { ResourceDef } from './resources/types.js';
import { virtualResources } from './reviews.js';

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function versionInfo(): Record<string, string> {
  return {
    major: '1',
    minor: '32',
    gitVersion: 'v1.32.0-skiff',
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: `node${process.versions.node}`,
    compiler: 'skiff',
    platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  };
}

export function groups(): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const r of [...resources, ...virtualResources])
    if (r.group) seen.set(`${r.group}/${r.version}`, { group: r.group, version: r.version });
  return [...seen.values()];
}

export function apiVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupDoc(group: string): Record<string, unknown> {
  const versions = groups()
    .filter((g) => g.group === group)
    .map((g) => ({ groupVersion: `${g.group}/${g.version}`, version: g.version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

export function apiGroupList(): Record<string, unknown> {
  const names = [...new Set(groups().map((g) => g.group))];
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: names.map(groupDoc) };
}

export function apiGroup(group: string): Record<string, unknown> | undefined {
  if (!groups().some((g) => g.group === group)) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(group) };
}

function hash(r: ResourceDef): string {
  return createHash('sha256').update(`${r.group}/${r.version}/${r.kind}`).digest('base64').slice(0, 11);
}

export function resourceList(group: string, version: string): Record<string, unknown> | undefined {
  const defs = resources.filter((r) => r.group === group && r.version === version);
  const virtual = virtualResources.filter((r) => r.group === group && r.version === version);
  if (!defs.length && !virtual.length) return undefined;
  const out: Record<string, unknown>[] = virtual.map((v) => ({
    name: v.name,
    singularName: v.kind.toLowerCase(),
    namespaced: v.namespaced,
    kind: v.kind,
    verbs: v.verbs,
  }));
  for (const r of defs) {
    const base: Record<string, unknown> = {
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: VERBS,
      storageVersionHash: hash(r),
    };
    if (r.shortNames.length) base.shortNames = r.shortNames;
    if (r.categories?.length) base.categories = r.categories;
    out.push(base);
    if (r.statusSubresource)
      out.push({
        name: `${r.plural}/status`,
        singularName: '',
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: ['get', 'patch', 'update'],
      });
    if (r.scale)
      out.push({
        name: `${r.plural}/scale`,
        singularName: '',
        namespaced: r.namespaced,
        group: 'autoscaling',
        version: 'v1',
        kind: 'Scale',
        verbs: ['get', 'patch', 'update'],
      });
    if (r.kind === 'Pod')
      out.push({ name: 'pods/binding', singularName: '', namespaced: true, kind: 'Binding', verbs: ['create'] });
  }
  if (!group)
    out.push({ name: 'bindings', singularName: 'binding', namespaced: true, kind: 'Binding', verbs: ['create'] });
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources: out,
  };
}
