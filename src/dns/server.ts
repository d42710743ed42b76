import { createSocket, type Socket } from 'node:dgram';
import { createConnection, createServer, type Server } from 'node:net';
import * as dns from 'dns-packet';
import { isReverseName } from '../net/reverse.js';
import type { Logger } from '../util/log.js';
import type { Rr, Zone } from './zone.js';

/**
 * The DNS server: UDP and TCP on one port, answering the cluster zone from the current Zone snapshot and
 * forwarding every other name to an upstream (UDP, or TCP for TCP clients) when one is configured; without
 * one it answers REFUSED at once, so nothing waits on a resolver that cannot answer. UDP answers larger
 * than the client's limit (512 bytes, or its EDNS payload size) are sent empty with the TC bit, so the
 * client retries over TCP. The wire format is dns-packet's.
 */
export interface Upstream {
  host: string;
  port: number;
}

export interface DnsServerOptions {
  port: number;
  host?: string;
  zone: () => Zone;
  upstream?: Upstream;
  /** how long a forwarded query may take before SERVFAIL */
  forwardTimeoutMs?: number;
  log?: Logger;
}

const RCODE: Record<string, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };
const MAX_UDP = 4096;
const MIN_UDP = 512;

function toAnswer(r: Rr, ttl: number): dns.Answer {
  return { name: r.name, type: r.type, class: 'IN', ttl, data: r.data } as dns.Answer;
}

function flagsFor(query: dns.DecodedPacket, rcode: number, extra: number): number {
  return (
    dns.RECURSION_DESIRED * (query.flag_rd ? 1 : 0) +
    extra +
    (rcode & 0xf) +
    (query.flag_cd ? dns.CHECKING_DISABLED : 0)
  );
}

export type Answered = { kind: 'reply'; packet: Buffer } | { kind: 'forward' };

/**
 * Answer one query from the zone. `udpLimit` is set for UDP (truncation); undefined over TCP.
 * Returns `forward` for names outside the zone when an upstream exists.
 */
export function answerQuery(
  raw: Buffer,
  zone: Zone,
  hasUpstream: boolean,
  udpLimit: number | undefined,
): Answered | undefined {
  let q: dns.DecodedPacket;
  try {
    q = dns.decode(raw);
  } catch {
    return raw.length >= 2 ? reply(raw.readUInt16BE(0), 'FORMERR') : undefined;
  }
  if (q.type !== 'query') return undefined;
  const opt = q.additionals?.find((a) => a.type === 'OPT') as dns.OptAnswer | undefined;
  const limit =
    udpLimit === undefined ? undefined : Math.min(MAX_UDP, Math.max(MIN_UDP, opt?.udpPayloadSize ?? MIN_UDP));
  const edns: dns.Answer[] = opt
    ? [
        {
          name: '.',
          type: 'OPT',
          udpPayloadSize: MAX_UDP,
          extendedRcode: 0,
          ednsVersion: 0,
          flags: 0,
          flag_do: false,
          options: [],
        } as never,
      ]
    : [];
  const opcode = (q.flags ?? 0) & 0x7800;
  const question = q.questions?.[0];
  if (opcode !== 0) return { kind: 'reply', packet: respond(q, 'NOTIMP', [], [], [], edns, false) };
  if (!question || (q.questions?.length ?? 0) > 1)
    return { kind: 'reply', packet: respond(q, 'FORMERR', [], [], [], edns, false) };
  const name = question.name;
  const inZone = zone.covers(name);
  const reverse = isReverseName(name);
  if (!inZone && !(reverse && zone.hasPtr(name))) {
    if (hasUpstream) return { kind: 'forward' };
    const rcode = reverse ? 'NXDOMAIN' : 'REFUSED';
    return { kind: 'reply', packet: respond(q, rcode, [], [], [], edns, false) };
  }
  const a = zone.lookup(name, question.type);
  const answers = a.answers.map((r) => toAnswer(r, zone.ttl));
  const auth = a.authorities.map((r) => toAnswer(r, zone.ttl));
  const extra = a.additionals.map((r) => toAnswer(r, zone.ttl));
  let packet = respond(q, a.rcode, answers, auth, extra, edns, true);
  if (limit !== undefined && packet.length > limit) {
    packet = respond(q, a.rcode, [], [], [], edns, true, dns.TRUNCATED_RESPONSE);
  }
  return { kind: 'reply', packet };
}

