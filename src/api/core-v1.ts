/**
 * core/v1 kinds skiff serves: Namespace, Node, Pod, Service, Endpoints, ConfigMap, Secret, Binding (+ ObjectReference).
 * Field names, merge keys and strategies follow Kubernetes; rarely used sub-structures (probes, affinity,
 * security contexts, volume sources) are kept as open objects so manifests carrying them still apply.
 */
import {
  anyObj,
  bool,
  defineType,
  int,
  intOrStr,
  keyedList,
  list,
  mapOf,
  quantity,
  ref,
  str,
  strList,
  strMap,
  time,
  type Schema,
} from './schema.js';
import { T_LIST_META, T_OBJECT_META } from './meta.js';

const V1 = 'io.k8s.api.core.v1';
export const T = {
  Namespace: `${V1}.Namespace`,
  Node: `${V1}.Node`,
  Pod: `${V1}.Pod`,
  PodSpec: `${V1}.PodSpec`,
  PodTemplateSpec: `${V1}.PodTemplateSpec`,
  Service: `${V1}.Service`,
  Endpoints: `${V1}.Endpoints`,
  ConfigMap: `${V1}.ConfigMap`,
  Secret: `${V1}.Secret`,
  Binding: `${V1}.Binding`,
  ObjectReference: `${V1}.ObjectReference`,
} as const;

const gvk = (kind: string) => [{ group: '', version: 'v1', kind }];
const meta = () => ref(T_OBJECT_META, "Standard object's metadata.");
const apiVersion = () => str('APIVersion defines the versioned schema of this representation of an object.');
const kind = () => str('Kind is a string value representing the REST resource this object represents.');
/** Kubernetes condition lists are merged by type; skiff keeps each condition's inside open. */
const conditions = (desc: string) =>
  keyedList(anyObj('A condition: type, status, reason, message, timestamps.'), 'type', desc);

defineType({
  name: T.ObjectReference,
  desc: 'ObjectReference contains enough information to let you inspect or modify the referred object.',
  mapType: 'atomic',
  props: {
    kind: str('Kind of the referent.'),
    namespace: str('Namespace of the referent.'),
    name: str('Name of the referent.'),
    uid: str('UID of the referent.'),
    apiVersion: str('API version of the referent.'),
    resourceVersion: str('Specific resourceVersion to which this reference is made, if any.'),
    fieldPath: str(
      'If referring to a piece of an object instead of an entire object, ' +
        'this string should contain a valid JSON/Go field access statement.',
    ),
  },
});

// ---------------- Namespace ----------------
defineType({
  name: `${V1}.NamespaceSpec`,
  desc: 'NamespaceSpec describes the attributes on a Namespace.',
  props: {
    finalizers: strList(
      'Finalizers is an opaque list of values that must be empty to permanently remove object from storage.',
    ),
  },
});
defineType({
  name: `${V1}.NamespaceStatus`,
  desc: 'NamespaceStatus is information about the current status of a Namespace.',
  props: {
    phase: str('Phase is the current lifecycle phase of the namespace.', { enum: ['Active', 'Terminating'] }),
    conditions: conditions("Represents the latest available observations of a namespace's current state."),
  },
});
defineType({
  name: T.Namespace,
  desc: 'Namespace provides a scope for Names. Use of multiple namespaces is optional.',
  gvk: gvk('Namespace'),
  props: {
    apiVersion: apiVersion(),
    kind: kind(),
    metadata: meta(),
    spec: ref(`${V1}.NamespaceSpec`, 'Spec defines the behavior of the Namespace.'),
    status: ref(`${V1}.NamespaceStatus`, 'Status describes the current status of a Namespace.'),
  },
});

