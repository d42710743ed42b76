import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderConflistTemplate, renderTemplate, SAMPLE_VALUES } from '../../../src/cni/template.js';

describe('conflist templates', () => {
  it('substitutes per-node values, numbers unquoted', () => {
    const text =
      '{"a":"{{podCIDR}}","b":{{ mtu }},"c":"{{nodeIP}}/{{nodeName}}","d":"{{stateDir}}/ipam","e":"{{clusterCIDR}}"}';
    expect(JSON.parse(renderTemplate(text, { ...SAMPLE_VALUES, mtu: 1450 }))).toEqual({
      a: '10.244.1.0/24',
      b: 1450,
      c: '192.168.0.11/node1',
      d: '/var/lib/skiff/kubelet/ipam',
      e: '10.244.0.0/16',
    });
  });

  it('rejects an unknown placeholder and a result that is not a conflist', () => {
    expect(() => renderTemplate('{"a":"{{podCidr}}"}', SAMPLE_VALUES, 'x.conflist')).toThrow(
      /x\.conflist: unknown placeholder \{\{podCidr\}\} \(known: podCIDR/,
    );
    expect(() => renderConflistTemplate('{"cniVersion":"1.0.0","name":"n","plugins":[]}', SAMPLE_VALUES)).toThrow(
      /invalid network config list/,
    );
  });

  it('cni-conf/reference.conflist renders to bridge + host-local + portmap + loopback', () => {
    const text = readFileSync(resolve(import.meta.dirname, '../../../cni-conf/reference.conflist'), 'utf8');
    const { list } = renderConflistTemplate(text, SAMPLE_VALUES);
    expect(list.plugins.map((p) => p.type)).toEqual(['bridge', 'portmap', 'loopback']);
    expect(list.plugins[0]).toMatchObject({
      mtu: 1500,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.1.0/24' }]], dataDir: '/var/lib/skiff/kubelet/ipam' },
    });
    expect(list.plugins[1]?.capabilities).toEqual({ portMappings: true });
  });
});
