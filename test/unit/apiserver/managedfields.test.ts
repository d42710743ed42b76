import { describe, expect, it } from 'vitest';
import '../../../src/apiserver/resources/index.js';
import { FieldSet, pathString } from '../../../src/apiserver/managedfields/fieldset.js';
import { recordApply, recordUpdate, type Scope } from '../../../src/apiserver/managedfields/managers.js';
import { compare, merge, toFieldSet, typeRef } from '../../../src/apiserver/managedfields/typed.js';

const DEPLOY = typeRef('io.k8s.api.apps.v1.Deployment');
const scope: Scope = { schema: DEPLOY, resetStatus: true, statusOnly: false };
const who = { manager: 'm', apiVersion: 'apps/v1' };
type Dep = { spec: { template: { spec: { containers: unknown[] } }; selector?: unknown } };
const dep = (containers: unknown[], extra: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'd' },
  spec: { template: { spec: { containers } }, ...extra },
});

describe('FieldSet', () => {
  it('round-trips FieldsV1 with members that have children', () => {
    const v1 = { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { 'f:replicas': {} } };
    const s = FieldSet.fromFieldsV1(v1);
    expect(s.has(['f:metadata', 'f:labels'])).toBe(true);
    expect(s.has(['f:metadata'])).toBe(false);
    expect(s.toFieldsV1()).toEqual(v1);
    expect(pathString(['f:spec', 'k:{"name":"web","port":80}', 'v:"x"', 'i:2'])).toBe(
      '.spec[name="web",port=80][="x"][2]',
    );
  });
});

describe('typed walks', () => {
  it('keys list items by their map keys, defaulting a missing key field', () => {
    const s = toFieldSet(dep([{ name: 'web', ports: [{ containerPort: 80 }] }]), DEPLOY);
    const c = ['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"web"}'];
    expect(s.has(c)).toBe(true);
    expect(s.has([...c, 'f:ports', 'k:{"containerPort":80,"protocol":"TCP"}', 'f:containerPort'])).toBe(true);
  });

  it('compares leaves and items; merges associative lists by key and keeps atomic ones whole', () => {
    const a = dep([{ name: 'a', image: 'x' }], { selector: { matchLabels: { k: '1' } } });
    const b = dep([{ name: 'a', image: 'y' }, { name: 'b' }], { selector: { matchLabels: { k: '2' } } });
    const c = compare(a, b, DEPLOY);
    const base = ['f:spec', 'f:template', 'f:spec', 'f:containers'];
    expect([...c.modified.paths()]).toEqual([
      ['f:spec', 'f:selector'],
      [...base, 'k:{"name":"a"}', 'f:image'],
    ]);
    expect(c.added.has([...base, 'k:{"name":"b"}'])).toBe(true);
    const m = merge(a, dep([{ name: 'b', image: 'z' }], { selector: { matchLabels: { j: '1' } } }), DEPLOY) as Dep;
    expect(m.spec.template.spec.containers).toEqual([
      { name: 'a', image: 'x' },
      { name: 'b', image: 'z' },
    ]);
    expect(m.spec.selector).toEqual({ matchLabels: { j: '1' } });
  });
});

describe('managers', () => {
  it('an Update takes changed fields from other managers and drops removed ones', () => {
    const first = recordApply(scope, undefined, dep([{ name: 'a', image: 'x' }]), undefined, who, false, 't1');
    const next = dep([{ name: 'a', image: 'y' }]);
    const ms = recordUpdate(scope, first.object, next, first.managers, { manager: 'u', apiVersion: 'apps/v1' }, 't2');
    const img = ['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"a"}', 'f:image'];
    expect(ms.find((m) => m.manager === 'u')!.set.has(img)).toBe(true);
    expect(ms.find((m) => m.manager === 'm')!.set.has(img)).toBe(false);
  });

  it('an Apply conflicts unless forced, and prunes what it alone applied before', () => {
    const one = recordApply(
      scope,
      undefined,
      dep([{ name: 'a', image: 'x' }, { name: 'b' }]),
      undefined,
      who,
      false,
      't1',
    );
    const other = { manager: 'o', apiVersion: 'apps/v1' };
    expect(() =>
      recordApply(scope, one.object, dep([{ name: 'a', image: 'y' }]), one.managers, other, false, 't2'),
    ).toThrow('Apply failed with 1 conflict: conflict with "m": .spec.template.spec.containers[name="a"].image');
    const co = recordApply(scope, one.object, dep([{ name: 'b' }]), one.managers, other, false, 't2');
    const again = recordApply(scope, co.object, dep([{ name: 'a', image: 'x' }]), co.managers, who, false, 't3');
    // b stays (o applies it too); nothing of m's is lost
    expect((again.object as Dep).spec.template.spec.containers.map((c) => (c as { name: string }).name)).toEqual([
      'a',
      'b',
    ]);
    const alone = recordApply(scope, one.object, dep([{ name: 'a', image: 'x' }]), one.managers, who, false, 't3');
    expect((alone.object as Dep).spec.template.spec.containers).toEqual([{ name: 'a', image: 'x' }]);
  });
});
