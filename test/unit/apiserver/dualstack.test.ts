import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { MemoryBackend } from '../../../src/store/memory.js';
import { AllocationError, Allocator } from '../../../src/apiserver/alloc.js';
import { ApiError } from '../../../src/apiserver/errors.js';
import { apiError } from '../../helpers/api-error.js';
import { Registry, type WriteOptions } from '../../../src/apiserver/rest.js';
import { services } from '../../../src/apiserver/resources/index.js';
import { ObjectStore } from '../../../src/apiserver/storage.js';

const w = (): WriteOptions => ({ fieldValidation: 'Strict', dryRun: false, warnings: [] });
const silent = pino({ level: 'silent' });
const V4 = '10.96.0.0/16';
const V6 = 'fd00:10:96::/112';

const open: { reg: Registry; backend: MemoryBackend }[] = [];
async function cluster(cidrs: string) {
  const backend = new MemoryBackend();
  const reg = new Registry(new ObjectStore(backend), new Allocator(cidrs, { min: 30000, max: 30005 }), silent);
  await reg.bootstrap();
  open.push({ reg, backend });
  return reg;
}
afterEach(async () => {
  for (const { reg, backend } of open.splice(0)) {
    await reg.stop();
    await backend.close();
  }
});

const causes = (e: ApiError) => (e.details?.causes ?? []).map((c) => `${c.field}: ${c.message}`);
const svc = (name: string, spec: Record<string, unknown> = {}) => ({
  metadata: { name },
  spec: { selector: { app: 'web' }, ports: [{ port: 80 }], ...spec },
});
const isV4 = (ip: string) => /^10\.96\./.test(ip);
const isV6 = (ip: string) => ip.startsWith('fd00:10:96::');

describe('service allocator, both families', () => {
  it('allocates from a v6 range as kube-apiserver does (network + 1 on, at most 2^16 addresses)', () => {
    const a = new Allocator(`${V4},fd00:10:96::/126`, { min: 30000, max: 30001 });
    expect(a.families).toEqual([4, 6]);
    expect(a.firstIP(6)).toBe('fd00:10:96::1');
    expect([a.allocateIP(undefined, 6), a.allocateIP(undefined, 6), a.allocateIP(undefined, 6)]).toEqual([
      'fd00:10:96::1',
      'fd00:10:96::2',
      'fd00:10:96::3', // IPv6 has no broadcast address to keep back
    ]);
    expect(() => a.allocateIP(undefined, 6)).toThrow(/range is full/);
    expect(isV4(a.allocateIP())).toBe(true); // the primary family by default
    expect(() => a.allocateIP('fd00:10:97::1')).toThrow(/not in the valid range/);
    a.releaseIP('fd00:10:96::2');
    expect(a.allocateIP('fd00:10:96::2')).toBe('fd00:10:96::2');
  });
  it('rejects two CIDRs of one family, more than two, and oversized v6 ranges', () => {
    expect(() => new Allocator('10.96.0.0/16,10.97.0.0/16', { min: 1, max: 2 })).toThrow(/different IP families/);
    expect(() => new Allocator(`${V4},${V6},10.1.0.0/16`, { min: 1, max: 2 })).toThrow(AllocationError);
    expect(() => new Allocator('fd00::/64', { min: 1, max: 2 })).toThrow(/between \/108 and \/126/);
  });
});

