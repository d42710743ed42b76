import { describe, expect, it } from 'vitest';
import '../../../src/apiserver/resources/index.js';
import { T } from '../../../src/api/core-v1.js';
import { T as APPS } from '../../../src/api/apps-v1.js';
import { patchMetaFor } from '../../../src/apiserver/patch/meta.js';
import { strategicMergePatch, StrategicPatchError } from '../../../src/apiserver/patch/strategic.js';
import { mergePatch } from '../../../src/apiserver/patch/merge.js';
import { jsonPatch, JsonPatchError } from '../../../src/apiserver/patch/json.js';

const pod = () => ({
  metadata: { name: 'p', labels: { a: '1', b: '2' }, finalizers: ['x/a'] },
  spec: {
    containers: [
      {
        name: 'web',
        image: 'web:1',
        ports: [{ containerPort: 80, protocol: 'TCP' }],
        env: [
          { name: 'A', value: '1' },
          { name: 'B', value: '2' },
        ],
      },
      { name: 'side', image: 'side:1' },
    ],
    volumes: [{ name: 'data', emptyDir: {} }],
  },
});
const podMeta = () => patchMetaFor(T.Pod);

describe('strategic merge patch', () => {
  it('merges containers by name and env by name, keeping untouched items', () => {
    const out = strategicMergePatch(
      pod(),
      { spec: { containers: [{ name: 'web', image: 'web:2', env: [{ name: 'B', value: '3' }] }] } },
      podMeta(),
    ) as ReturnType<typeof pod>;
    expect(out.spec.containers.map((c) => c.name)).toEqual(['web', 'side']);
    expect(out.spec.containers[0]!.image).toBe('web:2');
    expect(out.spec.containers[0]!.env).toEqual([
      { name: 'A', value: '1' },
      { name: 'B', value: '3' },
    ]);
    expect(out.spec.containers[1]!.image).toBe('side:1');
  });

  it('deletes list items with $patch: delete and fields with null', () => {
    const out = strategicMergePatch(
      pod(),
      { metadata: { labels: { a: null } }, spec: { containers: [{ name: 'side', $patch: 'delete' }] } },
      podMeta(),
    ) as ReturnType<typeof pod>;
    expect(out.spec.containers.map((c) => c.name)).toEqual(['web']);
    expect(out.metadata.labels).toEqual({ b: '2' });
  });

  it('replaces a whole list with a $patch: replace item, and a map with $patch: replace', () => {
    const out = strategicMergePatch(
      pod(),
      {
        spec: { containers: [{ $patch: 'replace' }, { name: 'only', image: 'o:1' }] },
        metadata: { labels: { $patch: 'replace', c: '3' } },
      },
      podMeta(),
    ) as ReturnType<typeof pod>;
    expect(out.spec.containers).toEqual([{ name: 'only', image: 'o:1' }]);
    expect(out.metadata.labels).toEqual({ c: '3' });
  });

  it('replaces lists without a merge strategy (container args)', () => {
    const base = { spec: { containers: [{ name: 'c', args: ['a', 'b'] }] } };
    const out = strategicMergePatch(
      base,
      { spec: { containers: [{ name: 'c', args: ['z'] }] } },
      podMeta(),
    ) as typeof base;
    expect(out.spec.containers[0]!.args).toEqual(['z']);
  });

  it('unions primitive merge lists and honours $deleteFromPrimitiveList', () => {
    const out = strategicMergePatch(
      pod(),
      { metadata: { finalizers: ['x/b'], '$deleteFromPrimitiveList/finalizers': ['x/a'] } },
      podMeta(),
    ) as ReturnType<typeof pod>;
    expect(out.metadata.finalizers).toEqual(['x/b']);
  });

  it('orders with $setElementOrder', () => {
    const out = strategicMergePatch(
      pod(),
      {
        spec: {
          '$setElementOrder/containers': [{ name: 'side' }, { name: 'web' }],
          containers: [{ name: 'web', image: 'web:3' }],
        },
      },
      podMeta(),
    ) as ReturnType<typeof pod>;
    expect(out.spec.containers.map((c) => c.name)).toEqual(['side', 'web']);
  });

  it('keeps only $retainKeys in a map', () => {
    const base = { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } } };
    const out = strategicMergePatch(
      base,
      { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } },
      patchMetaFor(APPS.Deployment),
    ) as { spec: { strategy: Record<string, unknown> } };
    expect(out.spec.strategy).toEqual({ type: 'Recreate' });
  });

  it('merges service ports by port', () => {
    const svc = {
      spec: {
        ports: [
          { port: 80, targetPort: 8080 },
          { port: 443, targetPort: 8443 },
        ],
      },
    };
    const out = strategicMergePatch(
      svc,
      { spec: { ports: [{ port: 80, targetPort: 9090 }] } },
      patchMetaFor(T.Service),
    ) as typeof svc;
    expect(out.spec.ports).toEqual([
      { port: 80, targetPort: 9090 },
      { port: 443, targetPort: 8443 },
    ]);
  });

  it('rejects items without the merge key and bad directives', () => {
    expect(() => strategicMergePatch(pod(), { spec: { containers: [{ image: 'x' }] } }, podMeta())).toThrow(
      StrategicPatchError,
    );
    expect(() => strategicMergePatch(pod(), { spec: { $patch: 'explode' } }, podMeta())).toThrow(/unknown patch type/);
    expect(() => strategicMergePatch(pod(), [1], podMeta())).toThrow(StrategicPatchError);
  });

  it('does not mutate its input', () => {
    const p = pod();
    const before = JSON.stringify(p);
    strategicMergePatch(p, { spec: { containers: [{ name: 'web', image: 'x' }] } }, podMeta());
    expect(JSON.stringify(p)).toBe(before);
  });
});

describe('json merge patch and json patch', () => {
  it('merge patch replaces lists and removes null fields', () => {
    expect(mergePatch({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, d: null })).toEqual({ a: { b: 1, c: [3] } });
  });
  it('json patch applies operations and reports failures', () => {
    expect(
      jsonPatch(
        { a: [1] },
        [
          { op: 'add', path: '/a/-', value: 2 },
          { op: 'replace', path: '/b', value: 1 },
        ].slice(0, 1),
      ),
    ).toEqual({ a: [1, 2] });
    expect(() => jsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }])).toThrow(JsonPatchError);
    expect(() => jsonPatch({ a: 1 }, { op: 'add' })).toThrow(/array/);
  });
});
