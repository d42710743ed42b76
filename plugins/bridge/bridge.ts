import { existsSync } from 'node:fs';
import { z } from 'zod';
import {
  applyNetOps,
  applyNetOpsAndShow,
  bridgeVlanAdd,
  deleteAddr,
  deleteLink,
  ensureBridge,
  getAddrs,
  getLink,
  getRoutes,
  type IpLink,
  type NetOp,
  setLocalSysctl,
} from '../../src/os/net.js';
import { CURRENT_NS, nsFromPath } from '../../src/os/ns.js';
import { CniCode, CniError } from '../../src/cni/errors.js';
import { errorMessage } from '../../src/util/errors.js';
import { ipamAdd, ipamCheck, ipamDel, ipamGc, ipamStatus } from '../../src/cni/ipam/index.js';
import { parseCidr } from '../../src/net/cidr.js';
import { attach, detach, gcAttachments, type Layout } from '../../src/cni/nftattach.js';
import { attachmentComment, attachmentHash, hostVethName, macFromSeed } from '../../src/cni/names.js';
import type { CniArgs, CniPlugin, PluginConf } from '../../src/cni/skel.js';
import { type Attachment, ipamConfSchema, netConfSchema, type Result, type Route } from '../../src/cni/spec/types.js';

/**
 * bridge: a Linux bridge on the node, a veth pair into the pod with the requested name, addresses and routes
 * from IPAM. Every kernel change of one ADD is batched into as few `ip`/`nft` processes as possible: a node
 * batch, a pod batch, and one nft transaction.
 */
export const bridgeConfSchema = netConfSchema.extend({
  bridge: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,15}$/, 'bridge: 1-15 letters, digits, _ . -')
    .default('cni0'),
  isGateway: z.boolean().default(false),
  isDefaultGateway: z.boolean().default(false),
  forceAddress: z.boolean().default(false),
  ipMasq: z.boolean().default(false),
  mtu: z.number().int().min(68).max(65535).optional(),
  hairpinMode: z.boolean().default(false),
  promiscMode: z.boolean().default(false),
  vlan: z.number().int().min(0).max(4094).optional(),
  macspoofchk: z.boolean().default(false),
  ipam: ipamConfSchema.optional(),
});
type BridgeConf = PluginConf<z.infer<typeof bridgeConfSchema>>;

const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/**
 * The pod interface's MAC when the runtime asks for one, with the reference's precedence: the `mac`
 * capability (runtimeConfig.mac) over `args.cni.mac` over `CNI_ARGS` `MAC=`.
 */
function requestedMac(
  args: Pick<CniArgs, 'args'>,
  conf: Pick<BridgeConf, 'runtimeConfig' | 'args'>,
): string | undefined {
  const cni = (conf.args as { cni?: { mac?: unknown } } | undefined)?.cni;
  const sources: [unknown, string, number][] = [
    [conf.runtimeConfig?.mac, 'runtimeConfig.mac', CniCode.InvalidNetworkConfig],
    [cni?.mac, 'args.cni.mac', CniCode.InvalidNetworkConfig],
    [args.args.MAC, 'CNI_ARGS MAC', CniCode.InvalidEnvironment],
  ];
  for (const [v, where, code] of sources) {
    if (v === undefined || v === '') continue;
    if (typeof v !== 'string' || !MAC.test(v)) throw new CniError(code, `invalid MAC ${JSON.stringify(v)} in ${where}`);
    return v.toLowerCase();
  }
  return undefined;
}

/**
 * ipMasq, keyed per attachment as the reference's ipmasq is (a chain per network + container + interface,
 * its rules commented with them): the postrouting chain maps a pod address to its attachment's chain. A
 * reused address is taken over by the newest ADD (a stale attachment cannot block or, at its DEL, undo it).
 */
