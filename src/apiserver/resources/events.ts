/**
 * core/v1 Event and events.k8s.io/v1 Event: one stored object (the core form, under /registry/core/events),
 * served in two views as in Kubernetes (regarding ↔ involvedObject, note ↔ message, deprecatedCount ↔
 * count, deprecatedSource ↔ source, deprecated{First,Last}Timestamp ↔ {first,last}Timestamp,
 * reportingController ↔ reportingComponent). Events expire --event-ttl after their last write.
 * Validation, field selectors and table columns follow kube-apiserver (pkg/apis/core/validation/events.go,
 * EventToSelectableFields, printers.printEvent).
 */
import type { KObject } from '../../api/meta.js';
import { T } from '../../api/events-v1.js';
import type { FieldErrors } from '../errors.js';
import { dns1123Subdomain, qualifiedName } from '../validation.js';
import { humanAge, type Column, type ResourceDef } from './types.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const LIMITS = { reportingInstance: 128, action: 128, reason: 128, note: 1024 };

/** Pairs of (events.k8s.io/v1 name, core/v1 name) for the renamed top-level fields. */
const RENAMES: [string, string][] = [
  ['regarding', 'involvedObject'],
  ['note', 'message'],
  ['deprecatedSource', 'source'],
  ['deprecatedFirstTimestamp', 'firstTimestamp'],
  ['deprecatedLastTimestamp', 'lastTimestamp'],
  ['deprecatedCount', 'count'],
  ['reportingController', 'reportingComponent'],
];

function rename(o: KObject, pairs: [string, string][]): KObject {
  const out: Json = { ...o };
  for (const [from, to] of pairs) {
    delete out[from];
    if (o[from] !== undefined) out[to] = o[from];
  }
  return out as KObject;
}

const toCore = (o: KObject): KObject => rename(o, RENAMES);
const fromCore = (o: KObject): KObject =>
  rename(
    o,
    RENAMES.map(([a, b]) => [b, a] as [string, string]),
  );

const isZeroTime = (v: unknown) => v === undefined || v === null || v === '';
const ref = (o: KObject): Json => (o.involvedObject ?? {}) as Json;

/** legacyValidateEvent: what every Event must satisfy, whichever version wrote it (core field names). */
function legacyValidate(o: KObject, errs: FieldErrors): void {
  const ns = o.metadata.namespace ?? '';
  const involvedNs = String(ref(o).namespace ?? '');
  if (isZeroTime(o.eventTime)) {
    if (!involvedNs) {
      if (ns !== '' && ns !== 'default')
        errs.invalid('involvedObject.namespace', involvedNs, 'does not match event.namespace');
    } else if (ns !== involvedNs)
      errs.invalid('involvedObject.namespace', involvedNs, 'does not match event.namespace');
  } else {
    if (!involvedNs && ns !== 'default' && ns !== 'kube-system')
      errs.invalid('involvedObject.namespace', involvedNs, 'does not match event.namespace');
    const rc = String(o.reportingComponent ?? '');
    if (!rc) errs.required('reportingController');
    else {
      const e = qualifiedName(rc);
      if (e) errs.invalid('reportingController', rc, e);
    }
    const checkLen = (field: string, value: unknown, limit: number, required: boolean) => {
      const s = String(value ?? '');
      if (required && !s) errs.required(field);
      if (s.length > limit) errs.invalid(field, '', `can have at most ${limit} characters`);
    };
    checkLen('reportingInstance', o.reportingInstance, LIMITS.reportingInstance, true);
    checkLen('action', o.action, LIMITS.action, true);
    checkLen('reason', o.reason, LIMITS.reason, true);
    checkLen('message', o.message, LIMITS.note, false);
  }
  const e = dns1123Subdomain(ns);
  if (e) errs.invalid('namespace', ns, e);
}

function validateSeries(o: KObject, errs: FieldErrors): void {
  const s = o.series as Json;
  if (!s) return;
  if (!(Number(s.count) >= 2)) errs.invalid('series.count', '', 'should be at least 2');
  if (isZeroTime(s.lastObservedTime)) errs.required('series.lastObservedTime');
}

const IMMUTABLE_V1 = [
  'involvedObject',
  'reason',
  'message',
  'source',
  'firstTimestamp',
  'lastTimestamp',
  'count',
  'type',
  'eventTime',
  'action',
  'related',
  'reportingComponent',
  'reportingInstance',
];

