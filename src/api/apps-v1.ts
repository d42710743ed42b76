/** apps/v1 Deployment and ReplicaSet, plus autoscaling/v1 Scale (their scale subresource). */
import { anyObj, bool, defineType, int, intOrStr, keyedList, list, ref, str } from './schema.js';
import { T_LABEL_SELECTOR, T_LIST_META, T_OBJECT_META } from './meta.js';
import { T as CORE } from './core-v1.js';

const APPS = 'io.k8s.api.apps.v1';
export const T = {
  Deployment: `${APPS}.Deployment`,
  ReplicaSet: `${APPS}.ReplicaSet`,
  Scale: 'io.k8s.api.autoscaling.v1.Scale',
} as const;

const meta = () => ref(T_OBJECT_META, "Standard object's metadata.");
const apiVersion = () => str('APIVersion defines the versioned schema of this representation of an object.');
const kind = () => str('Kind is a string value representing the REST resource this object represents.');
const conditions = (desc: string) =>
  keyedList(anyObj('A condition: type, status, reason, message, timestamps.'), 'type', desc);

defineType({
  name: `${APPS}.RollingUpdateDeployment`,
  desc: 'Spec to control the desired behavior of rolling update.',
  props: {
    maxUnavailable: intOrStr('The maximum number of pods that can be unavailable during the update. Defaults to 25%.'),
    maxSurge: intOrStr(
      'The maximum number of pods that can be scheduled above the desired number of pods. Defaults to 25%.',
    ),
  },
});
defineType({
  name: `${APPS}.DeploymentStrategy`,
  desc: 'DeploymentStrategy describes how to replace existing pods with new ones.',
  props: {
    type: str('Type of deployment. Can be "Recreate" or "RollingUpdate". Default is RollingUpdate.', {
      enum: ['Recreate', 'RollingUpdate'],
    }),
    rollingUpdate: ref(
      `${APPS}.RollingUpdateDeployment`,
      'Rolling update config params. Present only if DeploymentStrategyType = RollingUpdate.',
    ),
  },
});
defineType({
  name: `${APPS}.DeploymentSpec`,
  desc: 'DeploymentSpec is the specification of the desired behavior of the Deployment.',
  props: {
    replicas: int('Number of desired pods. Defaults to 1.'),
    selector: ref(T_LABEL_SELECTOR, "Label selector for pods. It must match the pod template's labels. Immutable."),
    template: ref(CORE.PodTemplateSpec, 'Template describes the pods that will be created.'),
    strategy: {
      t: 'ref',
      ref: `${APPS}.DeploymentStrategy`,
      desc: 'The deployment strategy to use to replace existing pods with new ones.',
    },
    minReadySeconds: int(
      'Minimum number of seconds for which a newly created pod should be ready without any of its ' +
        'container crashing, for it to be considered available.',
    ),
    revisionHistoryLimit: int('The number of old ReplicaSets to retain to allow rollback. Defaults to 10.'),
    paused: bool('Indicates that the deployment is paused.'),
    progressDeadlineSeconds: int(
      'The maximum time in seconds for a deployment to make progress before it is considered to be failed. Defaults to 600s.',
    ),
  },
  required: ['selector', 'template'],
});
defineType({
  name: `${APPS}.DeploymentStatus`,
  desc: 'DeploymentStatus is the most recently observed status of the Deployment.',
  props: {
    observedGeneration: int('The generation observed by the deployment controller.', 'int64'),
    replicas: int(
      'Total number of non-terminating pods targeted by this deployment (their labels match the selector).',
    ),
    updatedReplicas: int(
      'Total number of non-terminating pods targeted by this deployment that have the desired template spec.',
    ),
    readyReplicas: int('Total number of non-terminating pods targeted by this Deployment with a Ready Condition.'),
    availableReplicas: int(
      'Total number of available non-terminating pods (ready for at least minReadySeconds) targeted by this deployment.',
    ),
    unavailableReplicas: int('Total number of unavailable pods targeted by this deployment.'),
    terminatingReplicas: int('Total number of terminating pods targeted by this deployment.'),
    conditions: conditions("Represents the latest available observations of a deployment's current state."),
    collisionCount: int('Count of hash collisions for the Deployment.'),
  },
});
defineType({
  name: T.Deployment,
  desc: 'Deployment enables declarative updates for Pods and ReplicaSets.',
  gvk: [{ group: 'apps', version: 'v1', kind: 'Deployment' }],
  props: {
    apiVersion: apiVersion(),
    kind: kind(),
    metadata: meta(),
    spec: ref(`${APPS}.DeploymentSpec`, 'Specification of the desired behavior of the Deployment.'),
    status: ref(`${APPS}.DeploymentStatus`, 'Most recently observed status of the Deployment.'),
  },
});

