/**
 * Decoding of `application/vnd.kubernetes.protobuf` request bodies into the JSON form the rest of the server
 * works with. kubectl's typed clients (`kubectl create deployment|configmap|service|namespace ...`) send
 * protobuf; responses stay JSON, which those clients also accept.
 *
 * Envelope: "k8s\0" + runtime.Unknown{typeMeta{apiVersion, kind}, raw}; raw is the object's message, decoded
 * with the field tables in descriptors.ts. Go's marshaller writes non-pointer scalar fields even when zero,
 * so zero values are dropped (as JSON's omitempty would) except on the pointer fields where zero means
 * something (replicas: 0, enableServiceLinks: false, ...).
 */
import { messages } from './descriptors.js';

export class ProtobufError extends Error {}

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** Pointer fields whose zero value is meaningful and must survive the omitempty emulation. */
const KEEP_ZERO = new Set([
  'replicas',
  'revisionHistoryLimit',
  'progressDeadlineSeconds',
  'terminationGracePeriodSeconds',
  'activeDeadlineSeconds',
  'deletionGracePeriodSeconds',
  'gracePeriodSeconds',
  'enableServiceLinks',
  'automountServiceAccountToken',
  'allocateLoadBalancerNodePorts',
  'hostUsers',
  'ready',
  'serving',
  'terminating',
  'immutable',
  'optional',
  'runAsUser',
  'runAsGroup',
  'fsGroup',
  'runAsNonRoot',
  'privileged',
  'readOnlyRootFilesystem',
  'allowPrivilegeEscalation',
  'defaultMode',
  'leaseDurationSeconds',
  'leaseTransitions',
  'setHostnameAsFQDN',
  'shareProcessNamespace',
  'orphanDependents',
  'blockOwnerDeletion',
  'controller',
  'tolerationSeconds',
  'priority',
]);

interface Field {
  num: number;
  name: string;
  type: string;
  repeated: boolean;
  map: boolean;
}

const parsed = new Map<string, Map<number, Field>>();

function fieldsOf(msg: string): Map<number, Field> {
  let f = parsed.get(msg);
  if (f) return f;
  const spec = messages[msg];
  if (spec === undefined) throw new ProtobufError(`no protobuf description for ${msg}`);
  f = new Map();
  for (const part of spec ? spec.split(';') : []) {
    const [num, name, ...rest] = part.split(':');
    let type = rest.join(':');
    const map = type.startsWith('map:');
    if (map) type = type.slice(4);
    const repeated = type.startsWith('*');
    if (repeated) type = type.slice(1);
    f.set(Number(num), { num: Number(num), name: name!, type, repeated, map });
  }
  parsed.set(msg, f);
  return f;
}

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  get done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new ProtobufError('truncated varint');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
    throw new ProtobufError('varint too long');
  }
  bytes(): Buffer {
    const n = Number(this.varint());
    if (this.pos + n > this.buf.length) throw new ProtobufError('truncated field');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new ProtobufError(`unsupported wire type ${wire}`);
  }
}

function scalar(type: string, wire: number, r: Reader): unknown {
  switch (type) {
    case 'string':
      return r.bytes().toString('utf8');
    case 'bytes':
      return r.bytes().toString('base64');
    case 'bool':
      return r.varint() !== 0n;
    case 'int32':
    case 'int64':
      return Number(BigInt.asIntN(64, r.varint()));
    case 'uint32':
    case 'uint64':
      return Number(r.varint());
    case 'double': {
      const v = r.buf.readDoubleLE(r.pos);
      r.pos += 8;
      return v;
    }
    case 'float': {
      const v = r.buf.readFloatLE(r.pos);
      r.pos += 4;
      return v;
    }
    default:
      r.skip(wire);
      return undefined;
  }
}

const isScalar = (t: string) =>
  ['string', 'bytes', 'bool', 'int32', 'int64', 'uint32', 'uint64', 'double', 'float'].includes(t);

