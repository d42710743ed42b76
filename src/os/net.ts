import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { run, runRaw, type RunResult } from './exec.js';
import { inNs, ipArgv, type NsRef } from './ns.js';

/**
 * Links, addresses, routes and sysctls through iproute2. Changes are plain data rendered to `ip -batch -`
 * lines and applied in one process per namespace (process starts dominate a CNI call's cost). Namespaces are
 * NsRefs (ns.ts). Every operation here is idempotent or says what it does when the object is absent.
 */
export type NetOp =
  | { op: 'bridge-add'; name: string; mtu?: number; vlanFiltering?: boolean; mac?: string }
  | {
      op: 'veth-add';
      name: string;
      mac?: string;
      peer: string;
      peerMac?: string;
      mtu?: number;
      /** Where the peer goes: a named netns or a pid whose netns it should join. */
      peerNs?: string | number;
    }
  | {
      op: 'link-set';
      name: string;
      up?: boolean;
      master?: string;
      promisc?: boolean;
      mtu?: number;
      /** the link's alias (ifalias), one batch token */
      alias?: string;
    }
  | { op: 'link-del'; name: string }
  /** an ifb device (ingress shaping), up, with no transmit queue of its own */
  | { op: 'ifb-add'; name: string; mtu?: number }
  | { op: 'hairpin'; name: string; on: boolean }
  | { op: 'addr-add'; dev: string; cidr: string; replace?: boolean }
  | {
      op: 'route-add';
      dev: string;
      dst: string;
      via?: string;
      mtu?: number;
      advmss?: number;
      metric?: number;
      table?: number;
      scope?: number;
      onlink?: boolean;
    };

export function renderNetOp(o: NetOp): string {
  switch (o.op) {
    case 'bridge-add':
      return [
        'link add name',
        o.name,
        ...(o.mac ? ['address', o.mac] : []),
        ...(o.mtu ? ['mtu', String(o.mtu)] : []),
        'type bridge',
        ...(o.vlanFiltering ? ['vlan_filtering 1'] : []),
      ].join(' ');
    case 'veth-add':
      return [
        'link add name',
        o.name,
        ...(o.mac ? ['address', o.mac] : []),
        ...(o.mtu ? ['mtu', String(o.mtu)] : []),
        'type veth peer name',
        o.peer,
        ...(o.peerMac ? ['address', o.peerMac] : []),
        ...(o.mtu ? ['mtu', String(o.mtu)] : []),
        ...(o.peerNs !== undefined ? ['netns', String(o.peerNs)] : []),
      ].join(' ');
    case 'link-set':
      return [
        'link set dev',
        o.name,
        ...(o.master ? ['master', o.master] : []),
        ...(o.mtu ? ['mtu', String(o.mtu)] : []),
        ...(o.promisc !== undefined ? ['promisc', o.promisc ? 'on' : 'off'] : []),
        ...(o.alias ? ['alias', o.alias] : []),
        ...(o.up !== undefined ? [o.up ? 'up' : 'down'] : []),
      ].join(' ');
    case 'link-del':
      return `link del dev ${o.name}`;
    case 'ifb-add':
      return ['link add name', o.name, ...(o.mtu ? ['mtu', String(o.mtu)] : []), 'txqueuelen 0 up type ifb'].join(' ');
    case 'hairpin':
      return `link set dev ${o.name} type bridge_slave hairpin ${o.on ? 'on' : 'off'}`;
    case 'addr-add': {
      const v6 = o.cidr.includes(':');
      // IPv6 DAD would hold the address "tentative" for a second or two after ADD returns.
      return `addr ${o.replace ? 'replace' : 'add'} ${o.cidr} dev ${o.dev}${v6 ? ' nodad' : ''}`;
    }
    case 'route-add': {
      // Batch lines take no -4/-6 option: the family comes from the (always explicit) dst prefix.
      return [
        'route add',
        o.dst,
        ...(o.via ? ['via', o.via] : []),
        'dev',
        o.dev,
        ...(o.onlink ? ['onlink'] : []),
        ...(o.metric !== undefined ? ['metric', String(o.metric)] : []),
        ...(o.table !== undefined ? ['table', String(o.table)] : []),
        ...(o.scope !== undefined ? ['scope', String(o.scope)] : []),
        ...(o.mtu ? ['mtu', String(o.mtu)] : []),
        ...(o.advmss ? ['advmss', String(o.advmss)] : []),
      ].join(' ');
    }
  }
}

/** Names must be safe as one batch-line token (the kernel's own rules are stricter still). */
function checkToken(s: string): void {
  if (!/^[A-Za-z0-9_.:/@%-]+$/.test(s)) throw new Error(`unsafe name for ip batch: ${JSON.stringify(s)}`);
}

