import { z } from 'zod';
import { ExecError, run, runRaw } from './exec.js';
import { nftApply, Transaction } from './nft.js';
import { bridgeArgv, CURRENT_NS, describeNs, ipArgv, type NsRef } from './ns.js';

/**
 * The kernel side of the VXLAN overlay: the VTEP device, its FDB / neighbour / route entries, the
 * node-wide masquerade for traffic leaving the cluster. Everything runs in a given netns (default: the
 * caller's own), argv only. Reads use `ip -json` / `bridge -json` and are
 * parsed with zod, so a changed iproute2 output format fails loudly instead of silently diffing wrong.
 */

// ---------------------------------------------------------------------------------------------------
// Device

export interface VxlanDeviceSpec {
  name: string;
  vni: number;
  /** UDP destination port (8472 is the Linux/flannel default, 4789 the IANA one). */
  port: number;
  /** Underlay IPv4 address the VTEP sends from. */
  localIP: string;
  /** Underlay interface holding localIP (optional; pins the VTEP to it like flannel's VtepDevIndex). */
  underlayDev?: string;
  mtu: number;
  /** VTEP MAC. Fixed so that a re-created device keeps the MAC the peers already point at. */
  mac: string;
}

export interface VxlanDeviceState {
  name: string;
  ifindex: number;
  mac: string;
  mtu: number;
  up: boolean;
  vni: number;
  port: number;
  localIP?: string;
  underlayDev?: string;
  learning: boolean;
}

const linkJson = z.array(
  z
    .object({
      ifindex: z.number(),
      ifname: z.string(),
      flags: z.array(z.string()).default([]),
      mtu: z.number(),
      address: z.string().optional(),
      linkinfo: z
        .object({
          info_kind: z.string().optional(),
          info_data: z
            .object({
              id: z.number().optional(),
              local: z.string().optional(),
              link: z.string().optional(),
              port: z.number().optional(),
              learning: z.boolean().optional(),
            })
            .passthrough()
            .optional(),
        })
        .passthrough()
        .optional(),
    })
    .passthrough(),
);

/** Parse `ip -json -d link show dev NAME` output (exported for unit tests). */
export function parseVxlanLink(json: string): VxlanDeviceState | undefined {
  const links = linkJson.parse(JSON.parse(json || '[]'));
  const l = links[0];
  if (!l) return undefined;
  if (l.linkinfo?.info_kind !== 'vxlan') {
    throw new Error(`${l.ifname} exists but is not a vxlan device (kind ${l.linkinfo?.info_kind ?? 'none'})`);
  }
  const d = l.linkinfo.info_data ?? {};
  return {
    name: l.ifname,
    ifindex: l.ifindex,
    mac: (l.address ?? '').toLowerCase(),
    mtu: l.mtu,
    up: l.flags.includes('UP'),
    vni: d.id ?? -1,
    port: d.port ?? -1,
    localIP: d.local,
    underlayDev: d.link,
    learning: d.learning ?? true,
  };
}

/** Why an existing device cannot be reused for this spec ('' when it can). MTU/up are fixable in place. */
export function vxlanIncompat(spec: VxlanDeviceSpec, cur: VxlanDeviceState): string {
  const bad: string[] = [];
  if (cur.vni !== spec.vni) bad.push(`vni ${cur.vni} != ${spec.vni}`);
  if (cur.port !== spec.port) bad.push(`port ${cur.port} != ${spec.port}`);
  if (cur.localIP !== spec.localIP) bad.push(`local ${cur.localIP ?? 'none'} != ${spec.localIP}`);
  if (cur.learning) bad.push('learning on');
  if (cur.mac !== spec.mac.toLowerCase()) bad.push(`mac ${cur.mac} != ${spec.mac}`);
  return bad.join(', ');
}

export async function getVxlanDevice(name: string, ns: NsRef = CURRENT_NS): Promise<VxlanDeviceState | undefined> {
  const res = await runRaw(ipArgv(ns, ['-json', '-d', 'link', 'show', 'dev', name]));
  if (res.code !== 0) {
    if (/does not exist|Cannot find device/i.test(res.stderr)) return undefined;
    throw new ExecError(ipArgv(ns, ['-json', '-d', 'link', 'show', 'dev', name]), res);
  }
  return parseVxlanLink(res.stdout);
}

