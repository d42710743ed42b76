/**
 * gateway.networking.k8s.io/v1, standard channel: GatewayClass, Gateway, HTTPRoute (field names as in
 * sigs.k8s.io/gateway-api apis/v1). Type names follow the CRDs' OpenAPI names.
 */
import { anyObj, defineType, int, keyedList, list, ref, str, strList, strMap } from './schema.js';
import { T_CONDITION, T_LIST_META, T_OBJECT_META } from './meta.js';

const GW = 'io.k8s.networking.gateway.v1';
export const T = {
  GatewayClass: `${GW}.GatewayClass`,
  Gateway: `${GW}.Gateway`,
  HTTPRoute: `${GW}.HTTPRoute`,
} as const;

const meta = () => ref(T_OBJECT_META, "Standard object's metadata.");
const apiVersion = () => str('APIVersion defines the versioned schema of this representation of an object.');
const kind = () => str('Kind is a string value representing the REST resource this object represents.');
const gvk = (k: string) => [{ group: 'gateway.networking.k8s.io', version: 'v1', kind: k }];
const conditions = (desc: string) => keyedList(ref(T_CONDITION), 'type', desc);
const listOf = (k: string, item: string) =>
  defineType({
    name: `${GW}.${k}List`,
    desc: `${k}List contains a list of ${k}.`,
    gvk: gvk(`${k}List`),
    props: {
      apiVersion: apiVersion(),
      kind: kind(),
      metadata: ref(T_LIST_META, "Standard object's metadata."),
      items: list(ref(item), `items is the list of ${k}.`),
    },
    required: ['items'],
  });

// ---------------- GatewayClass ----------------
defineType({
  name: `${GW}.ParametersReference`,
  desc: 'ParametersReference identifies an API object containing controller-specific configuration resource.',
  props: {
    group: str('Group is the group of the referent.'),
    kind: str('Kind is kind of the referent.'),
    name: str('Name is the name of the referent.'),
    namespace: str('Namespace is the namespace of the referent.'),
  },
  required: ['group', 'kind', 'name'],
});
defineType({
  name: `${GW}.GatewayClassSpec`,
  desc: 'GatewayClassSpec reflects the configuration of a class of Gateways.',
  props: {
    controllerName: str(
      'ControllerName is the name of the controller that is managing Gateways of this class (a domain-prefixed path).',
    ),
    parametersRef: ref(
      `${GW}.ParametersReference`,
      'ParametersRef is a reference to a resource that contains the configuration parameters.',
    ),
    description: str('Description helps describe a GatewayClass with more details.'),
  },
  required: ['controllerName'],
});
defineType({
  name: `${GW}.GatewayClassStatus`,
  desc: 'GatewayClassStatus is the current status for the GatewayClass.',
  props: {
    conditions: conditions('Conditions is the current status from the controller for this GatewayClass (Accepted).'),
    supportedFeatures: list(anyObj(), 'SupportedFeatures is the set of features the GatewayClass support.', {
      listType: 'atomic',
    }),
  },
});
defineType({
  name: T.GatewayClass,
  desc: 'GatewayClass describes a class of Gateways available to the user for creating Gateway resources.',
  gvk: gvk('GatewayClass'),
  props: {
    apiVersion: apiVersion(),
    kind: kind(),
    metadata: meta(),
    spec: ref(`${GW}.GatewayClassSpec`, 'Spec defines the desired state of GatewayClass.'),
    status: ref(`${GW}.GatewayClassStatus`, 'Status defines the current state of GatewayClass.'),
  },
  required: ['spec'],
});
listOf('GatewayClass', T.GatewayClass);