const MASQ_LAYOUT: Layout = {
  table: { family: 'inet', name: 'skiff_cni_masq' },
  maps: [
    { name: 'masq4', spec: 'type ipv4_addr : verdict;' },
    { name: 'masq6', spec: 'type ipv6_addr : verdict;' },
  ],
  takeover: ['masq4', 'masq6'],
  baseChains: [
    {
      name: 'postrouting',
      spec: 'type nat hook postrouting priority 100; policy accept;',
      rules: ['ip saddr vmap @masq4', 'ip6 saddr vmap @masq6'],
    },
  ],
};

const MACSPOOF_LAYOUT: Layout = {
  table: { family: 'bridge', name: 'skiff_cni_macspoof' },
  maps: [{ name: 'ports', spec: 'type ifname : verdict;' }],
  baseChains: [
    {
      name: 'prerouting',
      spec: 'type filter hook prerouting priority -300; policy accept;',
      rules: ['iifname vmap @ports'],
    },
  ],
};

const MASQ_PREFIX = 'masq-';
const SPOOF_PREFIX = 'spoof-';

function masqChain(network: string, a: CniArgs): string {
  return `${MASQ_PREFIX}${attachmentHash(network, a.containerId, a.ifname)}`;
}
function spoofChain(network: string, a: CniArgs): string {
  return `${SPOOF_PREFIX}${attachmentHash(network, a.containerId, a.ifname)}`;
}

function masqElements(addresses: string[]): { map: string; key: string }[] {
  return addresses.map((a) => {
    const ip = a.split('/')[0] as string;
    return { map: ip.includes(':') ? 'masq6' : 'masq4', key: ip };
  });
}