function respond(
  q: dns.DecodedPacket,
  rcode: string,
  answers: dns.Answer[],
  authorities: dns.Answer[],
  additionals: dns.Answer[],
  edns: dns.Answer[],
  authoritative: boolean,
  extraFlags = 0,
): Buffer {
  return dns.encode({
    type: 'response',
    id: q.id ?? 0,
    flags: flagsFor(q, RCODE[rcode] ?? 2, extraFlags + (authoritative ? dns.AUTHORITATIVE_ANSWER : 0)),
    questions: q.questions ?? [],
    answers,
    authorities,
    additionals: [...additionals, ...edns],
  });
}

function reply(id: number, rcode: string): Answered {
  return { kind: 'reply', packet: dns.encode({ type: 'response', id, flags: RCODE[rcode] ?? 2, questions: [] }) };
}

/** SERVFAIL for a query we could not forward (keeps its id and question). */
function servfail(raw: Buffer): Buffer {
  try {
    const q = dns.decode(raw);
    return respond(q, 'SERVFAIL', [], [], [], [], false);
  } catch {
    return (reply(raw.readUInt16BE(0), 'SERVFAIL') as { packet: Buffer }).packet;
  }
}

function forwardUdp(raw: Buffer, up: Upstream, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const sock = createSocket(up.host.includes(':') ? 'udp6' : 'udp4');
    const done = (b: Buffer): void => {
      clearTimeout(timer);
      sock.close();
      resolve(b);
    };
    const timer = setTimeout(() => done(servfail(raw)), timeoutMs);
    sock.on('error', () => done(servfail(raw)));
    sock.on('message', (msg) => {
      if (msg.length >= 2 && msg.readUInt16BE(0) === raw.readUInt16BE(0)) done(msg);
    });
    sock.send(raw, up.port, up.host);
  });
}

function forwardTcp(raw: Buffer, up: Upstream, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const conn = createConnection({ host: up.host, port: up.port });
    let buf = Buffer.alloc(0);
    let settled = false;
    const done = (b: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.destroy();
      resolve(b);
    };
    const timer = setTimeout(() => done(servfail(raw)), timeoutMs);
    conn.on('error', () => done(servfail(raw)));
    conn.on('connect', () => conn.write(Buffer.concat([lengthPrefix(raw.length), raw])));
    conn.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
    conn.on('close', () => done(servfail(raw)));
  });
}

function lengthPrefix(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

export interface RunningDns {
  close(): Promise<void>;
  udpPort: number;
  tcpPort: number;
}

export async function startDnsServer(o: DnsServerOptions): Promise<RunningDns> {
  const host = o.host ?? '0.0.0.0';
  const timeout = o.forwardTimeoutMs ?? 2000;
  const handle = async (raw: Buffer, udp: boolean): Promise<Buffer | undefined> => {
    const a = answerQuery(raw, o.zone(), !!o.upstream, udp ? MIN_UDP : undefined);
    if (!a) return undefined;
    if (a.kind === 'reply') return a.packet;
    const up = o.upstream as Upstream;
    return udp ? forwardUdp(raw, up, timeout) : forwardTcp(raw, up, timeout);
  };
  const udp: Socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  udp.on('message', (msg, rinfo) => {
    void handle(msg, true).then(
      (out) => out && udp.send(out, rinfo.port, rinfo.address),
      (err: unknown) => o.log?.warn({ err: String(err) }, 'dns udp query failed'),
    );
  });
  udp.on('error', (err) => o.log?.warn({ err: err.message }, 'dns udp socket error'));
  const tcp: Server = createServer((conn) => {
    let buf = Buffer.alloc(0);
    conn.setTimeout(10_000, () => conn.destroy());
    conn.on('error', () => conn.destroy());
    conn.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        void handle(Buffer.from(msg), false).then(
          (out) => {
            if (out && !conn.destroyed) conn.write(Buffer.concat([lengthPrefix(out.length), out]));
          },
          (err: unknown) => o.log?.warn({ err: String(err) }, 'dns tcp query failed'),
        );
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(o.port, host, () => resolve());
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(o.port === 0 ? udp.address().port : o.port, host, () => resolve());
  });
  const tcpAddr = tcp.address();
  return {
    udpPort: udp.address().port,
    tcpPort: typeof tcpAddr === 'object' && tcpAddr ? tcpAddr.port : o.port,
    close: async () => {
      await new Promise<void>((r) => udp.close(() => r()));
      await new Promise<void>((r) => tcp.close(() => r()));
    },
  };
}