/** The stricter rules of events.k8s.io/v1 writes (ValidateEventCreate / ValidateEventUpdate). */
function strictValidate(view: KObject, errs: FieldErrors, oldView?: KObject): void {
  const o = toCore(view);
  legacyValidate(o, errs);
  if (!oldView) {
    validateSeries(o, errs);
    if (isZeroTime(o.eventTime)) errs.required('eventTime');
    if (o.type !== 'Normal' && o.type !== 'Warning')
      errs.invalid('type', '', `has invalid value: ${String(o.type ?? '')}`);
    if (!isZeroTime(o.firstTimestamp)) errs.invalid('firstTimestamp', '', 'needs to be unset');
    if (!isZeroTime(o.lastTimestamp)) errs.invalid('lastTimestamp', '', 'needs to be unset');
    if (o.count) errs.invalid('count', '', 'needs to be unset');
    const src = (o.source ?? {}) as Json;
    if (src.component || src.host) errs.invalid('source', '', 'needs to be unset');
    return;
  }
  const old = toCore(oldView);
  if (JSON.stringify(o.series ?? null) !== JSON.stringify(old.series ?? null)) validateSeries(o, errs);
  for (const f of IMMUTABLE_V1) {
    const name = f === 'reportingComponent' ? 'reportingController' : f;
    if (JSON.stringify(o[f] ?? null) !== JSON.stringify(old[f] ?? null))
      errs.invalid(name, o[f] ?? '', 'field is immutable');
  }
}

function coreFields(o: KObject): Record<string, string> {
  const r = ref(o);
  const s = (v: unknown) => (v === undefined || v === null ? '' : String(v));
  return {
    'involvedObject.kind': s(r.kind),
    'involvedObject.namespace': s(r.namespace),
    'involvedObject.name': s(r.name),
    'involvedObject.uid': s(r.uid),
    'involvedObject.apiVersion': s(r.apiVersion),
    'involvedObject.resourceVersion': s(r.resourceVersion),
    'involvedObject.fieldPath': s(r.fieldPath),
    reason: s(o.reason),
    reportingComponent: s(o.reportingComponent),
    source: s((o.source as Json)?.component),
    type: s(o.type),
  };
}

function v1Fields(view: KObject): Record<string, string> {
  const o = toCore(view);
  const c = coreFields(o);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(c)) {
    if (k.startsWith('involvedObject.')) out[`regarding.${k.slice('involvedObject.'.length)}`] = v;
  }
  out.reason = c.reason!;
  out.reportingController = c.reportingComponent!;
  out.source = c.source || c.reportingComponent!;
  out.type = c.type!;
  return out;
}

const col = (name: string, description: string, priority = 0, format?: string): Column => ({
  name,
  type: 'string',
  description,
  priority,
  ...(format ? { format } : {}),
});

const columns: Column[] = [
  col('Last Seen', 'Deprecated field assuring backward compatibility with core.v1 Event type'),
  col('Type', 'Type of this event (Normal, Warning), new types could be added in the future'),
  col('Reason', 'This should be a short, machine understandable string that gives the reason for the transition.'),
  col('Object', 'The object that this event is about.'),
  col('Subobject', 'If referring to a piece of an object instead of an entire object, the field path.', 1),
  col('Source', 'The component reporting this event. Should be a short machine understandable string.', 1),
  col('Message', 'A human-readable description of the status of this operation.'),
  col('First Seen', 'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)', 1),
  col('Count', 'The number of times this event has occurred.', 1),
  col('Name', 'Name must be unique within a namespace.', 1, 'name'),
];

/** printers.printEvent over the core form; the wide cells follow the normal ones in column order. */
function cells(o: KObject, now: number): unknown[] {
  const since = (t: unknown) => humanAge(isZeroTime(t) ? undefined : String(t), now);
  const first = isZeroTime(o.firstTimestamp) ? since(o.eventTime) : since(o.firstTimestamp);
  let last = isZeroTime(o.lastTimestamp) ? first : since(o.lastTimestamp);
  const series = o.series as Json;
  let count = Number(o.count ?? 0);
  if (series) {
    last = since(series.lastObservedTime);
    count = Number(series.count ?? 0);
  } else if (count === 0) count = 1;
  const r = ref(o);
  const kind = String(r.kind ?? '').toLowerCase();
  const target = r.name ? `${kind}/${String(r.name)}` : kind;
  const src = (o.source ?? {}) as Json;
  const component = String(src.component || o.reportingComponent || '');
  const instance = String(src.host || o.reportingInstance || '');
  return [
    last,
    o.type ?? '',
    o.reason ?? '',
    target,
    String(r.fieldPath ?? ''),
    instance ? `${component}, ${instance}` : component,
    String(o.message ?? '').trim(),
    first,
    count,
    o.metadata.name,
  ];
}

export const events: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Event',
  plural: 'events',
  singular: 'event',
  shortNames: ['ev'],
  namespaced: true,
  typeName: T.CoreEvent,
  statusSubresource: false,
  resetStatusOnCreate: false,
  specFields: [],
  expires: true,
  fields: coreFields,
  validate: (o, errs) => legacyValidate(o, errs),
  table: { columns, cells },
};

export const eventsV1: ResourceDef = {
  group: 'events.k8s.io',
  version: 'v1',
  kind: 'Event',
  plural: 'events',
  singular: 'event',
  shortNames: ['ev'],
  namespaced: true,
  typeName: T.Event,
  statusSubresource: false,
  resetStatusOnCreate: false,
  specFields: [],
  expires: true,
  storage: { group: '', version: 'v1', kind: 'Event', plural: 'events', toStored: toCore, fromStored: fromCore },
  fields: v1Fields,
  validate: strictValidate,
  table: { columns, cells: (o, now) => cells(toCore(o), now) },
};
