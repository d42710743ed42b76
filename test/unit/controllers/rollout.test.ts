import { describe, expect, it } from 'vitest';
import {
  initialNewReplicas,
  planRecreateStep,
  planRollingStep,
  resolveFenceposts,
  resolveIntOrPercent,
  type RsState,
} from '../../../src/controllers/deployment/rollout.js';

const rs = (name: string, replicas: number, available: number, created = 0): RsState => ({
  name,
  replicas,
  available,
  created,
});

describe('resolveIntOrPercent / fenceposts', () => {
  it('rounds surge up and unavailable down', () => {
    expect(resolveIntOrPercent('25%', 10, true)).toBe(3);
    expect(resolveIntOrPercent('25%', 10, false)).toBe(2);
    expect(resolveIntOrPercent(2, 10, false)).toBe(2);
    expect(resolveIntOrPercent('3', 10, false)).toBe(3);
  });
  it('rejects garbage', () => {
    expect(() => resolveIntOrPercent('abc', 10, true)).toThrow(/invalid value/);
    expect(() => resolveIntOrPercent(-1, 10, true)).toThrow(/non-negative/);
  });
  it('defaults to 25%/25% and never lets both be zero', () => {
    expect(resolveFenceposts(4)).toEqual({ maxSurge: 1, maxUnavailable: 1 });
    expect(resolveFenceposts(3)).toEqual({ maxSurge: 1, maxUnavailable: 0 });
    expect(resolveFenceposts(1, 0, 0)).toEqual({ maxSurge: 0, maxUnavailable: 1 });
  });
});

describe('planRollingStep', () => {
  it('just scales the new ReplicaSet when no old one is active', () => {
    expect(planRollingStep(5, { maxSurge: 1, maxUnavailable: 1 }, rs('new', 3, 3), [rs('old', 0, 0)])).toEqual({
      kind: 'scaleNew',
      replicas: 5,
    });
    expect(planRollingStep(2, { maxSurge: 1, maxUnavailable: 1 }, rs('new', 5, 5), [])).toEqual({
      kind: 'scaleNew',
      replicas: 2,
    });
    expect(planRollingStep(2, { maxSurge: 1, maxUnavailable: 1 }, rs('new', 2, 1), [])).toEqual({ kind: 'none' });
  });

  it('with maxUnavailable 0 never plans below the desired available count', () => {
    // Simulate a whole rollout of 3 replicas, surge 1, unavailable 0; pods become available one step later.
    const f = { maxSurge: 1, maxUnavailable: 0 };
    let newRS = rs('new', 0, 0, 2);
    let old = rs('old', 3, 3, 1);
    for (let i = 0; i < 20; i++) {
      const step = planRollingStep(3, f, newRS, [old]);
      if (step.kind === 'none') {
        if (newRS.available === newRS.replicas && old.replicas === 0) break;
        newRS = { ...newRS, available: newRS.replicas }; // the new pods become ready
        continue;
      }
      if (step.kind === 'scaleNew') newRS = { ...newRS, replicas: step.replicas };
      else old = { ...old, replicas: step.replicas.old!, available: Math.min(old.available, step.replicas.old!) };
      expect(newRS.available + old.available).toBeGreaterThanOrEqual(3);
      expect(newRS.replicas + old.replicas).toBeLessThanOrEqual(4);
    }
    expect(newRS).toMatchObject({ replicas: 3, available: 3 });
    expect(old.replicas).toBe(0);
  });

  it('scales the new ReplicaSet up within the surge budget', () => {
    expect(planRollingStep(4, { maxSurge: 1, maxUnavailable: 1 }, rs('new', 0, 0), [rs('old', 4, 4)])).toEqual({
      kind: 'scaleNew',
      replicas: 1,
    });
  });

  it('removes unhealthy old pods first, oldest ReplicaSet first', () => {
    const olds = [rs('b', 2, 1, 2), rs('a', 2, 2, 1)];
    // a is older but fully available; b has one unhealthy pod which goes first (it costs no availability)...
    expect(planRollingStep(4, { maxSurge: 0, maxUnavailable: 1 }, rs('new', 0, 0, 3), olds)).toEqual({
      kind: 'scaleOld',
      replicas: { b: 1 },
    });
    // ...and with room for one more unavailable pod, an available one goes from the oldest ReplicaSet.
    expect(planRollingStep(4, { maxSurge: 0, maxUnavailable: 2 }, rs('new', 0, 0, 3), olds)).toEqual({
      kind: 'scaleOld',
      replicas: { a: 1, b: 1 },
    });
  });

  it('waits while the new pods are not available and nothing else may go', () => {
    expect(planRollingStep(3, { maxSurge: 1, maxUnavailable: 0 }, rs('new', 1, 0), [rs('old', 3, 3)])).toEqual({
      kind: 'none',
    });
  });

  it('caps a new ReplicaSet that is above the desired count during a rollout', () => {
    expect(planRollingStep(2, { maxSurge: 1, maxUnavailable: 0 }, rs('new', 3, 3), [rs('old', 1, 1)])).toEqual({
      kind: 'scaleNew',
      replicas: 2,
    });
  });
});

describe('planRecreateStep / initialNewReplicas', () => {
  it('scales old to zero, waits for pods to go, then scales new', () => {
    expect(planRecreateStep(3, rs('new', 0, 0), [rs('old', 3, 3)], 3)).toEqual({
      kind: 'scaleOld',
      replicas: { old: 0 },
    });
    expect(planRecreateStep(3, rs('new', 0, 0), [rs('old', 0, 0)], 2)).toEqual({ kind: 'none' });
    expect(planRecreateStep(3, rs('new', 0, 0), [rs('old', 0, 0)], 0)).toEqual({ kind: 'scaleNew', replicas: 3 });
  });
  it('starts a new ReplicaSet at what the budget allows', () => {
    expect(initialNewReplicas('RollingUpdate', 3, { maxSurge: 1, maxUnavailable: 0 }, [])).toBe(3);
    expect(initialNewReplicas('RollingUpdate', 3, { maxSurge: 1, maxUnavailable: 0 }, [rs('o', 3, 3)])).toBe(1);
    expect(initialNewReplicas('Recreate', 3, { maxSurge: 1, maxUnavailable: 0 }, [rs('o', 3, 3)])).toBe(0);
  });
});