// ---------------- Node ----------------
defineType({
  name: `${V1}.Taint`,
  desc: 'The node this Taint is attached to has the "effect" on any pod that does not tolerate the Taint.',
  props: {
    key: str('Required. The taint key to be applied to a node.'),
    value: str('The taint value corresponding to the taint key.'),
    effect: str('Required. The effect of the taint on pods that do not tolerate the taint.', {
      enum: ['NoExecute', 'NoSchedule', 'PreferNoSchedule'],
    }),
    timeAdded: time('TimeAdded represents the time at which the taint was added.'),
  },
  required: ['key', 'effect'],
});
defineType({
  name: `${V1}.NodeSpec`,
  desc: 'NodeSpec describes the attributes that a node is created with.',
  props: {
    podCIDR: str('PodCIDR represents the pod IP range assigned to the node.'),
    podCIDRs: list(str(), 'podCIDRs represents the IP ranges assigned to the node for usage by Pods on that node.', {
      strategy: 'merge',
      listType: 'set',
    }),
    providerID: str('ID of the node assigned by the cloud provider.'),
    unschedulable: bool('Unschedulable controls node schedulability of new pods.'),
    taints: list(ref(`${V1}.Taint`), "If specified, the node's taints.", { listType: 'atomic' }),
    configSource: anyObj('Deprecated.'),
    externalID: str('Deprecated.'),
  },
});
defineType({
  name: `${V1}.NodeAddress`,
  desc: "NodeAddress contains information for the node's address.",
  props: {
    type: str('Node address type, one of Hostname, ExternalIP or InternalIP.'),
    address: str('The node address.'),
  },
  required: ['type', 'address'],
});
defineType({
  name: `${V1}.NodeStatus`,
  desc: 'NodeStatus is information about the current status of a node.',
  props: {
    capacity: mapOf(quantity(), 'Capacity represents the total resources of a node.'),
    allocatable: mapOf(quantity(), 'Allocatable represents the resources of a node that are available for scheduling.'),
    phase: str('NodePhase is the recently observed lifecycle phase of the node.'),
    conditions: conditions('Conditions is an array of current observed node conditions.'),
    addresses: keyedList(ref(`${V1}.NodeAddress`), 'type', 'List of addresses reachable to the node.'),
    daemonEndpoints: anyObj('Endpoints of daemons running on the Node.'),
    nodeInfo: anyObj('Set of ids/uuids to uniquely identify the node.'),
    images: list(anyObj(), 'List of container images on this node.', { listType: 'atomic' }),
    volumesInUse: strList('List of attachable volumes in use (mounted) by the node.'),
    volumesAttached: list(anyObj(), 'List of volumes that are attached to the node.', { listType: 'atomic' }),
    config: anyObj('Status of the config assigned to the node via the dynamic Kubelet config feature.'),
    runtimeHandlers: list(anyObj(), 'The available runtime handlers.', { listType: 'atomic' }),
    features: anyObj('Features describes the set of features implemented by the CRI implementation.'),
  },
});
defineType({
  name: T.Node,
  desc: 'Node is a worker node in Kubernetes. Each node will have a unique identifier in the cache (i.e. in etcd).',
  gvk: gvk('Node'),
  props: {
    apiVersion: apiVersion(),
    kind: kind(),
    metadata: meta(),
    spec: ref(`${V1}.NodeSpec`, 'Spec defines the behavior of a node.'),
    status: ref(`${V1}.NodeStatus`, 'Most recently observed status of the node.'),
  },
});

