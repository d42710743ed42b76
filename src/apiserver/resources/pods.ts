/** core/v1 Pod: defaults like Kubernetes, spec mostly immutable, status via /status, binding via /binding. */
import { admitPodServiceAccount } from './pod-serviceaccount.js';
import type { KObject } from '../../api/meta.js';
import { T } from '../../api/core-v1.js';
import { deepEqual } from '../patch/strategic.js';
import { ageColumn, humanAge, nameColumn, type ResourceDef } from './types.js';
import { podSpecDefaults, validatePodSpec } from './podspec.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

function qosClass(spec: Json): string {
  const containers: Json[] = [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])];
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const req = c?.resources?.requests ?? {};
    const lim = c?.resources?.limits ?? {};
    if (Object.keys(req).length || Object.keys(lim).length) any = true;
    for (const r of ['cpu', 'memory']) {
      if (lim[r] === undefined || (req[r] !== undefined && String(req[r]) !== String(lim[r]))) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** kubectl's pod STATUS column (printPod), for the cases a skiff kubelet produces. */
function podStatusReason(pod: KObject): string {
  const st: Json = pod.status ?? {};
  let reason: string = st.reason || st.phase || 'Pending';
  const initStatuses: Json[] = st.initContainerStatuses ?? [];
  let initializing = false;
  initStatuses.forEach((c, i) => {
    if (initializing) return;
    const term = c?.state?.terminated;
    const wait = c?.state?.waiting;
    if (term && term.exitCode === 0) return;
    initializing = true;
    if (term)
      reason = term.reason
        ? `Init:${term.reason}`
        : term.signal
          ? `Init:Signal:${term.signal}`
          : `Init:ExitCode:${term.exitCode}`;
    else if (wait?.reason && wait.reason !== 'PodInitializing') reason = `Init:${wait.reason}`;
    else reason = `Init:${i}/${(pod.spec?.initContainers ?? []).length}`;
  });
  if (!initializing) {
    let hasRunning = false;
    const statuses: Json[] = [...(st.containerStatuses ?? [])].reverse();
    for (const c of statuses) {
      const wait = c?.state?.waiting;
      const term = c?.state?.terminated;
      if (wait?.reason) reason = wait.reason;
      else if (term?.reason) reason = term.reason;
      else if (term) reason = term.signal ? `Signal:${term.signal}` : `ExitCode:${term.exitCode}`;
      else if (c?.ready && c?.state?.running) hasRunning = true;
    }
    if (reason === 'Completed' && hasRunning) {
      const ready = (st.conditions ?? []).some((x: Json) => x?.type === 'Ready' && x?.status === 'True');
      reason = ready ? 'Running' : 'NotReady';
    }
  }
  if (pod.metadata.deletionTimestamp) reason = st.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  return reason;
}

function restarts(pod: KObject, now: number): string {
  let n = 0;
  let last: string | undefined;
  for (const c of (pod.status?.containerStatuses ?? []) as Json[]) {
    n += Number(c?.restartCount ?? 0);
    const t = c?.lastState?.terminated?.finishedAt;
    if (t && (!last || t > last)) last = t;
  }
  return n > 0 && last ? `${n} (${humanAge(last, now)} ago)` : String(n);
}

/** Fields a pod update may change (Kubernetes: image, activeDeadlineSeconds, tolerations additions...). */
function mutableView(spec: Json): Json {
  const s = structuredClone(spec ?? {});
  for (const c of [...(s.containers ?? []), ...(s.initContainers ?? [])]) if (c) delete c.image;
  delete s.activeDeadlineSeconds;
  delete s.tolerations;
  delete s.terminationGracePeriodSeconds;
  return s;
}

export const pods: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Pod',
  plural: 'pods',
  singular: 'pod',
  shortNames: ['po'],
  categories: ['all'],
  namespaced: true,
  typeName: T.Pod,
  statusSubresource: true,
  resetStatusOnCreate: true,
  fields: (o) => ({
    'spec.nodeName': o.spec?.nodeName ?? '',
    'spec.restartPolicy': o.spec?.restartPolicy ?? '',
    'spec.schedulerName': o.spec?.schedulerName ?? '',
    'spec.serviceAccountName': o.spec?.serviceAccountName ?? '',
    'spec.hostNetwork': String(o.spec?.hostNetwork ?? false),
    'status.phase': o.status?.phase ?? '',
    'status.podIP': o.status?.podIP ?? '',
    'status.nominatedNodeName': o.status?.nominatedNodeName ?? '',
  }),
  defaults(o) {
    o.spec ??= {};
    podSpecDefaults(o.spec);
    o.status ??= {};
    o.status.phase ??= 'Pending';
    o.status.qosClass ??= qosClass(o.spec);
  },
  prepareCreate: (o) => admitPodServiceAccount(o),
  validate(o, errs, old) {
    validatePodSpec(errs, 'spec', o.spec);
    if (old && !deepEqual(mutableView(o.spec), mutableView(old.spec))) {
      errs.forbidden(
        'spec',
        'pod updates may not change fields other than ' +
          '`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`sp' +
          'ec.tolerations` (only additions to existing ' +
          'tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was ' +
          'previously negative)',
      );
    }
  },
  table: {
    columns: [
      nameColumn,
      {
        name: 'Ready',
        type: 'string',
        description: 'The aggregate readiness state of this pod for accepting traffic.',
        priority: 0,
      },
      {
        name: 'Status',
        type: 'string',
        description: 'The aggregate status of the containers in this pod.',
        priority: 0,
      },
      {
        name: 'Restarts',
        type: 'string',
        description:
          'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
        priority: 0,
      },
      ageColumn,
      {
        name: 'IP',
        type: 'string',
        description: 'IP address allocated to the pod. Routable at least within the cluster.',
        priority: 1,
      },
      {
        name: 'Node',
        type: 'string',
        description: 'NodeName is a request to schedule this pod onto a specific node.',
        priority: 1,
      },
      {
        name: 'Nominated Node',
        type: 'string',
        description: 'nominatedNodeName is set when this pod preempts other pods on the node.',
        priority: 1,
      },
      {
        name: 'Readiness Gates',
        type: 'string',
        description: 'If specified, all readiness gates will be evaluated for pod readiness.',
        priority: 1,
      },
    ],
    cells(o, now) {
      const total = (o.spec?.containers ?? []).length;
      const ready = ((o.status?.containerStatuses ?? []) as Json[]).filter((c) => c?.ready).length;
      const gates = (o.spec?.readinessGates ?? []) as Json[];
      const gateCell = gates.length
        ? `${gates.filter((g) => conditionTrue(o, g?.conditionType)).length}/${gates.length}`
        : '<none>';
      return [
        o.metadata.name,
        `${ready}/${total}`,
        podStatusReason(o),
        restarts(o, now),
        humanAge(o.metadata.creationTimestamp, now),
        o.status?.podIP || '<none>',
        o.spec?.nodeName || '<none>',
        o.status?.nominatedNodeName || '<none>',
        gateCell,
      ];
    },
  },
};

/** Whether the pod's status has condition `type` set to True (a readiness gate is met). */
function conditionTrue(pod: Json, type: unknown): boolean {
  return (pod.status?.conditions ?? []).some((c: Json) => c?.type === type && c?.status === 'True');
}
