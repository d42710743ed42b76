import { describe, expect, it } from 'vitest';
import { decodeK8sProtobuf, ProtobufError } from '../../../src/apiserver/protobuf/decode.js';

// A minimal protobuf writer, enough to build what kubectl's typed clients send.
const varint = (n: number | bigint): Buffer => {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return Buffer.from(out);
};
const key = (num: number, wire: number) => varint((num << 3) | wire);
const int = (num: number, v: number) => Buffer.concat([key(num, 0), varint(v)]);
const bytes = (num: number, b: Buffer | string) => {
  const buf = typeof b === 'string' ? Buffer.from(b) : b;
  return Buffer.concat([key(num, 2), varint(buf.length), buf]);
};
const msg = (num: number, ...parts: Buffer[]) => bytes(num, Buffer.concat(parts));
const envelope = (apiVersion: string, kind: string, raw: Buffer) =>
  Buffer.concat([Buffer.from('k8s\0', 'binary'), msg(1, bytes(1, apiVersion), bytes(2, kind)), bytes(2, raw)]);

describe('kubernetes protobuf bodies', () => {
  it('decodes a Service with maps, IntOrString, zero values and a Time', () => {
    const meta = msg(
      1,
      bytes(1, 'web'),
      bytes(3, ''),
      int(7, 0),
      msg(8, int(1, 1_700_000_000)),
      msg(11, bytes(1, 'app'), bytes(2, 'web')),
    );
    const port = msg(
      1,
      bytes(1, 'http'),
      bytes(2, 'TCP'),
      int(3, 80),
      msg(4, int(1, 1), bytes(3, 'web-port')),
      int(5, 0),
    );
    const port2 = msg(1, bytes(2, 'UDP'), int(3, 53), msg(4, int(1, 0), int(2, 5353)));
    const spec = msg(
      2,
      port,
      port2,
      msg(2, bytes(1, 'app'), bytes(2, 'web')),
      bytes(3, ''),
      bytes(4, 'NodePort'),
      int(20, 0),
      int(99, 7),
    );
    const obj = decodeK8sProtobuf(envelope('v1', 'Service', Buffer.concat([meta, spec, msg(3)])));
    expect(obj).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', creationTimestamp: '2023-11-14T22:13:20Z', labels: { app: 'web' } },
      spec: {
        ports: [
          { name: 'http', protocol: 'TCP', port: 80, targetPort: 'web-port' },
          { protocol: 'UDP', port: 53, targetPort: 5353 },
        ],
        selector: { app: 'web' },
        type: 'NodePort',
        allocateLoadBalancerNodePorts: false,
      },
      status: {},
    });
  });

  it('keeps meaningful zeros on pointer fields (replicas: 0)', () => {
    const obj = decodeK8sProtobuf(
      envelope('apps/v1', 'Deployment', Buffer.concat([msg(1, bytes(1, 'd')), msg(2, int(1, 0), int(5, 0))])),
    );
    expect(obj.spec).toEqual({ replicas: 0 });
  });

  it('rejects what it cannot decode', () => {
    expect(() => decodeK8sProtobuf(Buffer.from('{"kind":"Pod"}'))).toThrow(ProtobufError);
    expect(() => decodeK8sProtobuf(envelope('batch/v1', 'Job', Buffer.alloc(0)))).toThrow(/not supported/);
    expect(() => decodeK8sProtobuf(envelope('v1', 'Pod', Buffer.from([0x0a, 0x05, 0x01])))).toThrow(/truncated/);
  });
});