// ---------------- Pod ----------------
defineType({
  name: `${V1}.ContainerPort`,
  desc: 'ContainerPort represents a network port in a single container.',
  props: {
    name: str('If specified, this must be an IANA_SVC_NAME and unique within the pod.'),
    hostPort: int('Number of port to expose on the host.'),
    containerPort: int(
      "Number of port to expose on the pod's IP address. This must be a valid port number, 0 < x < 65536.",
    ),
    protocol: str('Protocol for port. Must be UDP, TCP, or SCTP. Defaults to "TCP".', {
      enum: ['SCTP', 'TCP', 'UDP'],
      default: 'TCP',
    }),
    hostIP: str('What host IP to bind the external port to.'),
  },
  required: ['containerPort'],
});
defineType({
  name: `${V1}.EnvVar`,
  desc: 'EnvVar represents an environment variable present in a Container.',
  props: {
    name: str('Name of the environment variable.'),
    value: str(
      'Variable references $(VAR_NAME) are expanded using the previously defined environment variables in the container.',
    ),
    valueFrom: anyObj("Source for the environment variable's value."),
  },
  required: ['name'],
});
defineType({
  name: `${V1}.VolumeMount`,
  desc: 'VolumeMount describes a mounting of a Volume within a container.',
  props: {
    name: str('This must match the Name of a Volume.'),
    mountPath: str('Path within the container at which the volume should be mounted.'),
    readOnly: bool('Mounted read-only if true, read-write otherwise (false or unspecified).'),
    subPath: str("Path within the volume from which the container's volume should be mounted."),
    subPathExpr: str("Expanded path within the volume from which the container's volume should be mounted."),
    mountPropagation: str('mountPropagation determines how mounts are propagated.'),
    recursiveReadOnly: str('RecursiveReadOnly specifies whether read-only mounts should be handled recursively.'),
  },
  required: ['name', 'mountPath'],
});
defineType({
  name: `${V1}.Container`,
  desc: 'A single application container that you want to run within a pod.',
  props: {
    name: str(
      'Name of the container specified as a DNS_LABEL. Each container in a pod must have a unique name. Cannot be updated.',
    ),
    image: str('Container image name.'),
    command: strList(
      "Entrypoint array. Not executed within a shell. The container image's ENTRYPOINT is used if this is not provided.",
    ),
    args: strList("Arguments to the entrypoint. The container image's CMD is used if this is not provided."),
    workingDir: str("Container's working directory."),
    ports: keyedList(ref(`${V1}.ContainerPort`), 'containerPort', 'List of ports to expose from the container.', [
      'protocol',
    ]),
    envFrom: list(anyObj(), 'List of sources to populate environment variables in the container.', {
      listType: 'atomic',
    }),
    env: keyedList(ref(`${V1}.EnvVar`), 'name', 'List of environment variables to set in the container.'),
    resources: anyObj('Compute Resources required by this container.'),
    resizePolicy: list(anyObj(), 'Resources resize policy for the container.', { listType: 'atomic' }),
    restartPolicy: str(
      'RestartPolicy defines the restart behavior of individual containers in a pod (init containers only: Always).',
    ),
    volumeMounts: keyedList(
      ref(`${V1}.VolumeMount`),
      'mountPath',
      "Pod volumes to mount into the container's filesystem.",
    ),
    volumeDevices: keyedList(
      anyObj(),
      'devicePath',
      'volumeDevices is the list of block devices to be used by the container.',
    ),
    livenessProbe: anyObj('Periodic probe of container liveness. Container will be restarted if the probe fails.'),
    readinessProbe: anyObj(
      'Periodic probe of container service readiness. Container will be removed from service endpoints if the probe fails.',
    ),
    startupProbe: anyObj('StartupProbe indicates that the Pod has successfully initialized.'),
    lifecycle: anyObj('Actions that the management system should take in response to container lifecycle events.'),
    terminationMessagePath: str(
      "Path at which the file to which the container's termination message will be written is mounted.",
    ),
    terminationMessagePolicy: str('Indicate how the termination message should be populated.', {
      enum: ['FallbackToLogsOnError', 'File'],
    }),
    imagePullPolicy: str('Image pull policy. One of Always, Never, IfNotPresent.', {
      enum: ['Always', 'IfNotPresent', 'Never'],
    }),
    securityContext: anyObj('SecurityContext defines the security options the container should be run with.'),
    stdin: bool('Whether this container should allocate a buffer for stdin in the container runtime.'),
    stdinOnce: bool(
      'Whether the container runtime should close the stdin channel after it has been opened by a single attach.',
    ),
    tty: bool('Whether this container should allocate a TTY for itself.'),
  },
  required: ['name'],
});
defineType({
  name: `${V1}.Toleration`,
  desc: 'The pod this Toleration is attached to tolerates any taint that matches the triple <key,value,effect>.',
  props: {
    key: str('Key is the taint key that the toleration applies to.'),
    operator: str("Operator represents a key's relationship to the value: Exists or Equal.", {
      enum: ['Equal', 'Exists'],
    }),
    value: str('Value is the taint value the toleration matches to.'),
    effect: str('Effect indicates the taint effect to match.'),
    tolerationSeconds: int(
      'TolerationSeconds represents the period of time the toleration tolerates the taint.',
      'int64',
    ),
  },
});
defineType({
  name: `${V1}.Volume`,
  desc:
    'Volume represents a named volume in a pod that may be accessed by any container in the ' +
    'pod. The volume source (emptyDir, hostPath, configMap, ' +
    '...) is one more field named after its type.',
  props: { name: str('name of the volume. Must be a DNS_LABEL and unique within the pod.') },
  required: ['name'],
  open: true,
});
defineType({
  name: T.PodSpec,
  desc: 'PodSpec is a description of a pod.',
  props: {
    volumes: {
      t: 'array',
      items: ref(`${V1}.Volume`),
      desc: 'List of volumes that can be mounted by containers belonging to the pod.',
      mergeKey: 'name',
      strategy: 'merge,retainKeys',
      listType: 'map',
      listMapKeys: ['name'],
    },
    initContainers: keyedList(
      ref(`${V1}.Container`),
      'name',
      'List of initialization containers belonging to the pod.',
    ),
    containers: keyedList(
      ref(`${V1}.Container`),
      'name',
      'List of containers belonging to the pod. There must be at least one container in a Pod.',
    ),
    ephemeralContainers: keyedList(anyObj(), 'name', 'List of ephemeral containers run in this pod.'),
    restartPolicy: str(
      'Restart policy for all containers within the pod. One of Always, OnFailure, Never. Default to Always.',
      { enum: ['Always', 'Never', 'OnFailure'] },
    ),
    terminationGracePeriodSeconds: int(
      'Optional duration in seconds the pod needs to terminate gracefully. Defaults to 30 seconds.',
      'int64',
    ),
    activeDeadlineSeconds: int(
      'Optional duration in seconds the pod may be active on the node relative to StartTime.',
      'int64',
    ),
    dnsPolicy: str('Set DNS policy for the pod. Defaults to "ClusterFirst".', {
      enum: ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'],
    }),
    nodeSelector: strMap('NodeSelector is a selector which must be true for the pod to fit on a node.'),
    serviceAccountName: str('ServiceAccountName is the name of the ServiceAccount to use to run this pod.'),
    serviceAccount: str('DeprecatedServiceAccount is a deprecated alias for ServiceAccountName.'),
    automountServiceAccountToken: bool(
      'AutomountServiceAccountToken indicates whether a service account token should be automatically mounted.',
    ),
    nodeName: str(
      'NodeName indicates in which node this pod is scheduled. Set by the scheduler through the binding subresource.',
    ),
    hostNetwork: bool("Host networking requested for this pod. Use the host's network namespace."),
    hostPID: bool("Use the host's pid namespace."),
    hostIPC: bool("Use the host's ipc namespace."),
    shareProcessNamespace: bool('Share a single process namespace between all of the containers in a pod.'),
    securityContext: anyObj('SecurityContext holds pod-level security attributes and common container settings.'),
    imagePullSecrets: keyedList(anyObj(), 'name', 'ImagePullSecrets is an optional list of references to secrets.'),
    hostname: str(
      "Specifies the hostname of the Pod. If not specified, the pod's hostname will be set to a system-defined value.",
    ),
    subdomain: str(
      'If specified, the fully qualified Pod hostname will be "<hostname>.<subdomain>.<pod namespace>.svc.<cluster domain>".',
    ),
    affinity: anyObj("If specified, the pod's scheduling constraints."),
    schedulerName: str('If specified, the pod will be dispatched by specified scheduler.'),
    tolerations: list(ref(`${V1}.Toleration`), "If specified, the pod's tolerations.", { listType: 'atomic' }),
    hostAliases: keyedList(
      anyObj(),
      'ip',
      "HostAliases is an optional list of hosts and IPs that will be injected into the pod's hosts file.",
    ),
    priorityClassName: str("If specified, indicates the pod's priority."),
    priority: int('The priority value.'),
    dnsConfig: anyObj('Specifies the DNS parameters of a pod.'),
    readinessGates: list(anyObj(), 'If specified, all readiness gates will be evaluated for pod readiness.', {
      listType: 'atomic',
    }),
    runtimeClassName: str('RuntimeClassName refers to a RuntimeClass object in the node.k8s.io group.'),
    enableServiceLinks: bool(
      "EnableServiceLinks indicates whether information about services should be injected into pod's environment variables.",
    ),
    preemptionPolicy: str('PreemptionPolicy is the Policy for preempting pods with lower priority.'),
    overhead: mapOf(quantity(), 'Overhead represents the resource overhead associated with running a pod.'),
    topologySpreadConstraints: list(
      anyObj(),
      'TopologySpreadConstraints describes how a group of pods ought to spread across topology domains.',
      { listType: 'atomic' },
    ),
    setHostnameAsFQDN: bool("If true the pod's hostname will be configured as the pod's FQDN."),
    os: anyObj('Specifies the OS of the containers in the pod.'),
    hostUsers: bool("Use the host's user namespace."),
    schedulingGates: keyedList(
      anyObj(),
      'name',
      'SchedulingGates is an opaque list of values that if specified will block scheduling the pod.',
    ),
    resourceClaims: keyedList(
      anyObj(),
      'name',
      'ResourceClaims defines which ResourceClaims must be allocated and reserved before the Pod is allowed to start.',
    ),
    resources: anyObj(
      'Resources is the total amount of CPU and Memory resources required by all containers in the pod.',
    ),
  },
  required: ['containers'],
});
defineType({
  name: `${V1}.PodIP`,
  desc: 'PodIP represents a single IP address allocated to the pod.',
  props: { ip: str('IP is the IP address assigned to the pod.') },
});
defineType({
  name: `${V1}.PodStatus`,
  desc: 'PodStatus represents information about the status of a pod.',
  props: {
    phase: str('The phase of a Pod is a simple, high-level summary of where the Pod is in its lifecycle.', {
      enum: ['Failed', 'Pending', 'Running', 'Succeeded', 'Unknown'],
    }),
    conditions: conditions('Current service state of pod.'),
    message: str('A human readable message indicating details about why the pod is in this condition.'),
    reason: str('A brief CamelCase message indicating details about why the pod is in this state.'),
    nominatedNodeName: str('nominatedNodeName is set only when this pod preempts other pods on the node.'),
    hostIP: str('hostIP holds the IP address of the host to which the pod is assigned.'),
    hostIPs: keyedList(anyObj(), 'ip', 'hostIPs holds the IP addresses allocated to the host.'),
    podIP: str('podIP address allocated to the pod. Routable at least within the cluster.'),
    podIPs: keyedList(ref(`${V1}.PodIP`), 'ip', 'podIPs holds the IP addresses allocated to the pod.'),
    startTime: time('RFC 3339 date and time at which the object was acknowledged by the Kubelet.'),
    initContainerStatuses: list(anyObj(), 'The list has one entry per init container in the manifest.', {
      listType: 'atomic',
    }),
    containerStatuses: list(anyObj(), 'The list has one entry per container in the manifest.', { listType: 'atomic' }),
    ephemeralContainerStatuses: list(anyObj(), 'Status for any ephemeral containers that have run in this pod.', {
      listType: 'atomic',
    }),
    qosClass: str('The Quality of Service (QOS) classification assigned to the pod based on resource requirements.'),
    resize: str("Status of resources resize desired for pod's containers."),
    resourceClaimStatuses: list(anyObj(), 'Status of resource claims.', { listType: 'atomic' }),
    observedGeneration: int(
      'If set, this represents the .metadata.generation that the pod status was set based upon.',
      'int64',
    ),
  },
});
defineType({
  name: T.Pod,
  desc: 'Pod is a collection of containers that can run on a host. This resource is created by clients and scheduled onto hosts.',
  gvk: gvk('Pod'),
  props: {
    apiVersion: apiVersion(),
    kind: kind(),
    metadata: meta(),
    spec: ref(T.PodSpec, 'Specification of the desired behavior of the pod.'),
    status: ref(`${V1}.PodStatus`, 'Most recently observed status of the pod.'),
  },
});
defineType({
  name: T.PodTemplateSpec,
  desc: 'PodTemplateSpec describes the data a pod should have when created from a template.',
  props: { metadata: meta(), spec: ref(T.PodSpec, 'Specification of the desired behavior of the pod.') },
});
defineType({
  name: T.Binding,
  desc: 'Binding ties one object to another; for example, a pod is bound to a node by a scheduler.',
  gvk: gvk('Binding'),
  props: {
    apiVersion: apiVersion(),
    kind: kind(),
    metadata: meta(),
    target: ref(T.ObjectReference, 'The target object that you want to bind to the standard object.'),
  },
  required: ['target'],
});

