/** networking.k8s.io/v1 Ingress and IngressClass (field names and docs as in k8s.io/api/networking/v1). */
import { anyObj, defineType, int, list, ref, str, strList } from './schema.js';
import { T_LIST_META, T_OBJECT_META } from './meta.js';

const NET = 'io.k8s.api.networking.v1';
export const T = {
  Ingress: `${NET}.Ingress`,
  IngressClass: `${NET}.IngressClass`,
} as const;

const meta = () => ref(T_OBJECT_META, "Standard object's metadata.");
const apiVersion = () => str('APIVersion defines the versioned schema of this representation of an object.');
const kind = () => str('Kind is a string value representing the REST resource this object represents.');
const gvk = (k: string) => [{ group: 'networking.k8s.io', version: 'v1', kind: k }];

defineType({
  name: `${NET}.ServiceBackendPort`,
  desc: 'ServiceBackendPort is the service port being referenced.',
  props: {
    name: str('name is the name of the port on the Service. This is a mutually exclusive setting with "Number".'),
    number: int('number is the numerical port number (e.g. 80) on the Service. Mutually exclusive with "Name".'),
  },
});
defineType({
  name: `${NET}.IngressServiceBackend`,
  desc: 'IngressServiceBackend references a Kubernetes Service as a Backend.',
  props: {
    name: str('name is the referenced service. The service must exist in the same namespace as the Ingress object.'),
    port: ref(`${NET}.ServiceBackendPort`, 'port of the referenced service.'),
  },
  required: ['name'],
});
defineType({
  name: `${NET}.IngressBackend`,
  desc: 'IngressBackend describes all endpoints for a given service and port.',
  props: {
    service: ref(`${NET}.IngressServiceBackend`, 'service references a service as a backend. Exclusive with Resource.'),
    resource: anyObj('resource is an ObjectRef to another Kubernetes resource in the namespace of the Ingress.'),
  },
});
defineType({
  name: `${NET}.HTTPIngressPath`,
  desc: 'HTTPIngressPath associates a path with a backend. Incoming urls matching the path are forwarded to the backend.',
  props: {
    path: str('path is matched against the path of an incoming request. It must begin with a "/".'),
    pathType: str('pathType determines the interpretation of the path matching.', {
      enum: ['Exact', 'ImplementationSpecific', 'Prefix'],
    }),
    backend: ref(
      `${NET}.IngressBackend`,
      'backend defines the referenced service endpoint to which the traffic will be forwarded to.',
    ),
  },
  required: ['pathType', 'backend'],
});
defineType({
  name: `${NET}.HTTPIngressRuleValue`,
  desc: 'HTTPIngressRuleValue is a list of http selectors pointing to backends.',
  props: {
    paths: list(ref(`${NET}.HTTPIngressPath`), 'paths is a collection of paths that map requests to backends.', {
      listType: 'atomic',
    }),
  },
  required: ['paths'],
});
defineType({
  name: `${NET}.IngressRule`,
  desc: 'IngressRule represents the rules mapping the paths under a specified host to the related backend services.',
  props: {
    host: str(
      'host is the fully qualified domain name of a network host, as defined by RFC 3986; "*.foo.com" is a wildcard.',
    ),
    http: ref(`${NET}.HTTPIngressRuleValue`, 'http is a list of http selectors pointing to backends.'),
  },
});
defineType({
  name: `${NET}.IngressTLS`,
  desc: 'IngressTLS describes the transport layer security associated with an ingress.',
  props: {
    hosts: strList('hosts is a list of hosts included in the TLS certificate.'),
    secretName: str('secretName is the name of the secret used to terminate TLS traffic on port 443.'),
  },
});
defineType({
  name: `${NET}.IngressSpec`,
  desc: 'IngressSpec describes the Ingress the user wishes to exist.',
  props: {
    ingressClassName: str('ingressClassName is the name of an IngressClass cluster resource.'),
    defaultBackend: ref(
      `${NET}.IngressBackend`,
      'defaultBackend is the backend that should handle requests that match no rule.',
    ),
    tls: list(ref(`${NET}.IngressTLS`), 'tls represents the TLS configuration.', { listType: 'atomic' }),
    rules: list(ref(`${NET}.IngressRule`), 'rules is a list of host rules used to configure the Ingress.', {
      listType: 'atomic',
    }),
  },
});
defineType({
  name: `${NET}.IngressPortStatus`,
  desc: 'IngressPortStatus represents the error condition of a service port',
  props: {
    port: int('port is the port number of the ingress port.'),
    protocol: str('protocol of the port.'),
    error: str('error of the port.'),
  },
  required: ['port', 'protocol'],
});
defineType({
  name: `${NET}.IngressLoadBalancerIngress`,
  desc: 'IngressLoadBalancerIngress represents the status of a load-balancer ingress point.',
  props: {
    ip: str('ip is set for load-balancer ingress points that are IP based.'),
    hostname: str('hostname is set for load-balancer ingress points that are DNS based.'),
    ports: list(
      ref(`${NET}.IngressPortStatus`),
      'ports provides information about the ports exposed by this LoadBalancer.',
      {
        listType: 'atomic',
      },
    ),
  },
});
defineType({
  name: `${NET}.IngressLoadBalancerStatus`,
  desc: 'IngressLoadBalancerStatus represents the status of a load-balancer.',
  props: {
    ingress: list(
      ref(`${NET}.IngressLoadBalancerIngress`),
      'ingress is a list containing ingress points for the load-balancer.',
      {
        listType: 'atomic',
      },
    ),
  },
});
defineType({
  name: `${NET}.IngressStatus`,
  desc: 'IngressStatus describe the current state of the Ingress.',
  props: {
    loadBalancer: ref(
      `${NET}.IngressLoadBalancerStatus`,
      'loadBalancer contains the current status of the load-balancer.',
    ),
  },
});
defineType({
  name: T.Ingress,
  desc: 'Ingress is a collection of rules that allow inbound connections to reach the endpoints defined by a backend.',
  gvk: gvk('Ingress'),
  props: {
    apiVersion: apiVersion(),
    kind: kind(),
    metadata: meta(),
    spec: ref(`${NET}.IngressSpec`, 'spec is the desired state of the Ingress.'),
    status: ref(`${NET}.IngressStatus`, 'status is the current state of the Ingress.'),
  },
});
defineType({
  name: `${NET}.IngressList`,
  desc: 'IngressList is a collection of Ingress.',
  gvk: gvk('IngressList'),
  props: {
    apiVersion: apiVersion(),
    kind: kind(),
    metadata: ref(T_LIST_META, "Standard object's metadata."),
    items: list(ref(T.Ingress), 'items is the list of Ingress.'),
  },
  required: ['items'],
});