export interface EnsureDeviceResult {
  device: VxlanDeviceState;
  /** 'created' when the device did not exist, 'recreated' when it existed with another configuration. */
  action: 'unchanged' | 'updated' | 'created' | 'recreated';
}

/**
 * Make the VTEP exist with exactly this configuration, up, and with `address` (the node subnet's .0 as a
 * /32, as flannel does, so the node's own traffic into the overlay has a source the peers route back).
 * Idempotent; two callers racing (agent and plugin) both end with the same device.
 */
export async function ensureVxlanDevice(
  spec: VxlanDeviceSpec,
  ns: NsRef = CURRENT_NS,
  address?: string,
): Promise<EnsureDeviceResult> {
  let action: EnsureDeviceResult['action'] = 'unchanged';
  let cur = await getVxlanDevice(spec.name, ns);
  if (cur) {
    const why = vxlanIncompat(spec, cur);
    if (why) {
      await run(ipArgv(ns, ['link', 'del', 'dev', spec.name]));
      cur = undefined;
      action = 'recreated';
    }
  }
  if (!cur) {
    const argv = ['link', 'add', spec.name, 'address', spec.mac, 'mtu', String(spec.mtu), 'type', 'vxlan'];
    argv.push('id', String(spec.vni), 'local', spec.localIP);
    if (spec.underlayDev) argv.push('dev', spec.underlayDev);
    argv.push('dstport', String(spec.port), 'nolearning');
    const res = await runRaw(ipArgv(ns, argv));
    // EEXIST: someone else (the other of agent/plugin) created it a moment ago; verify it below.
    if (res.code !== 0 && !/File exists/i.test(res.stderr)) throw new ExecError(ipArgv(ns, argv), res);
    if (action === 'unchanged') action = 'created';
    cur = await getVxlanDevice(spec.name, ns);
    if (!cur) throw new Error(`vxlan device ${spec.name} vanished right after creation`);
    const why = vxlanIncompat(spec, cur);
    if (why) throw new Error(`vxlan device ${spec.name} exists with another configuration: ${why}`);
  }
  if (cur.mtu !== spec.mtu) {
    await run(ipArgv(ns, ['link', 'set', 'dev', spec.name, 'mtu', String(spec.mtu)]));
    if (action === 'unchanged') action = 'updated';
  }
  if (!cur.up) {
    await run(ipArgv(ns, ['link', 'set', 'dev', spec.name, 'up']));
    if (action === 'unchanged') action = 'updated';
  }
  if (address) {
    // `replace` is idempotent for an address that is already there.
    await run(ipArgv(ns, ['addr', 'replace', address, 'dev', spec.name]));
  }
  if (action === 'unchanged') return { device: cur, action };
  const device = await getVxlanDevice(spec.name, ns);
  if (!device) throw new Error(`vxlan device ${spec.name} vanished while configuring it`);
  return { device, action };
}

const addrJson = z.array(
  z
    .object({
      ifname: z.string(),
      mtu: z.number(),
      addr_info: z
        .array(z.object({ family: z.string(), local: z.string(), prefixlen: z.number() }).passthrough())
        .default([]),
    })
    .passthrough(),
);

/** Parse `ip -json addr show` and find the interface holding `ip` (exported for unit tests). */
export function findInterfaceByAddress(json: string, ip: string): { name: string; mtu: number } | undefined {
  for (const l of addrJson.parse(JSON.parse(json || '[]'))) {
    if (l.addr_info.some((a) => a.local === ip)) return { name: l.ifname, mtu: l.mtu };
  }
  return undefined;
}

/** The interface carrying the underlay address, with its MTU (the VTEP's MTU is 50 bytes less). */
export async function underlayInterface(ip: string, ns: NsRef = CURRENT_NS): Promise<{ name: string; mtu: number }> {
  const out = await run(ipArgv(ns, ['-json', 'addr', 'show']));
  const found = findInterfaceByAddress(out, ip);
  if (!found)
    throw new Error(
      `no interface has the underlay address ${ip}${ns.kind === 'current' ? '' : ` in ${describeNs(ns)}`}`,
    );
  return found;
}