// ---------------- Service ----------------
defineType({
  name: `${V1}.ServicePort`,
  desc: "ServicePort contains information on service's port.",
  props: {
    name: str(
      'The name of this port within the service. This must be a DNS_LABEL. All ports within a ServiceSpec must have unique names.',
    ),
    protocol: str('The IP protocol for this port. Supports "TCP", "UDP", and "SCTP". Default is TCP.', {
      enum: ['SCTP', 'TCP', 'UDP'],
      default: 'TCP',
    }),
    appProtocol: str('The application protocol for this port.'),
    port: int('The port that will be exposed by this service.'),
    targetPort: intOrStr(
      "Number or name of the port to access on the pods targeted by the service. Defaults to the value of the 'port' field.",
    ),
    nodePort: int(
      'The port on each node on which this service is exposed when type is NodePort or ' +
        'LoadBalancer. Allocated by the system when not given.',
    ),
  },
  required: ['port'],
});
defineType({
  name: `${V1}.ServiceSpec`,
  desc: 'ServiceSpec describes the attributes that a user creates on a service.',
  props: {
    ports: keyedList(ref(`${V1}.ServicePort`), 'port', 'The list of ports that are exposed by this service.', [
      'protocol',
    ]),
    selector: {
      ...strMap('Route service traffic to pods with label keys and values matching this selector.'),
      mapType: 'atomic',
    } as Schema,
    clusterIP: str(
      'clusterIP is the IP address of the service and is usually assigned randomly. "None" makes ' +
        'a headless service. Cannot be changed once set.',
    ),
    clusterIPs: strList(
      'ClusterIPs is a list of IP addresses assigned to this service, and are usually assigned randomly.',
    ),
    type: str('type determines how the Service is exposed. Defaults to ClusterIP.', {
      enum: ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'],
    }),
    externalIPs: strList(
      'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.',
    ),
    sessionAffinity: str('Supports "ClientIP" and "None". Used to maintain session affinity. Defaults to None.', {
      enum: ['ClientIP', 'None'],
    }),
    loadBalancerIP: str('Only applies to Service Type: LoadBalancer. Deprecated.'),
    loadBalancerSourceRanges: strList(
      'If specified and supported by the platform, traffic through the load-balancer will be restricted to the specified client IPs.',
    ),
    externalName: str(
      'externalName is the external reference that discovery mechanisms will return as an alias for this service.',
    ),
    externalTrafficPolicy: str(
      'externalTrafficPolicy describes how nodes distribute service traffic they receive on one ' +
        'of the Service\'s "externally-facing" addresses.',
      { enum: ['Cluster', 'Local'] },
    ),
    healthCheckNodePort: int(
      'healthCheckNodePort specifies the healthcheck nodePort for the service (LoadBalancer with externalTrafficPolicy=Local).',
    ),
    publishNotReadyAddresses: bool(
      'publishNotReadyAddresses indicates that any agent which deals with endpoints for this ' +
        'Service should disregard any indications of ready/not-ready.',
    ),
    sessionAffinityConfig: anyObj('sessionAffinityConfig contains the configurations of session affinity.'),
    ipFamilies: strList('IPFamilies is a list of IP families (e.g. IPv4, IPv6) assigned to this service.'),
    ipFamilyPolicy: str('IPFamilyPolicy represents the dual-stack-ness requested or required by this Service.', {
      enum: ['PreferDualStack', 'RequireDualStack', 'SingleStack'],
    }),
    allocateLoadBalancerNodePorts: bool(
      'allocateLoadBalancerNodePorts defines if NodePorts will be automatically allocated for ' +
        'services with type LoadBalancer. Default is true.',
    ),
    loadBalancerClass: str(
      'loadBalancerClass is the class of the load balancer implementation this Service belongs to.',
    ),
    internalTrafficPolicy: str(
      'InternalTrafficPolicy describes how nodes distribute service traffic they receive on the ClusterIP.',
      { enum: ['Cluster', 'Local'] },
    ),
    trafficDistribution: str(
      'TrafficDistribution offers a way to express preferences for how traffic is distributed to Service endpoints.',
    ),
  },
});
defineType({
  name: `${V1}.LoadBalancerIngress`,
  desc: 'LoadBalancerIngress represents the status of a load-balancer ingress point.',
  props: {
    ip: str('IP is set for load-balancer ingress points that are IP based.'),
    hostname: str('Hostname is set for load-balancer ingress points that are DNS based.'),
    ipMode: str('IPMode specifies how the load-balancer IP behaves.'),
    ports: list(anyObj(), 'Ports is a list of records of service ports.', { listType: 'atomic' }),
  },
});
defineType({
  name: `${V1}.ServiceStatus`,
  desc: 'ServiceStatus represents the current status of a service.',
  props: {
    loadBalancer: anyObj(
      'LoadBalancer contains the current status of the load-balancer, if one is present: {ingress: [{ip}]}.',
    ),
    conditions: conditions('Current service state.'),
  },
});
defineType({
  name: T.Service,
  desc:
    'Service is a named abstraction of software service (for example, ' +
    'mysql) consisting of local port (for example 3306) that the proxy listens on, ' +
    'and the selector that determines which pods will answer requests sent through the proxy.',
  gvk: gvk('Service'),
  props: {
    apiVersion: apiVersion(),
    kind: kind(),
    metadata: meta(),
    spec: ref(`${V1}.ServiceSpec`, 'Spec defines the behavior of a service.'),
    status: ref(`${V1}.ServiceStatus`, 'Most recently observed status of the service.'),
  },
});