describe('Service ipFamilies / ipFamilyPolicy / clusterIPs (kube-apiserver semantics)', () => {
  it('defaults SingleStack with the primary family, v4-primary and v6-primary', async () => {
    const dual = await cluster(`${V4},${V6}`);
    const a = await dual.create(services, 'default', svc('a'), w());
    expect(a.spec.ipFamilyPolicy).toBe('SingleStack');
    expect(a.spec.ipFamilies).toEqual(['IPv4']);
    expect(a.spec.clusterIPs).toEqual([a.spec.clusterIP]);
    expect(isV4(a.spec.clusterIP)).toBe(true);
    const v6first = await cluster(`${V6},${V4}`);
    const b = await v6first.create(services, 'default', svc('b'), w());
    expect(b.spec.ipFamilies).toEqual(['IPv6']);
    expect(isV6(b.spec.clusterIP)).toBe(true);
    const v6only = await cluster(V6);
    const c = await v6only.create(services, 'default', svc('c', { type: 'NodePort' }), w());
    expect([c.spec.ipFamilies, isV6(c.spec.clusterIP)]).toEqual([['IPv6'], true]);
  });

  it('PreferDualStack and RequireDualStack get one IP per family, primary first (or in the order asked)', async () => {
    const dual = await cluster(`${V4},${V6}`);
    const p = await dual.create(services, 'default', svc('p', { ipFamilyPolicy: 'PreferDualStack' }), w());
    expect(p.spec.ipFamilies).toEqual(['IPv4', 'IPv6']);
    expect(p.spec.clusterIPs).toHaveLength(2);
    expect([isV4(p.spec.clusterIPs[0]), isV6(p.spec.clusterIPs[1])]).toEqual([true, true]);
    expect(p.spec.clusterIP).toBe(p.spec.clusterIPs[0]);
    const r = await dual.create(
      services,
      'default',
      svc('r', { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv6', 'IPv4'] }),
      w(),
    );
    expect([isV6(r.spec.clusterIPs[0]), isV4(r.spec.clusterIPs[1])]).toEqual([true, true]);
    const asked = await dual.create(
      services,
      'default',
      svc('asked', {
        ipFamilyPolicy: 'PreferDualStack',
        clusterIP: 'fd00:10:96::77',
        clusterIPs: ['fd00:10:96::77', '10.96.7.7'],
      }),
      w(),
    );
    expect(asked.spec.ipFamilies).toEqual(['IPv6', 'IPv4']);
    expect(asked.spec.clusterIPs).toEqual(['fd00:10:96::77', '10.96.7.7']);
  });

  it('on a single-stack cluster PreferDualStack stays single, RequireDualStack is refused', async () => {
    const single = await cluster(V4);
    const p = await single.create(services, 'default', svc('p', { ipFamilyPolicy: 'PreferDualStack' }), w());
    expect([p.spec.ipFamilies, p.spec.clusterIPs.length]).toEqual([['IPv4'], 1]);
    const e = await apiError(single.create(services, 'default', svc('r', { ipFamilyPolicy: 'RequireDualStack' }), w()));
    expect(e.code).toBe(422);
    expect(causes(e)).toEqual([
      'spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services',
    ]);
    const f = await apiError(single.create(services, 'default', svc('f', { ipFamilies: ['IPv6'] }), w()));
    expect(causes(f)).toEqual(['spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster']);
    const g = await apiError(single.create(services, 'default', svc('g', { clusterIP: 'fd00:10:96::5' }), w()));
    expect(causes(g)[0]).toContain('IPv6 is not configured on this cluster');
  });

  it('validates the fields as kube-apiserver does', async () => {
    const dual = await cluster(`${V4},${V6}`);
    const bad = async (spec: Record<string, unknown>) =>
      causes(await apiError(dual.create(services, 'default', svc('x', spec), w())));
    expect(await bad({ ipFamilyPolicy: 'Sometimes' })).toEqual([
      'spec.ipFamilyPolicy: Unsupported value: "Sometimes": supported values: "PreferDualStack", "RequireDualStack", "SingleStack"',
    ]);
    expect(await bad({ ipFamilies: ['IPv4', 'IPv4'] })).toEqual(['spec.ipFamilies[1]: Duplicate value: "IPv4"']);
    expect((await bad({ ipFamilies: ['IPv5'] }))[0]).toContain('spec.ipFamilies[0]: Unsupported value: "IPv5"');
    expect((await bad({ clusterIPs: ['10.96.0.9'] }))[0]).toContain('must be empty when `clusterIP` is not specified');
    expect(
      (await bad({ clusterIP: '10.96.0.9', clusterIPs: ['10.96.0.8'], ipFamilyPolicy: 'SingleStack' }))[0],
    ).toContain('first value must match `clusterIP`');
    expect(
      (
        await bad({
          clusterIP: '10.96.0.9',
          clusterIPs: ['10.96.0.9', '10.96.0.10'],
          ipFamilyPolicy: 'PreferDualStack',
        })
      )[0],
    ).toContain('may specify no more than one IP for each IP family');
    expect((await bad({ clusterIP: '10.96.0.9', clusterIPs: ['10.96.0.9'], ipFamilies: ['IPv6'] }))[0]).toContain(
      'spec.clusterIPs[0]: Invalid value: "10.96.0.9": expected an IPv6 value as indicated by `ipFamilies[0]`',
    );
    expect(
      await bad({ clusterIP: '10.96.0.9', clusterIPs: ['10.96.0.9', 'fd00:10:96::9'], ipFamilyPolicy: 'SingleStack' }),
    ).toEqual([
      'spec.ipFamilyPolicy: Invalid value: "SingleStack": must be \'RequireDualStack\' or ' +
        "'PreferDualStack' when multiple cluster IPs are specified",
    ]);
    expect(
      (await bad({ type: 'ExternalName', externalName: 'example.com', ports: [], ipFamilyPolicy: 'SingleStack' }))[0],
    ).toContain('spec.ipFamilyPolicy: Forbidden: may not be set for ExternalName services');
  });

  it('upgrades to dual stack and downgrades only with SingleStack, releasing the secondary IP', async () => {
    const dual = await cluster(`${V4},${V6}`);
    const a = await dual.create(services, 'default', svc('a'), w());
    const up = await dual.patch(
      services,
      'default',
      'a',
      'merge',
      { spec: { ipFamilyPolicy: 'PreferDualStack' } },
      w(),
    );
    expect(up.spec.ipFamilies).toEqual(['IPv4', 'IPv6']);
    expect(up.spec.clusterIPs[0]).toBe(a.spec.clusterIP);
    const v6 = up.spec.clusterIPs[1] as string;
    expect(isV6(v6)).toBe(true);
    // Dropping the second family without SingleStack is refused.
    const e = await apiError(
      dual.patch(
        services,
        'default',
        'a',
        'merge',
        { spec: { ipFamilies: ['IPv4'], clusterIPs: [a.spec.clusterIP] } },
        w(),
      ),
    );
    expect(causes(e).join('\n')).toContain("must be set to 'SingleStack' when releasing the secondary clusterIP");
    const down = await dual.patch(services, 'default', 'a', 'merge', { spec: { ipFamilyPolicy: 'SingleStack' } }, w());
    expect([down.spec.ipFamilies, down.spec.clusterIPs]).toEqual([['IPv4'], [a.spec.clusterIP]]);
    // The secondary address is free again; the primary one is not.
    const b = await dual.create(
      services,
      'default',
      svc('b', { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv6', 'IPv4'], clusterIP: v6, clusterIPs: [v6] }),
      w(),
    );
    expect(b.spec.clusterIPs[0]).toBe(v6);
    const dup = await apiError(dual.create(services, 'default', svc('c', { clusterIP: a.spec.clusterIP }), w()));
    expect(dup.message).toContain('already allocated');
    // Changing the primary IP is refused.
    const imm = await apiError(
      dual.patch(services, 'default', 'b', 'merge', { spec: { clusterIP: 'fd00:10:96::99', clusterIPs: null } }, w()),
    );
    expect(causes(imm).join('\n')).toContain('may not change once set');
  });

  it('headless selectorless services default to RequireDualStack and every family, even single-stack', async () => {
    const single = await cluster(V4);
    const h = await single.create(
      services,
      'default',
      { metadata: { name: 'h' }, spec: { clusterIP: 'None', ports: [{ port: 80 }] } },
      w(),
    );
    expect([h.spec.ipFamilyPolicy, h.spec.ipFamilies, h.spec.clusterIPs]).toEqual([
      'RequireDualStack',
      ['IPv4', 'IPv6'],
      ['None'],
    ]);
    const hs = await single.create(services, 'default', svc('hs', { clusterIP: 'None' }), w());
    expect([hs.spec.ipFamilyPolicy, hs.spec.ipFamilies]).toEqual(['SingleStack', ['IPv4']]);
  });

  it('rebuilds both families from storage after a restart', async () => {
    const backend = new MemoryBackend();
    const mk = async () => {
      const reg = new Registry(
        new ObjectStore(backend),
        new Allocator(`${V4},fd00:10:96::/126`, { min: 30000, max: 30005 }),
        silent,
      );
      await reg.bootstrap();
      return reg;
    };
    const first = await mk();
    const made = await first.create(services, 'default', svc('d', { ipFamilyPolicy: 'RequireDualStack' }), w());
    await first.stop();
    const second = await mk();
    const next = await second.create(services, 'default', svc('e', { ipFamilyPolicy: 'RequireDualStack' }), w());
    expect(next.spec.clusterIPs[1]).not.toBe(made.spec.clusterIPs[1]);
    await second.stop();
    await backend.close();
  });
});