/** Wait for every promise (none is left running behind an early failure), then throw the first failure. */
async function allValues<T extends readonly unknown[]>(ps: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const rs = await Promise.allSettled(ps);
  const bad = rs.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (bad) throw bad.reason;
  return rs.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** A promise awaited later: marked handled now, so a failure meanwhile is not an unhandled rejection. */
function started<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

async function allDone(ps: Promise<void>[]): Promise<void> {
  await allValues(ps);
}

function requireNetns(path: string): void {
  if (!existsSync(path))
    throw new CniError(CniCode.UnknownContainer, `failed to open netns "${path}": no such file or directory`);
}

function isV6(cidrOrIp: string): boolean {
  return cidrOrIp.includes(':');
}

/** Routes the pod gets: IPAM's, with a gateway filled in per family, plus defaults for isDefaultGateway. */
function podRoutes(conf: BridgeConf, res: Result): Route[] {
  const routes = [...(res.routes ?? [])];
  if (conf.isDefaultGateway) {
    for (const fam of [4, 6]) {
      const ip = res.ips?.find((i) => (fam === 6) === isV6(i.address) && i.gateway);
      const dst = fam === 6 ? '::/0' : '0.0.0.0/0';
      if (ip && !routes.some((r) => r.dst === dst)) routes.push({ dst, gw: ip.gateway });
    }
  }
  return routes;
}

async function bridgeAdd(args: CniArgs, conf: BridgeConf): Promise<Result> {
  requireNetns(args.netns);
  const isGateway = conf.isGateway || conf.isDefaultGateway;
  const node = CURRENT_NS;
  const pod = nsFromPath(args.netns);
  const br = conf.bridge;
  const hostVeth = hostVethName(conf.name, args.containerId, args.ifname);
  const hostMac = macFromSeed(`host:${hostVeth}`);
  const podMac = requestedMac(args, conf) ?? macFromSeed(`pod:${conf.name}:${args.containerId}:${args.ifname}`);

  const res: Result = conf.ipam
    ? await ipamAdd(args, conf.name, conf.cniVersion, conf.ipam)
    : { cniVersion: conf.cniVersion };
  // The node's nftables need only the addresses: one `nft` process runs alongside the `ip` work below.
  const nftWork: Promise<void>[] = [];
  try {
    const comment = attachmentComment(conf.name, args.containerId, args.ifname);
    if (conf.ipMasq && res.ips?.length) {
      const rules: string[] = [];
      for (const ip of res.ips) {
        const subnet = parseCidr(ip.address).toString();
        rules.push(isV6(ip.address) ? `ip6 daddr ${subnet} return` : `ip daddr ${subnet} return`);
      }
      rules.push('ip daddr 224.0.0.0/4 return', 'ip6 daddr ff00::/8 return', 'masquerade');
      nftWork.push(
        started(
          attach(MASQ_LAYOUT, {
            chain: masqChain(conf.name, args),
            comment,
            rules,
            elements: masqElements(res.ips.map((i) => i.address)),
          }),
        ),
      );
    }
    if (conf.macspoofchk) {
      nftWork.push(
        started(
          attach(MACSPOOF_LAYOUT, {
            chain: spoofChain(conf.name, args),
            comment,
            rules: [`ether saddr != ${podMac} drop`],
            elements: [{ map: 'ports', key: `"${hostVeth}"` }],
          }),
        ),
      );
    }
    const nodeOps: NetOp[] = [{ op: 'link-set', name: br, up: true, ...(conf.promiscMode ? { promisc: true } : {}) }];
    if (isGateway) {
      const gateways = (res.ips ?? []).flatMap((ip) =>
        ip.gateway ? [`${ip.gateway}/${ip.address.split('/')[1] as string}`] : [],
      );
      await clearConflictingAddrs(br, gateways, conf.forceAddress);
      for (const cidr of gateways) nodeOps.push({ op: 'addr-add', dev: br, cidr, replace: true });
    }
    const pathNs = pod.kind === 'path';
    if (!pathNs) {
      nodeOps.push({
        op: 'veth-add',
        name: hostVeth,
        mac: hostMac,
        peer: args.ifname,
        peerMac: podMac,
        mtu: conf.mtu,
        peerNs: (pod as { name: string }).name,
      });
    } else {
      // A netns known only by path: create the pair from inside it and send the host end to our own netns.
      await applyNetOps(pod, [
        {
          op: 'veth-add',
          name: args.ifname,
          mac: podMac,
          peer: hostVeth,
          peerMac: hostMac,
          mtu: conf.mtu,
          peerNs: process.pid,
        },
      ]);
    }
    nodeOps.push({ op: 'link-set', name: hostVeth, master: br, up: true });
    if (conf.hairpinMode) nodeOps.push({ op: 'hairpin', name: hostVeth, on: true });
    const brLink = await nodeBatch(conf, nodeOps);
    if (conf.vlan) {
      await bridgeVlanAdd(node, hostVeth, conf.vlan, true);
    }

    const routes = podRoutes(conf, res);
    const podOps: NetOp[] = [{ op: 'link-set', name: args.ifname, up: true }];
    for (const ip of res.ips ?? []) podOps.push({ op: 'addr-add', dev: args.ifname, cidr: ip.address });
    for (const r of routes) {
      const gw = r.gw ?? res.ips?.find((i) => isV6(i.address) === isV6(r.dst) && i.gateway)?.gateway;
      podOps.push({
        op: 'route-add',
        dev: args.ifname,
        dst: r.dst,
        via: gw,
        mtu: r.mtu,
        advmss: r.advmss,
        metric: r.priority,
        table: r.table,
        scope: r.scope,
      });
    }

    if (isGateway) {
      // This namespace is the node's (the runtime runs us there): forwarding on, as the reference does.
      if (res.ips?.some((i) => !isV6(i.address))) setLocalSysctl('net.ipv4.ip_forward', '1');
      if (res.ips?.some((i) => isV6(i.address))) setLocalSysctl('net.ipv6.conf.all.forwarding', '1');
    }
    await applyNetOps(pod, podOps);
    await allDone(nftWork);
    return {
      cniVersion: conf.cniVersion,
      interfaces: [
        { name: br, mac: brLink.address },
        { name: hostVeth, mac: hostMac },
        { name: args.ifname, mac: podMac, sandbox: args.netns, ...(conf.mtu ? { mtu: conf.mtu } : {}) },
      ],
      ips: (res.ips ?? []).map((ip) => ({ ...ip, interface: 2 })),
      ...(routes.length ? { routes } : {}),
      ...(conf.dns ? { dns: conf.dns } : res.dns ? { dns: res.dns } : {}),
    };
  } catch (err) {
    // Undo what this ADD did, so a failed ADD leaks nothing (the runtime may not call DEL); first let any
    // nft change still in flight finish, so its undo cannot overtake it.
    await Promise.allSettled(nftWork);
    await deleteLink(node, hostVeth).catch(() => undefined);
    if (conf.ipMasq) await detach(MASQ_LAYOUT, masqChain(conf.name, args), []).catch(() => undefined);
    if (conf.macspoofchk) await detach(MACSPOOF_LAYOUT, spoofChain(conf.name, args), []).catch(() => undefined);
    if (conf.ipam) await ipamDel(args, conf.name, conf.cniVersion, conf.ipam).catch(() => undefined);
    throw err;
  }
}

/**
 * The reference's rule for the gateway address: another IPv4 address on the bridge (or an IPv6 one whose
 * subnet overlaps the gateway's) is an error, unless `forceAddress`, which replaces it.
 */
async function clearConflictingAddrs(br: string, gateways: string[], force: boolean): Promise<void> {
  if (!gateways.length) return;
  const have = (await getAddrs(CURRENT_NS, br)).flatMap((l) => l.addr_info ?? []);
  for (const gw of gateways) {
    const want = parseCidr(gw);
    const [wantIp] = gw.split('/');
    for (const a of have) {
      if (a.local === wantIp || a.local.startsWith('fe80:') || (a.family === 'inet6') !== isV6(gw)) continue;
      const other = parseCidr(`${a.local}/${a.prefixlen}`);
      if (isV6(gw) && !other.contains(wantIp as string) && !want.contains(a.local)) continue;
      if (!force) throw new CniError(CniCode.PluginSpecific, `"${br}" already has an IP address different from ${gw}`);
      await deleteAddr(CURRENT_NS, br, `${a.local}/${a.prefixlen}`);
    }
  }
}

/**
 * The node's changes in one `ip` process that also reads the bridge back (its MAC goes into the result).
 * Almost always the bridge exists; when the batch fails because it does not, create it (once per node; a
 * concurrent ADD may win that race, which is fine) and run the batch again.
 */
async function nodeBatch(conf: BridgeConf, ops: NetOp[]): Promise<IpLink> {
  const br = conf.bridge;
  let link: IpLink | undefined;
  try {
    link = await applyNetOpsAndShow(CURRENT_NS, ops, br);
  } catch (err) {
    const cur = await getLink(CURRENT_NS, br);
    if (cur && cur.linkinfo?.info_kind !== 'bridge')
      throw new CniError(CniCode.PluginSpecific, `${br} already exists but is not a bridge`);
    // the bridge exists now: a concurrent ADD created it after our batch failed on its absence (run ours
    // again), or the batch failed for another reason (that is the error)
    if (cur && !errorMessage(err).includes(`Cannot find device "${br}"`)) throw err;
    if (!cur) {
      await ensureBridge(CURRENT_NS, {
        name: br,
        mtu: conf.mtu,
        vlanFiltering: conf.vlan !== undefined,
        mac: macFromSeed(`bridge:${br}`),
      });
    }
    link = await applyNetOpsAndShow(CURRENT_NS, ops, br);
  }
  if (link?.linkinfo?.info_kind !== 'bridge')
    throw new CniError(CniCode.PluginSpecific, `${br} already exists but is not a bridge`);
  return link;
}

/**
 * DEL: succeeds when the netns, the veth or the allocation are already gone. The attachment's nft state goes
 * first (alongside the veth), and only then the address: released while its masquerade rule still existed,
 * the address could go to a new pod whose traffic that stale rule would still claim.
 */
async function bridgeDel(args: CniArgs, conf: BridgeConf): Promise<void> {
  const hostVeth = hostVethName(conf.name, args.containerId, args.ifname);
  // prevResult names the map keys (one nft process); without it detach reads the table.
  const prevIps = (conf.prevResult?.ips ?? []).map((i) => i.address.split('/')[0] as string);
  await allValues([
    deleteLink(CURRENT_NS, hostVeth),
    ...(conf.ipMasq ? [detach(MASQ_LAYOUT, masqChain(conf.name, args), masqElements(prevIps))] : []),
    ...(conf.macspoofchk
      ? [detach(MACSPOOF_LAYOUT, spoofChain(conf.name, args), [{ map: 'ports', key: `"${hostVeth}"` }])]
      : []),
  ]);
  if (conf.ipam) await ipamDel(args, conf.name, conf.cniVersion, conf.ipam);
}

/** CHECK: the pod interface, its addresses and routes (from prevResult) are still in place. */
async function bridgeCheck(args: CniArgs, conf: BridgeConf): Promise<void> {
  const prev = conf.prevResult;
  if (!prev) throw new CniError(CniCode.InvalidNetworkConfig, 'required prevResult missing');
  requireNetns(args.netns);
  if (conf.ipam) await ipamCheck(args, conf.name, conf.cniVersion, conf.ipam);
  const pod = nsFromPath(args.netns);
  const hostVeth = hostVethName(conf.name, args.containerId, args.ifname);
  const host = await getLink(CURRENT_NS, hostVeth);
  if (!host) throw new CniError(CniCode.PluginSpecific, `host interface ${hostVeth} is missing`);
  if (host.master !== conf.bridge)
    throw new CniError(CniCode.PluginSpecific, `${hostVeth} is not attached to ${conf.bridge}`);
  const link = (await getAddrs(pod, args.ifname))[0];
  if (!link) throw new CniError(CniCode.PluginSpecific, `interface ${args.ifname} is missing in ${args.netns}`);
  const want = prev.interfaces?.find((i) => i.name === args.ifname && i.sandbox);
  if (want?.mac && link.address?.toLowerCase() !== want.mac.toLowerCase()) {
    throw new CniError(
      CniCode.PluginSpecific,
      `interface ${args.ifname} has MAC ${link.address}, expected ${want.mac}`,
    );
  }
  const have = new Set((link.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`));
  for (const ip of prev.ips ?? []) {
    if (!have.has(ip.address))
      throw new CniError(CniCode.PluginSpecific, `address ${ip.address} is missing on ${args.ifname}`);
  }
  for (const fam of [4, 6] as const) {
    const wanted = (prev.routes ?? []).filter((r) => isV6(r.dst) === (fam === 6));
    if (!wanted.length) continue;
    const routes = await getRoutes(pod, fam, { dev: args.ifname });
    for (const r of wanted) {
      const dst = r.dst === '0.0.0.0/0' || r.dst === '::/0' ? 'default' : parseCidr(r.dst).toString();
      const ok = routes.some((k) => (k.dst === dst || `${k.dst}` === r.dst) && (!r.gw || k.gateway === r.gw));
      if (!ok)
        throw new CniError(
          CniCode.PluginSpecific,
          `route ${r.dst}${r.gw ? ` via ${r.gw}` : ''} is missing in ${args.netns}`,
        );
    }
  }
}

async function bridgeGc(args: CniArgs, conf: BridgeConf, valid: Attachment[]): Promise<void> {
  const keep = new Set(valid.map((v) => `${v.containerID}\n${v.ifname}`));
  const keepFn = (c: string, i: string) => keep.has(`${c}\n${i}`);
  // rules before addresses, as in DEL
  if (conf.ipMasq) await gcAttachments(MASQ_LAYOUT.table, MASQ_PREFIX, conf.name, keepFn);
  if (conf.macspoofchk) await gcAttachments(MACSPOOF_LAYOUT.table, SPOOF_PREFIX, conf.name, keepFn);
  if (conf.ipam) await ipamGc(args, conf.name, conf.ipam, valid);
}

export const bridgePlugin: CniPlugin<z.infer<typeof bridgeConfSchema>> = {
  name: 'bridge',
  confSchema: bridgeConfSchema,
  add: bridgeAdd,
  del: bridgeDel,
  check: bridgeCheck,
  gc: bridgeGc,
  // a bridge is made on demand by ADD; whether ADDs can be served is the IPAM's to say
  status: async (args, conf) => {
    if (conf.ipam) await ipamStatus(args, conf.name, conf.ipam);
  },
};