/** Apply ops in one `ip -batch -` in ns; all-or-error (ip stops at the first failing line). */
export async function applyNetOps(ns: NsRef, ops: readonly NetOp[]): Promise<void> {
  if (!ops.length) return;
  const lines = ops.map((o) => {
    const line = renderNetOp(o);
    line.split(' ').forEach(checkToken);
    return line;
  });
  await run(ipArgv(ns, ['-batch', '-']), { input: lines.join('\n') + '\n' });
}

/**
 * applyNetOps, then `link show dev <show>` in the same `ip` process (one process start less than a separate
 * read); resolves to that link. Fails like applyNetOps (nothing after the first failing line runs).
 */
export async function applyNetOpsAndShow(ns: NsRef, ops: readonly NetOp[], show: string): Promise<IpLink | undefined> {
  checkToken(show);
  const lines = ops.map((o) => {
    const line = renderNetOp(o);
    line.split(' ').forEach(checkToken);
    return line;
  });
  lines.push(`link show dev ${show}`);
  const out = await run(ipArgv(ns, ['-d', '-j', '-batch', '-']), { input: lines.join('\n') + '\n' });
  // Only the show line prints (one JSON array); the changes print nothing.
  const json = out.slice(out.indexOf('['), out.lastIndexOf(']') + 1);
  return json ? (JSON.parse(json) as IpLink[])[0] : undefined;
}

export interface IpLink {
  ifname: string;
  ifindex: number;
  address?: string;
  mtu?: number;
  operstate?: string;
  flags?: string[];
  master?: string;
  link_netnsid?: number;
  /** a veth's peer ifindex (in the peer's namespace) */
  link_index?: number;
  ifalias?: string;
  linkinfo?: {
    info_kind?: string;
    info_slave_kind?: string;
    info_slave_data?: Record<string, unknown>;
    info_data?: Record<string, unknown>;
  };
  addr_info?: { family: string; local: string; prefixlen: number; label?: string; nodad?: boolean }[];
}

/** One link (with -details), or undefined when it does not exist. */
export async function getLink(ns: NsRef, name: string): Promise<IpLink | undefined> {
  const r = await runRaw(ipArgv(ns, ['-d', '-j', 'link', 'show', 'dev', name]));
  if (r.code !== 0) {
    if (/does not exist|Cannot find device/.test(r.stderr)) return undefined;
    throw new Error(`ip link show ${name}: ${r.stderr.trim()}`);
  }
  return (JSON.parse(r.stdout || '[]') as IpLink[])[0];
}

export async function getAddrs(ns: NsRef, dev?: string): Promise<IpLink[]> {
  const r = await runRaw(ipArgv(ns, ['-j', 'addr', 'show', ...(dev ? ['dev', dev] : [])]));
  if (r.code !== 0) {
    if (/does not exist|Cannot find device/.test(r.stderr)) return [];
    throw new Error(`ip addr show: ${r.stderr.trim()}`);
  }
  return JSON.parse(r.stdout || '[]') as IpLink[];
}

export interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  metric?: number;
  flags?: string[];
}

export interface RouteFilter {
  dev?: string;
  /** Routing protocol (name or number, e.g. 252): how a component tags and later finds its own routes. */
  proto?: string;
  /** Routing table (number, name or "all"). */
  table?: string;
}

export async function getRoutes(ns: NsRef, family: 4 | 6, filter: RouteFilter = {}): Promise<IpRoute[]> {
  const args = [family === 6 ? '-6' : '-4', '-j', 'route', 'show', ...routeSelector(filter)];
  const r = await runRaw(ipArgv(ns, args));
  if (r.code !== 0) {
    if (/does not exist|Cannot find device/.test(r.stderr)) return [];
    throw new Error(`ip route show: ${r.stderr.trim()}`);
  }
  return JSON.parse(r.stdout || '[]') as IpRoute[];
}

function routeSelector(f: RouteFilter): string[] {
  return [
    ...(f.table ? ['table', f.table] : []),
    ...(f.proto ? ['proto', f.proto] : []),
    ...(f.dev ? ['dev', f.dev] : []),
  ];
}

export interface RouteSpec {
  dst: string;
  via?: string;
  dev?: string;
  proto?: string;
}

/** Install or update a route (`ip route replace`: idempotent). */
export async function replaceRoute(ns: NsRef, r: RouteSpec): Promise<void> {
  await run(
    ipArgv(ns, [
      'route',
      'replace',
      r.dst,
      ...(r.via ? ['via', r.via] : []),
      ...(r.dev ? ['dev', r.dev] : []),
      ...(r.proto ? ['proto', r.proto] : []),
    ]),
  );
}

