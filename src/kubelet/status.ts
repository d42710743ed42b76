import type { ContainerStateJson, ContainerStatusJson, PodCondition, PodStatusJson } from './types.js';

/**
 * Pure: the pod status the kubelet reports, from what it knows about the sandbox and each container.
 * Condition transition times are carried over from the previous status when a condition keeps its value.
 */
export interface ContainerView {
  name: string;
  image: string;
  state: ContainerStateJson;
  lastState: ContainerStateJson;
  ready: boolean;
  started: boolean;
  restartCount: number;
  /** true when the container has exited and the restart policy will not start it again */
  done: boolean;
  containerID?: string;
}

export interface StatusInput {
  restartPolicy: 'Always' | 'OnFailure' | 'Never';
  sandboxReady: boolean;
  podIPs: string[];
  hostIP: string;
  startTime: string;
  containers: ContainerView[];
  previous?: PodCondition[];
  now: string;
}

export function computePhase(input: Pick<StatusInput, 'sandboxReady' | 'containers'>): PodStatusJson['phase'] {
  const cs = input.containers;
  if (cs.length > 0 && cs.every((c) => c.done)) {
    return cs.every((c) => c.state.terminated?.exitCode === 0) ? 'Succeeded' : 'Failed';
  }
  if (!input.sandboxReady) return 'Pending';
  // Running once every container has been started at least once (restarting ones count).
  const everStarted = (c: ContainerView): boolean =>
    !!c.state.running || !!c.state.terminated || c.restartCount > 0 || !!c.lastState.terminated;
  return cs.every(everStarted) ? 'Running' : 'Pending';
}

function condition(type: PodCondition['type'], ok: boolean, input: StatusInput, reason?: string): PodCondition {
  const status = ok ? 'True' : 'False';
  const prev = input.previous?.find((c) => c.type === type);
  const cond: PodCondition = {
    type,
    status,
    lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : input.now,
  };
  if (!ok && reason) cond.reason = reason;
  return cond;
}

export function computeStatus(input: StatusInput): PodStatusJson {
  const phase = computePhase(input);
  const containersReady = input.containers.length > 0 && input.containers.every((c) => c.ready);
  const finished = phase === 'Succeeded' || phase === 'Failed';
  const status: PodStatusJson = {
    phase,
    conditions: [
      condition('PodScheduled', true, input),
      condition('Initialized', true, input),
      condition('ContainersReady', containersReady, input, finished ? 'PodCompleted' : 'ContainersNotReady'),
      condition('Ready', containersReady, input, finished ? 'PodCompleted' : 'ContainersNotReady'),
    ],
    hostIP: input.hostIP,
    hostIPs: [{ ip: input.hostIP }],
    startTime: input.startTime,
    containerStatuses: input.containers.map((c): ContainerStatusJson => ({
      name: c.name,
      image: c.image,
      imageID: c.image,
      ...(c.containerID ? { containerID: c.containerID } : {}),
      ready: c.ready,
      started: c.started,
      restartCount: c.restartCount,
      state: c.state,
      lastState: c.lastState,
    })),
  };
  if (input.podIPs.length > 0) {
    status.podIP = input.podIPs[0];
    status.podIPs = input.podIPs.map((ip) => ({ ip }));
  }
  return status;
}
