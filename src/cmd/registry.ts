/**
 * Every `skiff` subcommand, loaded lazily so `skiff --help` and the CNI-adjacent commands start fast.
 * A new subcommand is one file in src/cmd exporting `main(argv)` plus one line here.
 */
interface CommandModule {
  main(argv: string[]): Promise<void>;
}

export interface CommandEntry {
  summary: string;
  load(): Promise<CommandModule>;
}

/** restart, stop and start are one module (control.ts) with the request as its first argument. */
function control(req: 'restart' | 'stop' | 'start'): Promise<CommandModule> {
  return Promise.resolve({ main: async (argv) => (await import('./control.js')).controlMain(req, argv) });
}

export const commands: Record<string, CommandEntry> = {
  apiserver: { summary: 'run the Kubernetes-compatible API server', load: () => import('./apiserver.js') },
  'controller-manager': {
    summary: 'run the controllers (deployments, endpoint slices, IP/port allocation, node lifecycle)',
    load: () => import('./controller-manager.js'),
  },
  scheduler: { summary: 'bind pending pods to nodes', load: () => import('./scheduler.js') },
  kubelet: { summary: 'run pods on this node through the CNI runtime', load: () => import('./kubelet.js') },
  proxy: {
    summary: 'program Services into the node datapath (nftables or userspace)',
    load: () => import('./proxy.js'),
  },
  'vxlan-agent': {
    summary: 'keep VXLAN overlay FDB/neighbour/route entries converged',
    load: () => import('./vxlan-agent.js'),
  },
  'pod-routes': {
    summary: 'route a control plane that is no node to every node’s pod CIDR (bridge CNI)',
    load: () => import('./pod-routes.js'),
  },
  'ingress-controller': {
    summary: 'route HTTP(S) to Services from Ingress and Gateway API HTTPRoute objects',
    load: () => import('./ingress-controller.js'),
  },
  up: { summary: 'bring up a multi-node lab cluster in network namespaces', load: () => import('./up.js') },
  supervise: {
    summary: 'run the lab’s components and restart them with back-off (started by skiff up)',
    load: () => import('./supervise.js'),
  },
  restart: {
    summary: 'restart lab components by name (kubelet-node1, or kubelet for every node’s)',
    load: () => control('restart'),
  },
  stop: {
    summary: 'stop lab components by name, or the whole lab keeping its state (skiff up resumes it)',
    load: () => control('stop'),
  },
  start: {
    summary: 'start lab components a `skiff stop NAME` stopped',
    load: () => control('start'),
  },
  logs: {
    summary: 'print a component’s log (human-readable) or a pod’s container log, -f to follow',
    load: () => import('./logs.js'),
  },
  down: { summary: 'tear down a lab cluster (idempotent)', load: () => import('./down.js') },
  exec: { summary: 'run a command inside a node, pod or client namespace', load: () => import('./exec.js') },
  image: {
    summary: 'run a built-in image (skiff/netexec, skiff/hostname); used by the kubelet',
    load: () => import('./image.js'),
  },
  cni: {
    summary: 'run CNI plugins by hand (add/check/del/status/gc/version, netns) and `cni conformance`',
    load: () => import('./cni.js'),
  },
  status: { summary: 'show components, nodes, namespaces and log locations', load: () => import('./status.js') },
  conformance: {
    summary: 'check a running lab against kube-proxy: `conformance services` (the Service matrix)',
    load: () => import('./conformance.js'),
  },
  trace: {
    summary: 'send one probe to a Service and print its path hop by hop (nft trace)',
    load: () => import('./trace.js'),
  },
};
