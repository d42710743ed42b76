import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandEnv } from '../../../src/kubelet/env.js';
import { resolveFieldRef, resolveResourceFieldRef } from '../../../src/kubelet/fieldpath.js';
import { serviceEnvVars } from '../../../src/kubelet/servicelinks.js';
import { podSchema } from '../../../src/kubelet/types.js';
import { validatePayloadPath, writePayload } from '../../../src/kubelet/volumes/atomic-writer.js';

const pod = podSchema.parse({
  metadata: { name: 'p', namespace: 'ns1', uid: 'u', labels: { b: '2', a: '1' } },
  spec: { nodeName: 'node1', containers: [{ name: 'c', resources: { limits: { cpu: '250m', memory: '128Mi' } } }] },
});

describe('environment', () => {
  it('expands $(VAR) from earlier variables, keeps unknown references and $$ escapes', () => {
    expect(expandEnv('$(A)-$(B)-$$(A)-$(NOPE)', { A: 'x', B: 'y' })).toBe('x-y-$(A)-$(NOPE)');
  });
  it('names Services docker-link style', () => {
    const env = serviceEnvVars([
      {
        metadata: { name: 'my-web' },
        spec: {
          clusterIP: '10.96.0.20',
          ports: [
            { name: 'http', port: 80 },
            { name: 'dns', port: 53, protocol: 'UDP' },
          ],
        },
      },
      { metadata: { name: 'headless' }, spec: { clusterIP: 'None', ports: [{ port: 80 }] } },
    ]);
    expect(env).toEqual({
      MY_WEB_SERVICE_HOST: '10.96.0.20',
      MY_WEB_SERVICE_PORT: '80',
      MY_WEB_SERVICE_PORT_HTTP: '80',
      MY_WEB_SERVICE_PORT_DNS: '53',
      MY_WEB_PORT: 'tcp://10.96.0.20:80',
      MY_WEB_PORT_80_TCP: 'tcp://10.96.0.20:80',
      MY_WEB_PORT_80_TCP_PROTO: 'tcp',
      MY_WEB_PORT_80_TCP_PORT: '80',
      MY_WEB_PORT_80_TCP_ADDR: '10.96.0.20',
      MY_WEB_PORT_53_UDP: 'udp://10.96.0.20:53',
      MY_WEB_PORT_53_UDP_PROTO: 'udp',
      MY_WEB_PORT_53_UDP_PORT: '53',
      MY_WEB_PORT_53_UDP_ADDR: '10.96.0.20',
    });
  });
  it('resolves the downward API and refuses what it does not know', () => {
    const facts = { pod, podIPs: ['10.244.1.5'], hostIP: '198.18.0.11' };
    expect(resolveFieldRef('metadata.labels', facts)).toBe('a="1"\nb="2"');
    expect(resolveFieldRef("metadata.labels['b']", facts)).toBe('2');
    expect(resolveFieldRef('status.podIP', facts)).toBe('10.244.1.5');
    expect(resolveFieldRef('spec.nodeName', facts)).toBe('node1');
    expect(() => resolveFieldRef('spec.bogus', facts)).toThrow(/unsupported fieldRef/);
    const c = pod.spec.containers[0]!;
    expect(resolveResourceFieldRef({ resource: 'limits.cpu', divisor: '1m' }, pod, c)).toBe('250');
    expect(resolveResourceFieldRef({ resource: 'limits.cpu' }, pod, c)).toBe('1'); // rounded up
    expect(resolveResourceFieldRef({ resource: 'limits.memory', divisor: '1Mi' }, pod, c)).toBe('128');
    expect(resolveResourceFieldRef({ resource: 'requests.memory' }, pod, c)).toBe(String(128 * 2 ** 20));
  });
});

describe('atomic volume writer', () => {
  it('switches ..data in one rename, links top-level names through it and drops old generations', () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-aw-'));
    try {
      writePayload(
        dir,
        new Map([
          ['a', { data: Buffer.from('1'), mode: 0o644 }],
          ['d/b', { data: Buffer.from('2'), mode: 0o400 }],
        ]),
      );
      expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('1');
      expect(readlinkSync(join(dir, 'd'))).toBe('..data/d');
      expect((statSync(join(dir, 'd/b')).mode & 0o777).toString(8)).toBe('400');
      writePayload(dir, new Map([['c', { data: Buffer.from('3'), mode: 0o644 }]]));
      const entries = readdirSync(dir).sort();
      expect(entries.filter((e) => !e.startsWith('..2'))).toEqual(['..data', 'c']);
      expect(entries.filter((e) => e.startsWith('..2'))).toHaveLength(1);
      expect(readFileSync(join(dir, 'c'), 'utf8')).toBe('3');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    for (const bad of ['/abs', '../up', 'a/../b', '..data', '']) expect(() => validatePayloadPath(bad)).toThrow();
  });
});