// ---------------- Endpoints ----------------
defineType({
  name: `${V1}.EndpointAddress`,
  desc: 'EndpointAddress is a tuple that describes single IP address.',
  props: {
    ip: str('The IP of this endpoint.'),
    hostname: str('The Hostname of this endpoint.'),
    nodeName: str('Node hosting this endpoint.'),
    targetRef: ref(T.ObjectReference, 'Reference to object providing the endpoint.'),
  },
  required: ['ip'],
});
defineType({
  name: `${V1}.EndpointPort`,
  desc: 'EndpointPort is a tuple that describes a single port.',
  props: {
    name: str('The name of this port.'),
    port: int('The port number of the endpoint.'),
    protocol: str('The IP protocol for this port.'),
    appProtocol: str('The application protocol for this port.'),
  },
  required: ['port'],
});
defineType({
  name: `${V1}.EndpointSubset`,
  desc: 'EndpointSubset is a group of addresses with a common set of ports.',
  props: {
    addresses: list(
      ref(`${V1}.EndpointAddress`),
      'IP addresses which offer the related ports that are marked as ready.',
      { listType: 'atomic' },
    ),
    notReadyAddresses: list(
      ref(`${V1}.EndpointAddress`),
      'IP addresses which offer the related ports but are not currently marked as ready.',
      { listType: 'atomic' },
    ),
    ports: list(ref(`${V1}.EndpointPort`), 'Port numbers available on the related IP addresses.', {
      listType: 'atomic',
    }),
  },
});
defineType({
  name: T.Endpoints,
  desc: 'Endpoints is a collection of endpoints that implement the actual service.',
  gvk: gvk('Endpoints'),
  props: {
    apiVersion: apiVersion(),
    kind: kind(),
    metadata: meta(),
    subsets: list(ref(`${V1}.EndpointSubset`), 'The set of all endpoints is the union of all subsets.', {
      listType: 'atomic',
    }),
  },
});

