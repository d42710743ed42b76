/** The smaller core/v1 kinds: Namespace, Node, ConfigMap, Endpoints. */
import type { KObject } from '../../api/meta.js';
import { T } from '../../api/core-v1.js';
import { isIPv4 } from '../../net/ip.js';
import { dns1123Label, validatePort, validateProtocol } from '../validation.js';
import { ageColumn, humanAge, nameColumn, type ResourceDef } from './types.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export const namespaces: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Namespace',
  plural: 'namespaces',
  singular: 'namespace',
  shortNames: ['ns'],
  namespaced: false,
  typeName: T.Namespace,
  statusSubresource: true,
  resetStatusOnCreate: true,
  fields: (o) => ({ 'status.phase': o.status?.phase ?? '' }),
  defaults(o) {
    o.metadata.labels = { ...(o.metadata.labels ?? {}), 'kubernetes.io/metadata.name': o.metadata.name ?? '' };
    o.spec ??= {};
    o.status ??= {};
    o.status.phase ??= 'Active';
  },
  validate(o, errs) {
    const e = o.metadata.name ? dns1123Label(o.metadata.name) : undefined;
    if (e) errs.invalid('metadata.name', o.metadata.name, e);
  },
  table: {
    columns: [
      nameColumn,
      { name: 'Status', type: 'string', description: 'The status of the namespace', priority: 0 },
      ageColumn,
    ],
    cells: (o, now) => [o.metadata.name, o.status?.phase ?? 'Active', humanAge(o.metadata.creationTimestamp, now)],
  },
};

function nodeReady(o: Json): string {
  const ready = (o.status?.conditions ?? []).find((c: Json) => c?.type === 'Ready');
  const parts = [ready?.status === 'True' ? 'Ready' : ready ? 'NotReady' : 'Unknown'];
  if (o.spec?.unschedulable) parts.push('SchedulingDisabled');
  return parts.join(',');
}

function nodeRoles(o: Json): string {
  const roles = Object.keys(o.metadata?.labels ?? {})
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length))
    .filter(Boolean);
  return roles.length ? roles.sort().join(',') : '<none>';
}

const nodeAddr = (o: Json, type: string) =>
  (o.status?.addresses ?? []).find((a: Json) => a?.type === type)?.address ?? '<none>';

export const nodes: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Node',
  plural: 'nodes',
  singular: 'node',
  shortNames: ['no'],
  namespaced: false,
  typeName: T.Node,
  statusSubresource: true,
  resetStatusOnCreate: false,
  fields: (o) => ({ 'spec.unschedulable': String(o.spec?.unschedulable ?? false) }),
  defaults(o) {
    o.spec ??= {};
    if (o.spec.podCIDR && !o.spec.podCIDRs) o.spec.podCIDRs = [o.spec.podCIDR];
    o.status ??= {};
  },
  validate(o, errs, old) {
    if (old?.spec?.podCIDR && o.spec?.podCIDR !== old.spec.podCIDR)
      errs.forbidden('spec.podCIDR', 'node updates may not change podCIDR except from "" to valid');
    ((o.spec?.taints ?? []) as Json[]).forEach((t, i) => {
      if (!t?.key) errs.required(`spec.taints[${i}].key`);
      if (!['NoExecute', 'NoSchedule', 'PreferNoSchedule'].includes(t?.effect))
        errs.notSupported(`spec.taints[${i}].effect`, t?.effect, ['NoExecute', 'NoSchedule', 'PreferNoSchedule']);
    });
  },
  table: {
    columns: [
      nameColumn,
      { name: 'Status', type: 'string', description: 'The status of the node', priority: 0 },
      { name: 'Roles', type: 'string', description: 'The roles of the node', priority: 0 },
      ageColumn,
      { name: 'Version', type: 'string', description: 'Kubelet Version reported by the node.', priority: 0 },
      { name: 'Internal-IP', type: 'string', description: 'List of addresses reachable to the node.', priority: 1 },
      { name: 'External-IP', type: 'string', description: 'List of addresses reachable to the node.', priority: 1 },
      {
        name: 'OS-Image',
        type: 'string',
        description: 'OS Image reported by the node from /etc/os-release.',
        priority: 1,
      },
      {
        name: 'Kernel-Version',
        type: 'string',
        description: "Kernel Version reported by the node from 'uname -r'.",
        priority: 1,
      },
      {
        name: 'Container-Runtime',
        type: 'string',
        description: 'ContainerRuntime Version reported by the node.',
        priority: 1,
      },
    ],
    cells: (o, now) => {
      const info = o.status?.nodeInfo ?? {};
      return [
        o.metadata.name,
        nodeReady(o),
        nodeRoles(o),
        humanAge(o.metadata.creationTimestamp, now),
        info.kubeletVersion ?? '',
        nodeAddr(o, 'InternalIP'),
        nodeAddr(o, 'ExternalIP'),
        info.osImage ?? '<unknown>',
        info.kernelVersion ?? '<unknown>',
        info.containerRuntimeVersion ?? '<unknown>',
      ];
    },
  },
};