defineType({
  name: `${NET}.IngressClassParametersReference`,
  desc: 'IngressClassParametersReference identifies an API object (e.g. a CRD) that can be used to configure the controller.',
  props: {
    apiGroup: str('apiGroup is the group for the resource being referenced.'),
    kind: str('kind is the type of resource being referenced.'),
    name: str('name is the name of resource being referenced.'),
    scope: str('scope represents if this refers to a cluster or namespace scoped resource: "Cluster" or "Namespace".'),
    namespace: str('namespace is the namespace of the resource being referenced (scope "Namespace").'),
  },
  required: ['kind', 'name'],
});
defineType({
  name: `${NET}.IngressClassSpec`,
  desc: 'IngressClassSpec provides information about the class of an Ingress.',
  props: {
    controller: str(
      'controller refers to the name of the controller that should handle this class, e.g. "example.com/ingress-controller".',
    ),
    parameters: ref(
      `${NET}.IngressClassParametersReference`,
      'parameters is a link to a custom resource containing additional configuration.',
    ),
  },
});
defineType({
  name: T.IngressClass,
  desc: 'IngressClass represents the class of the Ingress, referenced by the Ingress Spec.',
  gvk: gvk('IngressClass'),
  props: {
    apiVersion: apiVersion(),
    kind: kind(),
    metadata: meta(),
    spec: ref(`${NET}.IngressClassSpec`, 'spec is the desired state of the IngressClass.'),
  },
});
defineType({
  name: `${NET}.IngressClassList`,
  desc: 'IngressClassList is a collection of IngressClasses.',
  gvk: gvk('IngressClassList'),
  props: {
    apiVersion: apiVersion(),
    kind: kind(),
    metadata: ref(T_LIST_META, "Standard object's metadata."),
    items: list(ref(T.IngressClass), 'items is the list of IngressClasses.'),
  },
  required: ['items'],
});