// ---------------- ConfigMap ----------------
defineType({
  name: T.ConfigMap,
  desc: 'ConfigMap holds configuration data for pods to consume.',
  gvk: gvk('ConfigMap'),
  props: {
    apiVersion: apiVersion(),
    kind: kind(),
    metadata: meta(),
    data: strMap('Data contains the configuration data.'),
    binaryData: strMap('BinaryData contains the binary data (base64).'),
    immutable: bool('Immutable, if set to true, ensures that data stored in the ConfigMap cannot be updated.'),
  },
});

// ---------------- Secret ----------------
defineType({
  name: T.Secret,
  desc:
    'Secret holds secret data of a certain type. The total bytes of the values in the Data ' +
    'field must be less than MaxSecretSize bytes.',
  gvk: gvk('Secret'),
  props: {
    apiVersion: apiVersion(),
    kind: kind(),
    metadata: meta(),
    data: strMap('Data contains the secret data (base64-encoded values).'),
    stringData: strMap(
      'stringData allows specifying non-binary secret data in string form. It is provided as a ' +
        'write-only input field for convenience: merged into data on write, never output.',
    ),
    type: str('Used to facilitate programmatic handling of secret data.'),
    immutable: bool('Immutable, if set to true, ensures that data stored in the Secret cannot be updated.'),
  },
});

// ---------------- Lists ----------------
for (const k of ['Namespace', 'Node', 'Pod', 'Service', 'Endpoints', 'ConfigMap', 'Secret'] as const) {
  defineType({
    name: `${V1}.${k}List`,
    desc: `${k}List is a list of ${k} objects.`,
    gvk: gvk(`${k}List`),
    props: {
      apiVersion: apiVersion(),
      kind: kind(),
      metadata: ref(T_LIST_META, 'Standard list metadata.'),
      items: list(ref(`${V1}.${k}`), `List of ${k} objects.`),
    },
    required: ['items'],
  });
}
