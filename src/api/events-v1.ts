/**
 * Events in their two served versions: core/v1 Event (involvedObject, message, count, source) and
 * events.k8s.io/v1 Event (regarding, note, deprecatedCount, deprecatedSource). One stored object, two views
 * (src/apiserver/resources/events.ts converts), as in Kubernetes.
 */
import { defineType, int, list, ref, str, time } from './schema.js';
import { T_LIST_META, T_OBJECT_META } from './meta.js';
import { T as CORE } from './core-v1.js';

const V1 = 'io.k8s.api.core.v1';
const EV = 'io.k8s.api.events.v1';
export const T = { CoreEvent: `${V1}.Event`, Event: `${EV}.Event` } as const;

const microTime = (desc: string) => time(desc);
const meta = () => ref(T_OBJECT_META, "Standard object's metadata.");

defineType({
  name: `${V1}.EventSource`,
  desc: 'EventSource contains information for an event.',
  props: {
    component: str('Component from which the event is generated.'),
    host: str('Node name on which the event is generated.'),
  },
});
for (const g of [V1, EV]) {
  defineType({
    name: `${g}.EventSeries`,
    desc: 'EventSeries contain information on series of events, i.e. thing that was/is happening continuously for some time.',
    props: {
      count: int('count is the number of occurrences in this series up to the last heartbeat time.'),
      lastObservedTime: microTime('lastObservedTime is the time when last Event from the series was seen.'),
    },
  });
}

defineType({
  name: T.CoreEvent,
  desc: 'Event is a report of an event somewhere in the cluster.',
  gvk: [{ group: '', version: 'v1', kind: 'Event' }],
  props: {
    apiVersion: str('APIVersion defines the versioned schema of this representation of an object.'),
    kind: str('Kind is a string value representing the REST resource this object represents.'),
    metadata: meta(),
    involvedObject: ref(CORE.ObjectReference, 'The object that this event is about.'),
    reason: str('This should be a short, machine understandable string that gives the reason for the transition.'),
    message: str('A human-readable description of the status of this operation.'),
    source: ref(`${V1}.EventSource`, 'The component reporting this event.'),
    firstTimestamp: time('The time at which the event was first recorded.'),
    lastTimestamp: time('The time at which the most recent occurrence of this event was recorded.'),
    count: int('The number of times this event has occurred.'),
    type: str('Type of this event (Normal, Warning), new types could be added in the future'),
    eventTime: microTime('Time when this Event was first observed.'),
    series: ref(`${V1}.EventSeries`, 'Data about the Event series this event represents or nil if it is a singleton.'),
    action: str('What action was taken/failed regarding to the Regarding object.'),
    related: ref(CORE.ObjectReference, 'Optional secondary object for more complex actions.'),
    reportingComponent: str('Name of the controller that emitted this Event, e.g. `kubernetes.io/kubelet`.'),
    reportingInstance: str('ID of the controller instance, e.g. `kubelet-xyzf`.'),
  },
  required: ['metadata', 'involvedObject'],
});

defineType({
  name: T.Event,
  desc:
    'Event is a report of an event somewhere in the cluster. It generally denotes some state change in the ' +
    'system. Events have a limited retention time.',
  gvk: [{ group: 'events.k8s.io', version: 'v1', kind: 'Event' }],
  props: {
    apiVersion: str('APIVersion defines the versioned schema of this representation of an object.'),
    kind: str('Kind is a string value representing the REST resource this object represents.'),
    metadata: meta(),
    eventTime: microTime('eventTime is the time when this Event was first observed. It is required.'),
    series: ref(`${EV}.EventSeries`, 'series is data about the Event series this event represents or nil.'),
    reportingController: str('reportingController is the name of the controller that emitted this Event.'),
    reportingInstance: str('reportingInstance is the ID of the controller instance, e.g. `kubelet-xyzf`.'),
    action: str('action is what action was taken/failed regarding to the regarding object.'),
    reason: str('reason is why the action was taken. It is human-readable.'),
    regarding: ref(CORE.ObjectReference, 'regarding contains the object this Event is about.'),
    related: ref(CORE.ObjectReference, 'related is the optional secondary object for more complex actions.'),
    note: str('note is a human-readable description of the status of this operation.'),
    type: str('type is the type of this event (Normal, Warning), new types could be added in the future.'),
    deprecatedSource: ref(
      `${V1}.EventSource`,
      'deprecatedSource is the deprecated field assuring backward compatibility.',
    ),
    deprecatedFirstTimestamp: time('deprecatedFirstTimestamp is the deprecated field assuring backward compatibility.'),
    deprecatedLastTimestamp: time('deprecatedLastTimestamp is the deprecated field assuring backward compatibility.'),
    deprecatedCount: int('deprecatedCount is the deprecated field assuring backward compatibility with core.v1.'),
  },
  required: ['metadata', 'eventTime'],
});

for (const [g, gvk] of [
  [V1, { group: '', version: 'v1', kind: 'EventList' }],
  [EV, { group: 'events.k8s.io', version: 'v1', kind: 'EventList' }],
] as const) {
  defineType({
    name: `${g}.EventList`,
    desc: 'EventList is a list of events.',
    gvk: [gvk],
    props: {
      apiVersion: str(),
      kind: str(),
      metadata: ref(T_LIST_META, 'Standard list metadata.'),
      items: list(ref(`${g}.Event`), 'items is a list of schema objects.'),
    },
    required: ['items'],
  });
}
