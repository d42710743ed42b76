/** discovery.k8s.io/v1 EndpointSlice. */
import { anyObj, bool, defineType, int, list, ref, str } from './schema.js';
import { T_LIST_META, T_OBJECT_META } from './meta.js';
import { T as CORE } from './core-v1.js';

const D = 'io.k8s.api.discovery.v1';
export const T = { EndpointSlice: `${D}.EndpointSlice` } as const;

defineType({
  name: `${D}.EndpointConditions`,
  desc: 'EndpointConditions represents the current condition of an endpoint.',
  props: {
    ready: bool('ready indicates that this endpoint is ready to receive traffic.'),
    serving: bool('serving indicates that this endpoint is able to receive traffic, regardless of termination state.'),
    terminating: bool('terminating indicates that this endpoint is terminating.'),
  },
});
defineType({
  name: `${D}.Endpoint`,
  desc: 'Endpoint represents a single logical "backend" implementing a service.',
  props: {
    addresses: {
      t: 'array',
      items: str(),
      desc: 'addresses of this endpoint. Must contain at least one address.',
      listType: 'set',
    },
    conditions: ref(
      `${D}.EndpointConditions`,
      'conditions contains information about the current status of the endpoint.',
    ),
    hostname: str('hostname of this endpoint.'),
    targetRef: ref(
      CORE.ObjectReference,
      'targetRef is a reference to a Kubernetes object that represents this endpoint.',
    ),
    deprecatedTopology: anyObj('deprecatedTopology contains topology information part of the v1beta1 API.'),
    nodeName: str('nodeName represents the name of the Node hosting this endpoint.'),
    zone: str('zone is the name of the Zone this endpoint exists in.'),
    hints: anyObj('hints contains information associated with how an endpoint should be consumed.'),
  },
  required: ['addresses'],
});
defineType({
  name: `${D}.EndpointPort`,
  desc: 'EndpointPort represents a Port used by an EndpointSlice.',
  props: {
    name: str('name represents the name of this port.'),
    protocol: str('protocol represents the IP protocol for this port. Must be UDP, TCP, or SCTP. Default is TCP.'),
    port: int('port represents the port number of the endpoint.'),
    appProtocol: str('The application protocol for this port.'),
  },
});
defineType({
  name: T.EndpointSlice,
  desc: 'EndpointSlice represents a subset of the endpoints that implement a service.',
  gvk: [{ group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice' }],
  props: {
    apiVersion: str('APIVersion defines the versioned schema of this representation of an object.'),
    kind: str('Kind is a string value representing the REST resource this object represents.'),
    metadata: ref(T_OBJECT_META, "Standard object's metadata."),
    addressType: str('addressType specifies the type of address carried by this EndpointSlice: IPv4, IPv6 or FQDN.', {
      enum: ['FQDN', 'IPv4', 'IPv6'],
    }),
    endpoints: list(ref(`${D}.Endpoint`), 'endpoints is a list of unique endpoints in this slice.', {
      listType: 'atomic',
    }),
    ports: list(
      ref(`${D}.EndpointPort`),
      'ports specifies the list of network ports exposed by each endpoint in this slice.',
      { listType: 'atomic' },
    ),
  },
  required: ['addressType', 'endpoints'],
});
defineType({
  name: `${D}.EndpointSliceList`,
  desc: 'EndpointSliceList represents a list of endpoint slices.',
  gvk: [{ group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSliceList' }],
  props: {
    apiVersion: str(),
    kind: str(),
    metadata: ref(T_LIST_META, 'Standard list metadata.'),
    items: list(ref(T.EndpointSlice), 'items is the list of endpoint slices'),
  },
  required: ['items'],
});
