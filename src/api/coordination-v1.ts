/** coordination.k8s.io/v1 Lease (node heartbeats, leader election). */
import { defineType, int, list, ref, str } from './schema.js';
import { T_LIST_META, T_OBJECT_META } from './meta.js';

const C = 'io.k8s.api.coordination.v1';
export const T = { Lease: `${C}.Lease` } as const;

defineType({
  name: `${C}.LeaseSpec`,
  desc: 'LeaseSpec is a specification of a Lease.',
  props: {
    holderIdentity: str('holderIdentity contains the identity of the holder of a current lease.'),
    leaseDurationSeconds: int(
      'leaseDurationSeconds is a duration that candidates for a lease need to wait to force acquire it.',
    ),
    acquireTime: str('acquireTime is a time when the current lease was acquired.', { format: 'date-time' }),
    renewTime: str('renewTime is a time when the current holder of a lease has last updated the lease.', {
      format: 'date-time',
    }),
    leaseTransitions: int('leaseTransitions is the number of transitions of a lease between holders.'),
    strategy: str('Strategy indicates the strategy for picking the leader for coordinated leader election.'),
    preferredHolder: str(
      'PreferredHolder signals to a lease holder that the lease has a more optimal holder and should be given up.',
    ),
  },
});
defineType({
  name: T.Lease,
  desc: 'Lease defines a lease concept.',
  gvk: [{ group: 'coordination.k8s.io', version: 'v1', kind: 'Lease' }],
  props: {
    apiVersion: str('APIVersion defines the versioned schema of this representation of an object.'),
    kind: str('Kind is a string value representing the REST resource this object represents.'),
    metadata: ref(T_OBJECT_META, "Standard object's metadata."),
    spec: ref(`${C}.LeaseSpec`, 'spec contains the specification of the Lease.'),
  },
});
defineType({
  name: `${C}.LeaseList`,
  desc: 'LeaseList is a list of Lease objects.',
  gvk: [{ group: 'coordination.k8s.io', version: 'v1', kind: 'LeaseList' }],
  props: {
    apiVersion: str(),
    kind: str(),
    metadata: ref(T_LIST_META, 'Standard list metadata.'),
    items: list(ref(T.Lease), 'items is a list of schema objects.'),
  },
  required: ['items'],
});