// ---------------- Gateway ----------------
defineType({
  name: `${GW}.SecretObjectReference`,
  desc: 'SecretObjectReference identifies an API object including its namespace, defaulting to Secret.',
  props: {
    group: str('Group is the group of the referent (default "").'),
    kind: str('Kind is kind of the referent (default "Secret").'),
    name: str('Name is the name of the referent.'),
    namespace: str('Namespace is the namespace of the referenced object.'),
  },
  required: ['name'],
});
defineType({
  name: `${GW}.GatewayTLSConfig`,
  desc: 'GatewayTLSConfig describes a TLS configuration.',
  props: {
    mode: str('Mode defines the TLS behavior for the TLS session initiated by the client: Terminate or Passthrough.', {
      enum: ['Passthrough', 'Terminate'],
    }),
    certificateRefs: list(
      ref(`${GW}.SecretObjectReference`),
      'CertificateRefs contains a series of references to Kubernetes objects that contains TLS certificates and private keys.',
      { listType: 'atomic' },
    ),
    options: strMap(
      'Options are a list of key/value pairs to enable extended TLS configuration for each implementation.',
    ),
  },
});
defineType({
  name: `${GW}.RouteNamespaces`,
  desc: 'RouteNamespaces indicate which namespaces Routes should be selected from.',
  props: {
    from: str('From indicates where Routes will be selected for this Gateway: All, Selector or Same.', {
      enum: ['All', 'Same', 'Selector'],
    }),
    selector: anyObj('Selector must be specified when From is set to "Selector".'),
  },
});
defineType({
  name: `${GW}.RouteGroupKind`,
  desc: 'RouteGroupKind indicates the group and kind of a Route resource.',
  props: { group: str('Group is the group of the Route.'), kind: str('Kind is the kind of the Route.') },
  required: ['kind'],
});
defineType({
  name: `${GW}.AllowedRoutes`,
  desc: 'AllowedRoutes defines which Routes may be attached to this Listener.',
  props: {
    namespaces: ref(
      `${GW}.RouteNamespaces`,
      'Namespaces indicates namespaces from which Routes may be attached to this Listener.',
    ),
    kinds: list(
      ref(`${GW}.RouteGroupKind`),
      'Kinds specifies the groups and kinds of Routes that are allowed to bind to this Gateway Listener.',
      { listType: 'atomic' },
    ),
  },
});
defineType({
  name: `${GW}.Listener`,
  desc: 'Listener embodies the concept of a logical endpoint where a Gateway accepts network connections.',
  props: {
    name: str('Name is the name of the Listener. This name MUST be unique within a Gateway.'),
    hostname: str('Hostname specifies the virtual hostname to match for protocol types that define this concept.'),
    port: int('Port is the network port.'),
    protocol: str(
      'Protocol specifies the network protocol this listener expects to receive (HTTP, HTTPS, TLS, TCP, UDP).',
    ),
    tls: ref(`${GW}.GatewayTLSConfig`, 'TLS is the TLS configuration for the Listener.'),
    allowedRoutes: ref(
      `${GW}.AllowedRoutes`,
      'AllowedRoutes defines the types of routes that MAY be attached to a Listener.',
    ),
  },
  required: ['name', 'port', 'protocol'],
});
defineType({
  name: `${GW}.GatewaySpecAddress`,
  desc: 'GatewaySpecAddress describes an address that can be bound to a Gateway.',
  props: {
    type: str('Type of the address (IPAddress, Hostname, or a domain-prefixed string).'),
    value: str('Value of the address.'),
  },
});
defineType({
  name: `${GW}.GatewaySpec`,
  desc: 'GatewaySpec defines the desired state of Gateway.',
  props: {
    gatewayClassName: str('GatewayClassName used for this Gateway. This is the name of a GatewayClass resource.'),
    listeners: keyedList(ref(`${GW}.Listener`), 'name', 'Listeners associated with this Gateway.'),
    addresses: list(ref(`${GW}.GatewaySpecAddress`), 'Addresses requested for this Gateway.', { listType: 'atomic' }),
    infrastructure: anyObj('Infrastructure defines infrastructure level attributes about this Gateway instance.'),
  },
  required: ['gatewayClassName', 'listeners'],
});
defineType({
  name: `${GW}.ListenerStatus`,
  desc: 'ListenerStatus is the status associated with a Listener.',
  props: {
    name: str('Name is the name of the Listener that this status corresponds to.'),
    supportedKinds: list(
      ref(`${GW}.RouteGroupKind`),
      'SupportedKinds is the list indicating the Kinds supported by this listener.',
      { listType: 'atomic' },
    ),
    attachedRoutes: int(
      'AttachedRoutes represents the total number of Routes that have been successfully attached to this Listener.',
    ),
    conditions: conditions('Conditions describe the current condition of this listener.'),
  },
  required: ['name', 'supportedKinds', 'attachedRoutes', 'conditions'],
});
defineType({
  name: `${GW}.GatewayStatus`,
  desc: 'GatewayStatus defines the observed state of Gateway.',
  props: {
    addresses: list(
      ref(`${GW}.GatewaySpecAddress`),
      'Addresses lists the network addresses that have been bound to the Gateway.',
      { listType: 'atomic' },
    ),
    conditions: conditions('Conditions describe the current conditions of the Gateway (Accepted, Programmed).'),
    listeners: keyedList(
      ref(`${GW}.ListenerStatus`),
      'name',
      'Listeners provide status for each unique listener port defined in the Spec.',
    ),
  },
});
defineType({
  name: T.Gateway,
  desc: 'Gateway represents an instance of a service-traffic handling infrastructure by binding Listeners to a set of IP addresses.',
  gvk: gvk('Gateway'),
  props: {
    apiVersion: apiVersion(),
    kind: kind(),
    metadata: meta(),
    spec: ref(`${GW}.GatewaySpec`, 'Spec defines the desired state of Gateway.'),
    status: ref(`${GW}.GatewayStatus`, 'Status defines the current state of Gateway.'),
  },
  required: ['spec'],
});
listOf('Gateway', T.Gateway);