defineType({
  name: `${APPS}.ReplicaSetSpec`,
  desc: 'ReplicaSetSpec is the specification of a ReplicaSet.',
  props: {
    replicas: int('Replicas is the number of desired pods. Defaults to 1.'),
    minReadySeconds: int(
      'Minimum number of seconds for which a newly created pod should be ready without any of its ' +
        'container crashing, for it to be considered available.',
    ),
    selector: ref(T_LABEL_SELECTOR, 'Selector is a label query over pods that should match the replica count.'),
    template: ref(
      CORE.PodTemplateSpec,
      'Template is the object that describes the pod that will be created if insufficient replicas are detected.',
    ),
  },
  required: ['selector'],
});
defineType({
  name: `${APPS}.ReplicaSetStatus`,
  desc: 'ReplicaSetStatus represents the current status of a ReplicaSet.',
  props: {
    replicas: int('Replicas is the most recently observed number of non-terminating pods.'),
    fullyLabeledReplicas: int(
      'The number of non-terminating pods that have labels matching the labels of the pod template of the replicaset.',
    ),
    readyReplicas: int('The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition.'),
    availableReplicas: int(
      'The number of available non-terminating pods (ready for at least minReadySeconds) for this replica set.',
    ),
    terminatingReplicas: int('The number of terminating pods for this replica set.'),
    observedGeneration: int(
      'ObservedGeneration reflects the generation of the most recently observed ReplicaSet.',
      'int64',
    ),
    conditions: conditions("Represents the latest available observations of a replica set's current state."),
  },
});
defineType({
  name: T.ReplicaSet,
  desc: 'ReplicaSet ensures that a specified number of pod replicas are running at any given time.',
  gvk: [{ group: 'apps', version: 'v1', kind: 'ReplicaSet' }],
  props: {
    apiVersion: apiVersion(),
    kind: kind(),
    metadata: meta(),
    spec: ref(`${APPS}.ReplicaSetSpec`, 'Spec defines the specification of the desired behavior of the ReplicaSet.'),
    status: ref(`${APPS}.ReplicaSetStatus`, 'Status is the most recently observed status of the ReplicaSet.'),
  },
});

defineType({
  name: 'io.k8s.api.autoscaling.v1.ScaleSpec',
  desc: 'ScaleSpec describes the attributes of a scale subresource.',
  props: { replicas: int('replicas is the desired number of instances for the scaled object.') },
});
defineType({
  name: 'io.k8s.api.autoscaling.v1.ScaleStatus',
  desc: 'ScaleStatus represents the current status of a scale subresource.',
  props: {
    replicas: int('replicas is the actual number of observed instances of the scaled object.'),
    selector: str('selector is the label query over pods that should match the replicas count, in string form.'),
  },
});
defineType({
  name: T.Scale,
  desc: 'Scale represents a scaling request for a resource.',
  gvk: [{ group: 'autoscaling', version: 'v1', kind: 'Scale' }],
  props: {
    apiVersion: apiVersion(),
    kind: kind(),
    metadata: meta(),
    spec: ref('io.k8s.api.autoscaling.v1.ScaleSpec', 'spec defines the behavior of the scale.'),
    status: ref('io.k8s.api.autoscaling.v1.ScaleStatus', 'status is the current status of the scale.'),
  },
});

for (const k of ['Deployment', 'ReplicaSet'] as const) {
  defineType({
    name: `${APPS}.${k}List`,
    desc: `${k}List is a list of ${k}s.`,
    gvk: [{ group: 'apps', version: 'v1', kind: `${k}List` }],
    props: {
      apiVersion: apiVersion(),
      kind: kind(),
      metadata: ref(T_LIST_META, 'Standard list metadata.'),
      items: list(ref(`${APPS}.${k}`), `Items is the list of ${k}s.`),
    },
    required: ['items'],
  });
}
