/** discovery.k8s.io/v1 EndpointSlice and coordination.k8s.io/v1 Lease. */
import { T as DISC } from '../../api/discovery-v1.js';
import { T as COORD } from '../../api/coordination-v1.js';
import { validatePort, validateProtocol } from '../validation.js';
import { ageColumn, humanAge, nameColumn, type ResourceDef } from './types.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export const endpointslices: ResourceDef = {
  group: 'discovery.k8s.io',
  version: 'v1',
  kind: 'EndpointSlice',
  plural: 'endpointslices',
  singular: 'endpointslice',
  shortNames: [],
  namespaced: true,
  typeName: DISC.EndpointSlice,
  statusSubresource: false,
  resetStatusOnCreate: false,
  specFields: ['addressType', 'endpoints', 'ports'],
  defaults(o) {
    for (const p of (o.ports ?? []) as Json[]) if (p && typeof p === 'object') p.protocol ??= 'TCP';
  },
  validate(o, errs, old) {
    if (!o.addressType) errs.required('addressType');
    else if (!['IPv4', 'IPv6', 'FQDN'].includes(o.addressType as string))
      errs.notSupported('addressType', o.addressType, ['FQDN', 'IPv4', 'IPv6']);
    if (old && old.addressType !== o.addressType) errs.invalid('addressType', o.addressType, 'field is immutable');
    ((o.endpoints ?? []) as Json[]).forEach((e, i) => {
      if (!Array.isArray(e?.addresses) || e.addresses.length === 0) errs.required(`endpoints[${i}].addresses`);
    });
    ((o.ports ?? []) as Json[]).forEach((p, i) => {
      if (p?.port !== undefined && p?.port !== null) validatePort(errs, `ports[${i}].port`, p.port);
      validateProtocol(errs, `ports[${i}].protocol`, p?.protocol);
    });
  },
  table: {
    columns: [
      nameColumn,
      {
        name: 'AddressType',
        type: 'string',
        description: 'addressType specifies the type of address carried by this EndpointSlice.',
        priority: 0,
      },
      {
        name: 'Ports',
        type: 'string',
        description: 'ports specifies the list of network ports exposed by each endpoint in this slice.',
        priority: 0,
      },
      {
        name: 'Endpoints',
        type: 'string',
        description: 'endpoints is a list of unique endpoints in this slice.',
        priority: 0,
      },
      ageColumn,
    ],
    cells(o, now) {
      const ports = ((o.ports ?? []) as Json[]).map((p) => String(p?.port ?? '')).filter(Boolean);
      const addrs = ((o.endpoints ?? []) as Json[]).flatMap((e) => e?.addresses ?? []);
      const ep = addrs.length
        ? addrs.length > 3
          ? `${addrs.slice(0, 3).join(',')} + ${addrs.length - 3} more...`
          : addrs.join(',')
        : '<unset>';
      return [
        o.metadata.name,
        o.addressType ?? '',
        ports.length ? ports.join(',') : '<unset>',
        ep,
        humanAge(o.metadata.creationTimestamp, now),
      ];
    },
  },
};

export const leases: ResourceDef = {
  group: 'coordination.k8s.io',
  version: 'v1',
  kind: 'Lease',
  plural: 'leases',
  singular: 'lease',
  shortNames: [],
  namespaced: true,
  typeName: COORD.Lease,
  statusSubresource: false,
  resetStatusOnCreate: false,
  validate(o, errs) {
    const d = o.spec?.leaseDurationSeconds;
    if (d !== undefined && d !== null && (typeof d !== 'number' || d <= 0))
      errs.invalid('spec.leaseDurationSeconds', d, 'must be greater than 0');
  },
  table: {
    columns: [
      nameColumn,
      {
        name: 'Holder',
        type: 'string',
        description: 'holderIdentity contains the identity of the holder of a current lease.',
        priority: 0,
      },
      ageColumn,
    ],
    cells: (o, now) => [o.metadata.name, o.spec?.holderIdentity ?? '', humanAge(o.metadata.creationTimestamp, now)],
  },
};