// ---------------- HTTPRoute ----------------
defineType({
  name: `${GW}.ParentReference`,
  desc: 'ParentReference identifies an API object (usually a Gateway) that can be considered a parent of this resource.',
  props: {
    group: str('Group is the group of the referent (default gateway.networking.k8s.io).'),
    kind: str('Kind is kind of the referent (default Gateway).'),
    namespace: str("Namespace is the namespace of the referent (default: the route's namespace)."),
    name: str('Name is the name of the referent.'),
    sectionName: str('SectionName is the name of a section within the target resource (a Listener name).'),
    port: int('Port is the network port this Route targets.'),
  },
  required: ['name'],
});
defineType({
  name: `${GW}.HTTPPathMatch`,
  desc: 'HTTPPathMatch describes how to select a HTTP route by matching the HTTP request path.',
  props: {
    type: str('Type specifies how to match against the path Value.', {
      enum: ['Exact', 'PathPrefix', 'RegularExpression'],
    }),
    value: str('Value of the HTTP path to match against.'),
  },
});
defineType({
  name: `${GW}.HTTPHeaderMatch`,
  desc: 'HTTPHeaderMatch describes how to select a HTTP route by matching HTTP request headers.',
  props: {
    type: str('Type specifies how to match against the value of the header.', { enum: ['Exact', 'RegularExpression'] }),
    name: str('Name is the name of the HTTP Header to be matched (case-insensitive).'),
    value: str('Value is the value of HTTP Header to be matched.'),
  },
  required: ['name', 'value'],
});
defineType({
  name: `${GW}.HTTPQueryParamMatch`,
  desc: 'HTTPQueryParamMatch describes how to select a HTTP route by matching HTTP query parameters.',
  props: {
    type: str('Type specifies how to match against the value of the query parameter.', {
      enum: ['Exact', 'RegularExpression'],
    }),
    name: str('Name is the name of the HTTP query param to be matched (exact).'),
    value: str('Value is the value of HTTP query param to be matched.'),
  },
  required: ['name', 'value'],
});
defineType({
  name: `${GW}.HTTPRouteMatch`,
  desc: 'HTTPRouteMatch defines the predicate used to match requests to a given action.',
  props: {
    path: ref(`${GW}.HTTPPathMatch`, 'Path specifies a HTTP request path matcher (default PathPrefix "/").'),
    headers: keyedList(ref(`${GW}.HTTPHeaderMatch`), 'name', 'Headers specifies HTTP request header matchers (ANDed).'),
    queryParams: keyedList(
      ref(`${GW}.HTTPQueryParamMatch`),
      'name',
      'QueryParams specifies HTTP query parameter matchers (ANDed).',
    ),
    method: str('Method specifies HTTP method matcher.', {
      enum: ['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE'],
    }),
  },
});
defineType({
  name: `${GW}.HTTPHeader`,
  desc: 'HTTPHeader represents an HTTP Header name and value as defined by RFC 7230.',
  props: {
    name: str('Name is the name of the HTTP Header to be matched.'),
    value: str('Value is the value of HTTP Header to be matched.'),
  },
  required: ['name', 'value'],
});
defineType({
  name: `${GW}.HTTPHeaderFilter`,
  desc: 'HTTPHeaderFilter defines a filter that modifies the headers of an HTTP request or response.',
  props: {
    set: keyedList(ref(`${GW}.HTTPHeader`), 'name', 'Set overwrites the request with the given header (name, value).'),
    add: keyedList(
      ref(`${GW}.HTTPHeader`),
      'name',
      'Add adds the given header(s) (name, value) to the request before the action.',
    ),
    remove: {
      t: 'array',
      items: { t: 'string' },
      desc: 'Remove the given header(s) from the HTTP request before the action.',
      listType: 'set',
    },
  },
});
defineType({
  name: `${GW}.HTTPPathModifier`,
  desc: 'HTTPPathModifier defines configuration for path modifiers.',
  props: {
    type: str('Type defines the type of path modifier: ReplaceFullPath or ReplacePrefixMatch.', {
      enum: ['ReplaceFullPath', 'ReplacePrefixMatch'],
    }),
    replaceFullPath: str('ReplaceFullPath specifies the value with which to replace the full path of a request.'),
    replacePrefixMatch: str(
      'ReplacePrefixMatch specifies the value with which to replace the prefix match of a request.',
    ),
  },
  required: ['type'],
});
defineType({
  name: `${GW}.HTTPRequestRedirectFilter`,
  desc: 'HTTPRequestRedirect defines a filter that redirects a request.',
  props: {
    scheme: str('Scheme is the scheme to be used in the value of the Location header in the response.', {
      enum: ['http', 'https'],
    }),
    hostname: str('Hostname is the hostname to be used in the value of the Location header in the response.'),
    path: ref(`${GW}.HTTPPathModifier`, 'Path defines parameters used to modify the path of the incoming request.'),
    port: int('Port is the port to be used in the value of the Location header in the response.'),
    statusCode: int('StatusCode is the HTTP status code to be used in response (301 or 302; default 302).'),
  },
});
defineType({
  name: `${GW}.HTTPURLRewriteFilter`,
  desc: 'HTTPURLRewriteFilter defines a filter that modifies a request during forwarding.',
  props: {
    hostname: str('Hostname is the value to be used to replace the Host header value during forwarding.'),
    path: ref(`${GW}.HTTPPathModifier`, 'Path defines a path rewrite.'),
  },
});
defineType({
  name: `${GW}.HTTPRouteFilter`,
  desc: 'HTTPRouteFilter defines processing steps that must be completed during the request or response lifecycle.',
  props: {
    type: str('Type identifies the type of filter to apply.', {
      enum: [
        'ExtensionRef',
        'RequestHeaderModifier',
        'RequestMirror',
        'RequestRedirect',
        'ResponseHeaderModifier',
        'URLRewrite',
      ],
    }),
    requestHeaderModifier: ref(
      `${GW}.HTTPHeaderFilter`,
      'RequestHeaderModifier defines a schema for a filter that modifies request headers.',
    ),
    responseHeaderModifier: ref(
      `${GW}.HTTPHeaderFilter`,
      'ResponseHeaderModifier defines a schema for a filter that modifies response headers.',
    ),
    requestMirror: anyObj('RequestMirror defines a schema for a filter that mirrors requests.'),
    requestRedirect: ref(
      `${GW}.HTTPRequestRedirectFilter`,
      'RequestRedirect defines a schema for a filter that responds to the request with an HTTP redirection.',
    ),
    urlRewrite: ref(
      `${GW}.HTTPURLRewriteFilter`,
      'URLRewrite defines a schema for a filter that modifies a request during forwarding.',
    ),
    extensionRef: anyObj('ExtensionRef is an optional, implementation-specific extension to the "filter" behavior.'),
  },
  required: ['type'],
});
defineType({
  name: `${GW}.HTTPBackendRef`,
  desc: 'HTTPBackendRef defines how a HTTPRoute forwards a HTTP request.',
  props: {
    group: str('Group is the group of the referent (default "" for core).'),
    kind: str('Kind is the Kubernetes resource kind of the referent (default Service).'),
    name: str('Name is the name of the referent.'),
    namespace: str("Namespace is the namespace of the backend (default: the route's namespace)."),
    port: int('Port specifies the destination port number to use for this resource (required for Services).'),
    weight: int(
      'Weight specifies the proportion of requests forwarded to the referenced backend (0-1000000, default 1).',
    ),
    filters: list(
      ref(`${GW}.HTTPRouteFilter`),
      'Filters defined at this level should be executed if and only if the request is being forwarded to the backend.',
      { listType: 'atomic' },
    ),
  },
  required: ['name'],
});
defineType({
  name: `${GW}.HTTPRouteTimeouts`,
  desc: 'HTTPRouteTimeouts defines timeouts that can be configured for an HTTPRoute.',
  props: {
    request: str('Request specifies the maximum duration for a gateway to respond to an HTTP request (e.g. "10s").'),
    backendRequest: str('BackendRequest specifies a timeout for an individual request from the gateway to a backend.'),
  },
});
defineType({
  name: `${GW}.HTTPRouteRule`,
  desc:
    'HTTPRouteRule defines semantics for matching an HTTP request based on conditions (matches), ' +
    'processing it (filters), and forwarding the request to an API object (backendRefs).',
  props: {
    name: str('Name is the name of the route rule.'),
    matches: list(
      ref(`${GW}.HTTPRouteMatch`),
      'Matches define conditions used for matching the rule against incoming HTTP requests (ORed).',
      { listType: 'atomic' },
    ),
    filters: list(
      ref(`${GW}.HTTPRouteFilter`),
      'Filters define the filters that are applied to requests that match this rule.',
      { listType: 'atomic' },
    ),
    backendRefs: list(
      ref(`${GW}.HTTPBackendRef`),
      'BackendRefs defines the backend(s) where matching requests should be sent.',
      { listType: 'atomic' },
    ),
    timeouts: ref(
      `${GW}.HTTPRouteTimeouts`,
      'Timeouts defines the timeouts that can be configured for an HTTP request.',
    ),
  },
});
defineType({
  name: `${GW}.HTTPRouteSpec`,
  desc: 'HTTPRouteSpec defines the desired state of HTTPRoute.',
  props: {
    parentRefs: list(
      ref(`${GW}.ParentReference`),
      'ParentRefs references the resources (usually Gateways) that a Route wants to be attached to.',
      { listType: 'atomic' },
    ),
    hostnames: strList('Hostnames defines a set of hostnames that should match against the HTTP Host header.'),
    rules: list(ref(`${GW}.HTTPRouteRule`), 'Rules are a list of HTTP matchers, filters and actions.', {
      listType: 'atomic',
    }),
  },
});
defineType({
  name: `${GW}.RouteParentStatus`,
  desc: 'RouteParentStatus describes the status of a route with respect to an associated Parent.',
  props: {
    parentRef: ref(
      `${GW}.ParentReference`,
      'ParentRef corresponds with a ParentRef in the spec that this RouteParentStatus struct describes the status of.',
    ),
    controllerName: str(
      'ControllerName is a domain/path string that indicates the name of the controller that wrote this status.',
    ),
    conditions: conditions(
      'Conditions describes the status of the route with respect to the Gateway (Accepted, ResolvedRefs).',
    ),
  },
  required: ['parentRef', 'controllerName'],
});
defineType({
  name: `${GW}.HTTPRouteStatus`,
  desc: 'HTTPRouteStatus defines the observed state of HTTPRoute.',
  props: {
    parents: list(
      ref(`${GW}.RouteParentStatus`),
      'Parents is a list of parent resources (usually Gateways) that are associated with the route.',
      { listType: 'atomic' },
    ),
  },
  required: ['parents'],
});
defineType({
  name: T.HTTPRoute,
  desc: 'HTTPRoute provides a way to route HTTP requests.',
  gvk: gvk('HTTPRoute'),
  props: {
    apiVersion: apiVersion(),
    kind: kind(),
    metadata: meta(),
    spec: ref(`${GW}.HTTPRouteSpec`, 'Spec defines the desired state of HTTPRoute.'),
    status: ref(`${GW}.HTTPRouteStatus`, 'Status defines the current state of HTTPRoute.'),
  },
  required: ['spec'],
});
listOf('HTTPRoute', T.HTTPRoute);