// ---------------------------------------------------------------------------------------------------
// FDB, neighbours, routes: read as typed JSON, changed as a batch of plain-data operations.

export interface FdbEntry {
  mac: string;
  dst: string;
}
export interface NeighEntry {
  ip: string;
  mac: string;
}
export interface RouteEntry {
  /** Destination CIDR, e.g. 10.244.2.0/24. */
  dst: string;
  via: string;
}
export interface OverlayEntries {
  fdb: FdbEntry[];
  neigh: NeighEntry[];
  routes: RouteEntry[];
}

/** One kernel change on the VTEP. `fdb-replace` rather than append: a unicast MAC has exactly one remote. */
export type OverlayOp =
  | { op: 'fdb-replace'; entry: FdbEntry }
  | { op: 'fdb-del'; entry: FdbEntry }
  | { op: 'neigh-replace'; entry: NeighEntry }
  | { op: 'neigh-del'; entry: NeighEntry }
  | { op: 'route-replace'; entry: RouteEntry }
  | { op: 'route-del'; entry: RouteEntry };

const fdbJson = z.array(
  z.object({ mac: z.string(), dst: z.string().optional(), state: z.string().optional() }).passthrough(),
);
const neighJson = z.array(
  z.object({ dst: z.string(), lladdr: z.string().optional(), state: z.array(z.string()).default([]) }).passthrough(),
);
const routeJson = z.array(
  z.object({ dst: z.string(), gateway: z.string().optional(), flags: z.array(z.string()).default([]) }).passthrough(),
);

/** Remote entries only: entries without a dst (the device's own, multicast) are not ours to manage. */
export function parseFdb(json: string): FdbEntry[] {
  return fdbJson
    .parse(JSON.parse(json || '[]'))
    .filter((e) => e.dst !== undefined)
    .map((e) => ({ mac: e.mac.toLowerCase(), dst: e.dst as string }));
}

/** PERMANENT entries only: those are the ones we write; the kernel's own (STALE, FAILED...) are left alone. */
export function parseNeigh(json: string): NeighEntry[] {
  return neighJson
    .parse(JSON.parse(json || '[]'))
    .filter((e) => e.state.includes('PERMANENT') && e.lladdr)
    .map((e) => ({ ip: e.dst, mac: (e.lladdr as string).toLowerCase() }));
}

/** Routes through a gateway on the VTEP; host routes without a gateway are not ours. */
export function parseRoutes(json: string): RouteEntry[] {
  return routeJson
    .parse(JSON.parse(json || '[]'))
    .filter((e) => e.gateway !== undefined)
    .map((e) => ({ dst: e.dst.includes('/') ? e.dst : `${e.dst}/32`, via: e.gateway as string }));
}

/** The entries currently on the device, or undefined when the device does not exist. */
export async function readOverlayEntries(dev: string, ns: NsRef = CURRENT_NS): Promise<OverlayEntries | undefined> {
  const [fdb, neigh, routes] = await Promise.all([
    runRaw(bridgeArgv(ns, ['-json', 'fdb', 'show', 'dev', dev])),
    runRaw(ipArgv(ns, ['-json', 'neigh', 'show', 'dev', dev])),
    runRaw(ipArgv(ns, ['-json', 'route', 'show', 'dev', dev])),
  ]);
  for (const r of [fdb, neigh, routes]) {
    if (r.code !== 0) {
      if (/Cannot find device|does not exist/i.test(r.stderr)) return undefined;
      throw new Error(`reading ${dev} state: ${r.stderr.trim()}`);
    }
  }
  return { fdb: parseFdb(fdb.stdout), neigh: parseNeigh(neigh.stdout), routes: parseRoutes(routes.stdout) };
}