function rfc3339(seconds: number, nanos: number, micro: boolean): string {
  const d = new Date(seconds * 1000);
  const base = d.toISOString().slice(0, 19);
  return micro ? `${base}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : `${base}Z`;
}

/** Kubernetes types whose JSON form is not their message shape. */
function special(type: string, buf: Buffer): { value: unknown } | undefined {
  const raw = () => decodeMessageRaw(buf);
  switch (type) {
    case 'meta.Time':
    case 'meta.MicroTime': {
      const f = raw();
      const s = Number(f.get(1) ?? 0n);
      const n = Number(f.get(2) ?? 0n);
      return { value: s === 0 && n === 0 ? undefined : rfc3339(s, n, type === 'meta.MicroTime') };
    }
    case 'intstr.IntOrString': {
      const f = raw();
      return {
        value:
          Number(f.get(1) ?? 0n) === 1
            ? ((f.get(3) as Buffer | undefined)?.toString('utf8') ?? '')
            : Number(BigInt.asIntN(32, (f.get(2) as bigint | undefined) ?? 0n)),
      };
    }
    case 'resource.Quantity': {
      const s = (raw().get(1) as Buffer | undefined)?.toString('utf8');
      return { value: s || undefined };
    }
    case 'runtime.RawExtension':
    case 'meta.FieldsV1': {
      const b = raw().get(1) as Buffer | undefined;
      if (!b || !b.length) return { value: undefined };
      try {
        return { value: JSON.parse(b.toString('utf8')) };
      } catch {
        throw new ProtobufError(`${type} does not hold JSON`);
      }
    }
    case 'meta.Duration': {
      const ns = Number((raw().get(1) as bigint | undefined) ?? 0n);
      return { value: `${ns / 1e9}s` };
    }
    default:
      return undefined;
  }
}

/** The last value of each field number (varints as bigint, length-delimited as Buffer). */
function decodeMessageRaw(buf: Buffer): Map<number, bigint | Buffer> {
  const r = new Reader(buf);
  const out = new Map<number, bigint | Buffer>();
  while (!r.done) {
    const key = Number(r.varint());
    const wire = key & 7;
    const num = key >>> 3;
    if (wire === 0) out.set(num, r.varint());
    else if (wire === 2) out.set(num, r.bytes());
    else r.skip(wire);
  }
  return out;
}

function decodeValue(type: string, wire: number, r: Reader): unknown {
  if (isScalar(type)) return scalar(type, wire, r);
  if (wire !== 2) {
    r.skip(wire);
    return undefined;
  }
  const buf = r.bytes();
  const s = special(type, buf);
  if (s) return s.value;
  return decodeMessage(type, buf);
}

function isZero(v: unknown): boolean {
  return v === '' || v === 0 || v === false || v === undefined;
}

function decodeMessage(type: string, buf: Buffer): Record<string, unknown> {
  const fields = fieldsOf(type);
  const r = new Reader(buf);
  const out: Record<string, unknown> = {};
  for (let guard = 0; !r.done; guard++) {
    if (guard > 1_000_000) throw new ProtobufError('message too large');
    const key = Number(r.varint());
    const wire = key & 7;
    const f = fields.get(key >>> 3);
    if (!f) {
      r.skip(wire);
      continue;
    }
    if (f.map) {
      const entry = new Reader(r.bytes());
      let k = '';
      let v: unknown;
      while (!entry.done) {
        const ek = Number(entry.varint());
        if (ek >>> 3 === 1) k = entry.bytes().toString('utf8');
        else if (ek >>> 3 === 2) v = decodeValue(f.type, ek & 7, entry);
        else entry.skip(ek & 7);
      }
      const m = (out[f.name] ??= {}) as Record<string, unknown>;
      m[k] = v ?? (f.type === 'string' ? '' : v);
      continue;
    }
    if (f.repeated) {
      const list = (out[f.name] ??= []) as unknown[];
      if (wire === 2 && isScalar(f.type) && f.type !== 'string' && f.type !== 'bytes') {
        const packed = new Reader(r.bytes());
        while (!packed.done) list.push(scalar(f.type, f.type === 'double' ? 1 : f.type === 'float' ? 5 : 0, packed));
      } else {
        list.push(decodeValue(f.type, wire, r));
      }
      continue;
    }
    const v = decodeValue(f.type, wire, r);
    if (f.name.startsWith('...')) {
      if (v && typeof v === 'object') Object.assign(out, v);
      continue;
    }
    if (v === undefined || (isZero(v) && !KEEP_ZERO.has(f.name))) delete out[f.name];
    else out[f.name] = v;
  }
  return out;
}

const PACKAGES: Record<string, string> = {
  v1: 'core',
  'apps/v1': 'apps',
  'autoscaling/v1': 'autoscaling',
  'discovery.k8s.io/v1': 'discovery',
  'coordination.k8s.io/v1': 'coordination',
  'networking.k8s.io/v1': 'networking',
  'rbac.authorization.k8s.io/v1': 'rbac',
  'authorization.k8s.io/v1': 'authorization',
  'authentication.k8s.io/v1': 'authentication',
  'meta.k8s.io/v1': 'meta',
};

/** Decode a whole request body: the "k8s\0" envelope and the object inside. */
export function decodeK8sProtobuf(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC))
    throw new ProtobufError('protobuf body does not start with the "k8s\\0" prefix');
  const unknown = decodeMessageRaw(body.subarray(4));
  const tm = unknown.get(1);
  const raw = unknown.get(2);
  if (!Buffer.isBuffer(tm) || !Buffer.isBuffer(raw)) throw new ProtobufError('protobuf envelope lacks typeMeta or raw');
  const t = decodeMessageRaw(tm);
  const apiVersion = (t.get(1) as Buffer | undefined)?.toString('utf8') ?? '';
  const kind = (t.get(2) as Buffer | undefined)?.toString('utf8') ?? '';
  const pkg = PACKAGES[apiVersion];
  const msg = pkg ? `${pkg}.${kind}` : undefined;
  if (!msg || messages[msg] === undefined)
    throw new ProtobufError(`protobuf bodies of ${kind} in ${apiVersion} are not supported; send JSON`);
  return { apiVersion, kind, ...decodeMessage(msg, raw) };
}
