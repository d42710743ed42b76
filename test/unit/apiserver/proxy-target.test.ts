import { describe, expect, it } from 'vitest';
import {
  nodeProxyTarget,
  podProxyTarget,
  serviceProxyTarget,
  splitSchemeNamePort,
} from '../../../src/apiserver/proxy/proxy-target.js';

describe('proxy targets (kube-apiserver ResourceLocation)', () => {
  it('splits scheme:name:port as utilnet.SplitSchemeNamePort', () => {
    expect(splitSchemeNamePort('web')).toEqual({ scheme: '', name: 'web', port: '' });
    expect(splitSchemeNamePort('web:80')).toEqual({ scheme: '', name: 'web', port: '80' });
    expect(splitSchemeNamePort('web:http')).toEqual({ scheme: '', name: 'web', port: 'http' });
    expect(splitSchemeNamePort('https:web:443')).toEqual({ scheme: 'https', name: 'web', port: '443' });
    expect(splitSchemeNamePort('ftp:web:21')).toBeUndefined();
    expect(splitSchemeNamePort(':80')).toBeUndefined();
    expect(splitSchemeNamePort('a:b:c:d')).toBeUndefined();
  });

  it('pods: the pod IP, the given port or the first declared one; only global unicast addresses', () => {
    const pod = {
      spec: { containers: [{}, { ports: [{ containerPort: 9376 }, { containerPort: 1 }] }] },
      status: { podIP: '10.244.1.5' },
    };
    expect(podProxyTarget('p', pod)).toEqual({ scheme: 'http', host: '10.244.1.5', port: 9376 });
    expect(podProxyTarget('https:p:8443', pod)).toEqual({ scheme: 'https', host: '10.244.1.5', port: 8443 });
    expect(podProxyTarget('p', { status: { podIP: 'fd00:10:244::5' } })).toEqual({
      scheme: 'http',
      host: 'fd00:10:244::5',
    });
    expect(() => podProxyTarget('p', { status: { podIP: '127.0.0.1' } })).toThrow(/address not allowed/);
    expect(() => podProxyTarget('p', { status: {} })).toThrow(/address not allowed/);
    expect(() => podProxyTarget('p:99999', pod)).toThrow(/invalid port/);
  });

  const svc = {
    spec: {
      ports: [
        { name: 'http', port: 80 },
        { name: 'metrics', port: 9100 },
      ],
    },
  };
  const slices = [
    {
      ports: [
        { name: 'http', port: 9376 },
        { name: 'metrics', port: 9101 },
      ],
      endpoints: [
        { addresses: ['10.244.0.4'], conditions: { ready: true } },
        { addresses: ['10.244.1.4'], conditions: { ready: false } },
        { addresses: ['10.244.2.4'] },
      ],
    },
  ];

  it('services: a port number becomes its port name, then a ready endpoint with that slice port', () => {
    expect(serviceProxyTarget('web:80', svc, slices, () => 0)).toEqual({
      scheme: 'http',
      host: '10.244.0.4',
      port: 9376,
    });
    expect(serviceProxyTarget('web:80', svc, slices, (n) => n - 1)).toEqual({
      scheme: 'http',
      host: '10.244.2.4',
      port: 9376,
    });
    expect(serviceProxyTarget('https:web:metrics', svc, slices, () => 0)).toEqual({
      scheme: 'https',
      host: '10.244.0.4',
      port: 9101,
    });
    expect(() => serviceProxyTarget('web:81', svc, slices)).toThrow(/no service port 81 found for service "web"/);
    // no name: the unnamed port, which this Service does not have
    expect(() => serviceProxyTarget('web', svc, slices)).toThrow(/no endpoints available for service "web"/);
    expect(() => serviceProxyTarget('web:80', svc, [])).toThrow(/no endpoints available/);
  });

  it('nodes: the kubelet by default or on its own port, another port as asked', () => {
    const node = {
      status: {
        addresses: [
          { type: 'Hostname', address: 'node1' },
          { type: 'InternalIP', address: '198.18.0.11' },
        ],
        daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      },
    };
    expect(nodeProxyTarget('node1', node)).toEqual({
      scheme: 'https',
      host: '198.18.0.11',
      port: 10250,
      kubelet: true,
    });
    expect(nodeProxyTarget('node1:10250', node)).toMatchObject({ kubelet: true });
    expect(nodeProxyTarget('node1:9100', node)).toEqual({ scheme: 'http', host: '198.18.0.11', port: 9100 });
    expect(() => nodeProxyTarget('node1', { status: {} })).toThrow(/has no address/);
  });
});