export const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
export const CONFIG_KEY_MESSAGE =
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. " +
  "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is " +
  "'[-._a-zA-Z0-9]+')";

/** Kubernetes' MaxSecretSize: the data of a ConfigMap or a Secret together may not exceed 1 MiB. */
export const MAX_CONFIG_DATA_BYTES = 1024 * 1024;

/** The size kube-apiserver counts: the bytes of every data value plus the decoded bytes of binaryData. */
function configDataBytes(o: KObject): number {
  let total = 0;
  for (const v of Object.values((o.data as Record<string, unknown> | undefined) ?? {}))
    if (typeof v === 'string') total += Buffer.byteLength(v, 'utf8');
  for (const v of Object.values((o.binaryData as Record<string, unknown> | undefined) ?? {}))
    if (typeof v === 'string') total += Buffer.from(v, 'base64').length;
  return total;
}

export const configmaps: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  singular: 'configmap',
  shortNames: ['cm'],
  namespaced: true,
  typeName: T.ConfigMap,
  statusSubresource: false,
  resetStatusOnCreate: false,
  specFields: [],
  validate(o, errs, old) {
    if (configDataBytes(o) > MAX_CONFIG_DATA_BYTES) errs.tooLong('data', MAX_CONFIG_DATA_BYTES);
    for (const f of ['data', 'binaryData'] as const) {
      for (const k of Object.keys((o[f] as Record<string, unknown> | undefined) ?? {})) {
        if (!CONFIG_KEY.test(k) || k.length > 253) errs.invalid(`${f}[${k}]`, k, CONFIG_KEY_MESSAGE);
      }
    }
    if (old?.immutable === true) {
      const same =
        JSON.stringify(old.data ?? {}) === JSON.stringify(o.data ?? {}) &&
        JSON.stringify(old.binaryData ?? {}) === JSON.stringify(o.binaryData ?? {}) &&
        o.immutable === true;
      if (!same) errs.forbidden('data', 'field is immutable when `immutable` is set');
    }
  },
  table: {
    columns: [
      nameColumn,
      { name: 'Data', type: 'integer', description: 'Data contains the configuration data.', priority: 0 },
      ageColumn,
    ],
    cells: (o, now) => [
      o.metadata.name,
      Object.keys((o.data as object) ?? {}).length + Object.keys((o.binaryData as object) ?? {}).length,
      humanAge(o.metadata.creationTimestamp, now),
    ],
  },
};

function endpointsCell(o: Json): string {
  const out: string[] = [];
  for (const s of o.subsets ?? []) {
    const ports: Json[] = s?.ports?.length ? s.ports : [{}];
    for (const a of s?.addresses ?? []) for (const p of ports) out.push(p.port ? `${a.ip}:${p.port}` : a.ip);
  }
  if (!out.length) return '<none>';
  return out.length > 3 ? `${out.slice(0, 3).join(',')} + ${out.length - 3} more...` : out.join(',');
}

export const endpoints: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Endpoints',
  plural: 'endpoints',
  singular: 'endpoints',
  shortNames: ['ep'],
  namespaced: true,
  typeName: T.Endpoints,
  statusSubresource: false,
  resetStatusOnCreate: false,
  specFields: ['subsets'],
  allowCreateOnUpdate: true,
  validate(o, errs) {
    ((o.subsets ?? []) as Json[]).forEach((s, i) => {
      for (const f of ['addresses', 'notReadyAddresses']) {
        ((s?.[f] ?? []) as Json[]).forEach((a, j) => {
          if (!a?.ip) errs.required(`subsets[${i}].${f}[${j}].ip`);
          else if (!isIPv4(a.ip)) errs.invalid(`subsets[${i}].${f}[${j}].ip`, a.ip, 'must be a valid IP address');
        });
      }
      ((s?.ports ?? []) as Json[]).forEach((p, j) => {
        validatePort(errs, `subsets[${i}].ports[${j}].port`, p?.port);
        validateProtocol(errs, `subsets[${i}].ports[${j}].protocol`, p?.protocol);
      });
    });
  },
  defaults(o) {
    for (const s of (o.subsets ?? []) as Json[])
      for (const p of s?.ports ?? []) if (p && typeof p === 'object') p.protocol ??= 'TCP';
  },
  table: {
    columns: [
      nameColumn,
      {
        name: 'Endpoints',
        type: 'string',
        description: 'Endpoints is the list of endpoints in this object.',
        priority: 0,
      },
      ageColumn,
    ],
    cells: (o, now) => [o.metadata.name, endpointsCell(o), humanAge(o.metadata.creationTimestamp, now)],
  },
};
