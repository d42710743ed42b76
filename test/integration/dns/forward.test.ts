import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import * as dns from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type RunningDns } from '../../../src/dns/server.js';
import { Zone } from '../../../src/dns/zone.js';
import { runRaw } from '../../../src/os/exec.js';

/**
 * skiff/dns's sockets against dig (dnsutils): the cluster zone answered locally, other names forwarded to an
 * upstream over the client's transport, SERVFAIL (not a hang) when the upstream is silent. Loopback only.
 */
const zone = new Zone('cluster.local', 5, {
  namespaces: [{ metadata: { name: 'default' } }],
  services: [{ metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.0.50' } }],
  endpointSlices: [],
  pods: [],
});

function upstreamAnswer(msg: Buffer): Buffer {
  const q = dns.decode(msg);
  return dns.encode({
    type: 'response',
    id: q.id,
    flags: dns.RECURSION_AVAILABLE,
    questions: q.questions,
    answers: [{ name: q.questions?.[0]?.name ?? '', type: 'A', ttl: 60, data: '192.0.2.7' }],
  });
}

describe('skiff/dns server sockets (dig, loopback)', () => {
  const udp = createSocket('udp4');
  const tcp = createServer((c) => {
    c.on('data', (d: Buffer) => {
      const out = upstreamAnswer(d.subarray(2, 2 + d.readUInt16BE(0)));
      const len = Buffer.alloc(2);
      len.writeUInt16BE(out.length);
      c.end(Buffer.concat([len, out]));
    });
  });
  let withUpstream: RunningDns;
  let silent: RunningDns;
  let refusing: RunningDns;
  const silentSock = createSocket('udp4');

  beforeAll(async () => {
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    udp.on('message', (m, rinfo) => udp.send(upstreamAnswer(m), rinfo.port, rinfo.address));
    const port = udp.address().port;
    await new Promise<void>((r) => tcp.listen(port, '127.0.0.1', () => r()));
    await new Promise<void>((r) => silentSock.bind(0, '127.0.0.1', () => r()));
    withUpstream = await startDnsServer({
      port: 0,
      host: '127.0.0.1',
      zone: () => zone,
      upstream: { host: '127.0.0.1', port },
    });
    silent = await startDnsServer({
      port: 0,
      host: '127.0.0.1',
      zone: () => zone,
      upstream: { host: '127.0.0.1', port: silentSock.address().port },
      forwardTimeoutMs: 500,
    });
    refusing = await startDnsServer({ port: 0, host: '127.0.0.1', zone: () => zone });
  });

  afterAll(async () => {
    for (const s of [withUpstream, silent, refusing]) await s?.close();
    udp.close();
    silentSock.close();
    tcp.close();
  });

  const dig = async (s: RunningDns, ...args: string[]): Promise<string> =>
    (await runRaw(['dig', '@127.0.0.1', '-p', String(s.udpPort), '+time=3', '+tries=1', ...args])).stdout;

  it('answers the zone itself over UDP and TCP', async () => {
    expect((await dig(withUpstream, '+short', 'web.default.svc.cluster.local')).trim()).toBe('10.96.0.50');
    expect((await dig(withUpstream, '+short', '+tcp', 'web.default.svc.cluster.local')).trim()).toBe('10.96.0.50');
  });

  it('forwards other names to the upstream over the same transport', async () => {
    expect((await dig(withUpstream, '+short', 'example.test')).trim()).toBe('192.0.2.7');
    expect((await dig(withUpstream, '+short', '+tcp', 'example.test')).trim()).toBe('192.0.2.7');
  });

  it('answers SERVFAIL when the upstream is silent, REFUSED without one', async () => {
    const t0 = Date.now();
    expect(await dig(silent, 'example.test')).toMatch(/status: SERVFAIL/);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(await dig(refusing, 'example.test')).toMatch(/status: REFUSED/);
  });
});