/** Remove a route; false when there was none to remove. */
export async function deleteRoute(ns: NsRef, r: Pick<RouteSpec, 'dst' | 'proto'>): Promise<boolean> {
  const res = await runRaw(ipArgv(ns, ['route', 'del', r.dst, ...(r.proto ? ['proto', r.proto] : [])]));
  if (res.code === 0) return true;
  if (/No such process|not found/i.test(res.stderr)) return false;
  throw new Error(`ip route del ${r.dst}: ${res.stderr.trim()}`);
}

/** Add or refresh an address on dev (`ip addr replace`: idempotent), optionally with a label. */
export async function replaceAddr(ns: NsRef, dev: string, cidr: string, label?: string): Promise<void> {
  await run(ipArgv(ns, ['addr', 'replace', cidr, 'dev', dev, ...(label ? ['label', label] : [])]));
}

/** Every link (with -details), or those of one kind (`type ifb`, `type veth`, ...). */
export async function listLinks(ns: NsRef, kind?: string): Promise<IpLink[]> {
  if (kind) checkToken(kind);
  return JSON.parse(
    (await run(ipArgv(ns, ['-d', '-j', 'link', 'show', ...(kind ? ['type', kind] : [])]))) || '[]',
  ) as IpLink[];
}

/** Remove an address from dev; false when it was not there. */
export async function deleteAddr(ns: NsRef, dev: string, cidr: string): Promise<boolean> {
  const res = await runRaw(ipArgv(ns, ['addr', 'del', cidr, 'dev', dev]));
  if (res.code === 0) return true;
  if (/Cannot assign requested address|does not exist|Cannot find device/i.test(res.stderr)) return false;
  throw new Error(`ip addr del ${cidr} dev ${dev}: ${res.stderr.trim()}`);
}

/** Delete a link; false when it was already gone. */
export async function deleteLink(ns: NsRef, name: string): Promise<boolean> {
  const r: RunResult = await runRaw(ipArgv(ns, ['link', 'del', 'dev', name]));
  if (r.code === 0) return true;
  if (/does not exist|Cannot find device/.test(r.stderr)) return false;
  throw new Error(`ip link del ${name}: ${r.stderr.trim()}`);
}

/** Write a sysctl of this process's own namespace (e.g. net.ipv4.ip_forward), via /proc/sys. */
export function setLocalSysctl(key: string, value: string): void {
  const path = sysctlPath(key);
  try {
    if (readFileSync(path, 'utf8').trim() === value) return;
  } catch {
    /* fall through to the write, which reports the real error */
  }
  writeFileSync(path, value);
}

/** Whether this namespace has the sysctl (e.g. net.ipv4.conf.eth0.route_localnet exists only while eth0 does). */
export function hasLocalSysctl(key: string): boolean {
  return existsSync(sysctlPath(key));
}

function sysctlPath(key: string): string {
  if (!/^[a-z0-9_.-]+$/i.test(key)) throw new Error(`invalid sysctl key ${key}`);
  return `/proc/sys/${key.replace(/\./g, '/')}`;
}

/** Set a sysctl inside another namespace. */
export async function setSysctl(ns: NsRef, key: string, value: string): Promise<void> {
  if (ns.kind === 'current') return setLocalSysctl(key, value);
  await run(inNs(ns, ['sysctl', '-q', '-w', `${key}=${value}`]));
}

/** VLAN membership on a bridge port (`bridge vlan add`). */
export async function bridgeVlanAdd(ns: NsRef, dev: string, vid: number, pvidUntagged: boolean): Promise<void> {
  await run(
    inNs(ns, ['bridge', 'vlan', 'add', 'dev', dev, 'vid', String(vid), ...(pvidUntagged ? ['pvid', 'untagged'] : [])]),
  );
}

/** Create a bridge unless it exists (a concurrent creator winning the race is fine); returns the link. */
export async function ensureBridge(
  ns: NsRef,
  br: { name: string; mtu?: number; vlanFiltering?: boolean; mac?: string },
): Promise<IpLink> {
  let link = await getLink(ns, br.name);
  if (!link) {
    const r = await runRaw(ipArgv(ns, ['-batch', '-']), { input: `${renderNetOp({ op: 'bridge-add', ...br })}\n` });
    link = await getLink(ns, br.name);
    if (!link) throw new Error(`could not create bridge ${br.name}: ${r.stderr.trim()}`);
  }
  return link;
}