/** The iproute2 batch line for one op (exported for unit tests). `tool` says which batch it belongs to. */
export function renderOverlayOp(o: OverlayOp, dev: string): { tool: 'ip' | 'bridge'; line: string } {
  switch (o.op) {
    case 'fdb-replace':
      return { tool: 'bridge', line: `fdb replace ${o.entry.mac} dev ${dev} dst ${o.entry.dst} self permanent` };
    case 'fdb-del':
      return { tool: 'bridge', line: `fdb del ${o.entry.mac} dev ${dev} dst ${o.entry.dst} self` };
    case 'neigh-replace':
      return { tool: 'ip', line: `neigh replace ${o.entry.ip} lladdr ${o.entry.mac} dev ${dev} nud permanent` };
    case 'neigh-del':
      return { tool: 'ip', line: `neigh del ${o.entry.ip} dev ${dev}` };
    case 'route-replace':
      return { tool: 'ip', line: `route replace ${o.entry.dst} via ${o.entry.via} dev ${dev} onlink` };
    case 'route-del':
      return { tool: 'ip', line: `route del ${o.entry.dst} via ${o.entry.via} dev ${dev}` };
  }
}

const SAFE_TOKEN = /^[A-Za-z0-9.:/_-]+$/;

/**
 * Apply ops in the given order, grouped into as few `ip -batch` / `bridge -batch` runs as the order allows
 * (consecutive ops of the same tool share a batch). Every token is checked against a strict character set
 * first, since batch lines are split on whitespace by iproute2. `-force` keeps going past a failed line so
 * one bad peer does not block the rest; the error (if any) is thrown after everything was tried.
 */
export async function applyOverlayOps(ops: readonly OverlayOp[], dev: string, ns: NsRef = CURRENT_NS): Promise<void> {
  if (!SAFE_TOKEN.test(dev)) throw new Error(`unsafe device name ${JSON.stringify(dev)}`);
  const groups: { tool: 'ip' | 'bridge'; lines: string[] }[] = [];
  for (const o of ops) {
    for (const v of Object.values(o.entry)) {
      if (!SAFE_TOKEN.test(String(v))) throw new Error(`unsafe value ${JSON.stringify(v)} in ${o.op}`);
    }
    const { tool, line } = renderOverlayOp(o, dev);
    const last = groups[groups.length - 1];
    if (last && last.tool === tool) last.lines.push(line);
    else groups.push({ tool, lines: [line] });
  }
  const errors: string[] = [];
  for (const g of groups) {
    const argv = g.tool === 'ip' ? ipArgv(ns, ['-force', '-batch', '-']) : bridgeArgv(ns, ['-force', '-batch', '-']);
    const res = await runRaw(argv, { input: g.lines.join('\n') + '\n' });
    if (res.code !== 0) errors.push(res.stderr.trim() || `${g.tool} -batch exit ${res.code}`);
  }
  if (errors.length) throw new Error(`applying overlay changes on ${dev}: ${errors.join('; ')}`);
}

// ---------------------------------------------------------------------------------------------------
// Masquerade for pod traffic leaving the cluster network (pod-to-pod keeps its source address).

const VXLAN_NAT_TABLE = { family: 'ip', name: 'skiff-vxlan' } as const;

/** The whole table, rebuilt atomically each time: idempotent and self-healing. */
export function masqueradeTransaction(clusterCIDR: string, podSubnet: string): Transaction {
  const t = VXLAN_NAT_TABLE;
  return new Transaction()
    .add({ verb: 'add', kind: 'table', table: t })
    .add({ verb: 'delete', kind: 'table', table: t })
    .add({ verb: 'add', kind: 'table', table: t, comment: 'skiff vxlan overlay masquerade' })
    .add({
      verb: 'add',
      kind: 'chain',
      table: t,
      name: 'postrouting',
      spec: 'type nat hook postrouting priority 100; policy accept;',
    })
    .add({
      verb: 'add',
      kind: 'rule',
      table: t,
      chain: 'postrouting',
      rule: `ip saddr ${podSubnet} ip daddr != ${clusterCIDR} ip daddr != 224.0.0.0/4 masquerade`,
      comment: 'pods leaving the cluster network',
    });
}

export async function ensureMasquerade(clusterCIDR: string, podSubnet: string, ns: NsRef = CURRENT_NS): Promise<void> {
  for (const c of [clusterCIDR, podSubnet]) {
    if (!/^[0-9.]+\/[0-9]+$/.test(c)) throw new Error(`not an IPv4 CIDR: ${JSON.stringify(c)}`);
  }
  await nftApply(masqueradeTransaction(clusterCIDR, podSubnet), ns);
}
