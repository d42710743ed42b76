import { z } from 'zod';
import { conntrackDeleteUdp } from '../../src/os/conntrack.js';
import { hasLocalSysctl, setLocalSysctl } from '../../src/os/net.js';
import { CniCode, CniError } from '../../src/cni/errors.js';
import { attach, detach, gcAttachments, listAttachments, type Layout } from '../../src/cni/nftattach.js';
import { attachmentComment, attachmentHash } from '../../src/cni/names.js';
import type { CniArgs, CniPlugin, PluginConf } from '../../src/cni/skel.js';
import { type Attachment, netConfSchema, type Result } from '../../src/cni/spec/types.js';
import { tryParseIp } from '../../src/net/ip.js';

/**
 * portmap: hostPort → podIP:containerPort DNAT in nftables, chained after a main plugin (it needs prevResult
 * for the pod's addresses). Incoming and node-local connections to a local address are DNATed; with `snat`
 * (default true) DNATed connections from the pod itself (hairpin) or from localhost are masqueraded so the
 * replies come back through the node.
 */
const portMappingSchema = z.object({
  hostPort: z.number().int().min(1).max(65535),
  containerPort: z.number().int().min(1).max(65535),
  protocol: z
    .string()
    .toLowerCase()
    .pipe(z.enum(['tcp', 'udp', 'sctp']))
    .default('tcp'),
  hostIP: z.string().optional(),
});
type PortMapping = z.infer<typeof portMappingSchema>;

export const portmapConfSchema = netConfSchema.extend({
  snat: z.boolean().default(true),
  runtimeConfig: z
    .object({ portMappings: z.array(portMappingSchema).optional() })
    .passthrough()
    .optional(),
});
type PortmapConf = PluginConf<z.infer<typeof portmapConfSchema>>;

const PORTMAP_LAYOUT: Layout = {
  table: { family: 'inet', name: 'skiff_cni_portmap' },
  maps: [
    { name: 'hostports', spec: 'type inet_proto . inet_service : verdict;' },
    { name: 'snat4', spec: 'type ipv4_addr : verdict;' },
    { name: 'snat6', spec: 'type ipv6_addr : verdict;' },
  ],
  // a pod address is the newest attachment's (a stale one's DEL must not drop its hairpin masquerade)
  takeover: ['snat4', 'snat6'],
  baseChains: [
    {
      name: 'prerouting',
      spec: 'type nat hook prerouting priority -100; policy accept;',
      rules: ['fib daddr type local meta l4proto . th dport vmap @hostports'],
    },
    {
      name: 'output',
      spec: 'type nat hook output priority -100; policy accept;',
      rules: ['fib daddr type local meta l4proto . th dport vmap @hostports'],
    },
    {
      name: 'postrouting',
      spec: 'type nat hook postrouting priority 100; policy accept;',
      rules: ['ct status dnat ip daddr vmap @snat4', 'ct status dnat ip6 daddr vmap @snat6'],
    },
  ],
};

const DNAT_PREFIX = 'hp-';
const SNAT_PREFIX = 'hps-';

function chains(network: string, a: CniArgs): [string, string] {
  const h = attachmentHash(network, a.containerId, a.ifname);
  return [`${DNAT_PREFIX}${h}`, `${SNAT_PREFIX}${h}`];
}

/** The pod's addresses (first IPv4 and first IPv6) from prevResult: those on the sandbox interface. */
function podIps(prev: Result): { v4?: string; v6?: string } {
  const out: { v4?: string; v6?: string } = {};
  for (const ip of prev.ips ?? []) {
    const iface = ip.interface !== undefined ? prev.interfaces?.[ip.interface] : undefined;
    if (iface && !iface.sandbox) continue;
    const addr = ip.address.split('/')[0] as string;
    if (addr.includes(':')) out.v6 ??= addr;
    else out.v4 ??= addr;
  }
  return out;
}

function mappings(conf: PortmapConf): PortMapping[] {
  return conf.runtimeConfig?.portMappings ?? [];
}

function elementsFor(
  conf: PortmapConf,
  ips: { v4?: string; v6?: string },
): { dnat: { map: string; key: string }[]; snat: { map: string; key: string }[] } {
  const seen = new Set<string>();
  const dnat = [];
  for (const m of mappings(conf)) {
    const key = `${m.protocol} . ${m.hostPort}`;
    if (seen.has(key)) continue;
    seen.add(key);
    dnat.push({ map: 'hostports', key });
  }
  const snat = [];
  if (conf.snat) {
    if (ips.v4) snat.push({ map: 'snat4', key: ips.v4 });
    if (ips.v6) snat.push({ map: 'snat6', key: ips.v6 });
  }
  return { dnat, snat };
}

async function portmapAdd(args: CniArgs, conf: PortmapConf): Promise<Result> {
  const prev = conf.prevResult;
  if (!prev)
    throw new CniError(CniCode.InvalidNetworkConfig, 'portmap must be called as a chained plugin (prevResult missing)');
  const maps = mappings(conf);
  if (!maps.length) return prev;
  const ips = podIps(prev);
  if (!ips.v4 && !ips.v6)
    throw new CniError(CniCode.InvalidNetworkConfig, 'portmap: prevResult has no container address');
  const [dnatChain, snatChain] = chains(conf.name, args);
  const dnatRules: string[] = [];
  for (const m of maps) {
    const hostIp = m.hostIP ? tryParseIp(m.hostIP) : undefined;
    if (m.hostIP && !hostIp)
      throw new CniError(CniCode.InvalidNetworkConfig, `portmap: invalid hostIP ${JSON.stringify(m.hostIP)}`);
    for (const fam of [4, 6] as const) {
      const pod = fam === 4 ? ips.v4 : ips.v6;
      if (!pod || (hostIp && hostIp.family !== fam)) continue;
      const match = [
        fam === 4 ? 'meta nfproto ipv4' : 'meta nfproto ipv6',
        ...(m.hostIP && !/^(0\.0\.0\.0|::)$/.test(m.hostIP) ? [`${fam === 4 ? 'ip' : 'ip6'} daddr ${m.hostIP}`] : []),
        `meta l4proto ${m.protocol} th dport ${m.hostPort}`,
      ].join(' ');
      dnatRules.push(`${match} dnat ${fam === 4 ? 'ip' : 'ip6'} to ${fam === 4 ? pod : `[${pod}]`}:${m.containerPort}`);
    }
  }
  const comment = attachmentComment(conf.name, args.containerId, args.ifname);
  const els = elementsFor(conf, ips);
  const parts = [{ chain: dnatChain, comment, rules: dnatRules, elements: els.dnat }];
  if (conf.snat) {
    const snatRules = [
      ...(ips.v4 ? [`ip saddr ${ips.v4} masquerade`, 'ip saddr 127.0.0.0/8 masquerade'] : []),
      ...(ips.v6 ? [`ip6 saddr ${ips.v6} masquerade`, 'ip6 saddr ::1 masquerade'] : []),
    ];
    parts.push({ chain: snatChain, comment, rules: snatRules, elements: els.snat });
    // Localhost → hostPort needs the kernel to route 127/8 sources out of the node's pod-facing links.
    for (const i of prev.interfaces ?? []) {
      const key = `net.ipv4.conf.${i.name}.route_localnet`;
      if (!i.sandbox && hasLocalSysctl(key)) setLocalSysctl(key, '1');
    }
  }
  try {
    await attach(PORTMAP_LAYOUT, ...parts);
  } catch (e) {
    const msg = (e as Error).message;
    if (/File exists|exists/i.test(msg)) {
      throw new CniError(
        CniCode.PluginSpecific,
        `portmap: a requested hostPort is already mapped on this node`,
        msg.slice(0, 500),
      );
    }
    throw e;
  }
  await flushUdpFlows(maps);
  return prev;
}

/**
 * UDP has no handshake: a client that sent to the hostPort before the mapping existed (statsd, DNS) keeps
 * its conntrack entry, unmapped, for as long as it keeps sending, and never reaches the pod. Drop the
 * node's UDP flows to each new mapping so the next packet is DNATed (the reference keeps them: the
 * black-hole its users hit). Best effort: a missing conntrack tool must not fail the ADD.
 */
async function flushUdpFlows(maps: PortMapping[]): Promise<void> {
  for (const m of maps) {
    if (m.protocol !== 'udp') continue;
    const origDst = m.hostIP && !/^(0\.0\.0\.0|::)$/.test(m.hostIP) ? m.hostIP : undefined;
    await conntrackDeleteUdp({ origPortDst: m.hostPort, ...(origDst ? { origDst } : {}) }).catch(() => 0);
  }
}

async function portmapDel(args: CniArgs, conf: PortmapConf): Promise<void> {
  const known =
    conf.prevResult && mappings(conf).length ? elementsFor(conf, podIps(conf.prevResult)) : { dnat: [], snat: [] };
  const [dnatChain, snatChain] = chains(conf.name, args);
  await detach(
    PORTMAP_LAYOUT,
    [dnatChain, snatChain],
    [...known.dnat.map((e) => ({ ...e, chain: dnatChain })), ...known.snat.map((e) => ({ ...e, chain: snatChain }))],
  );
}

async function portmapCheck(args: CniArgs, conf: PortmapConf): Promise<void> {
  if (!conf.prevResult) throw new CniError(CniCode.InvalidNetworkConfig, 'required prevResult missing');
  if (!mappings(conf).length) return;
  const [dnatChain] = chains(conf.name, args);
  const have = await listAttachments(PORTMAP_LAYOUT.table, DNAT_PREFIX);
  if (!have.some((a) => a.chain === dnatChain))
    throw new CniError(CniCode.PluginSpecific, `portmap: rules for ${args.containerId}/${args.ifname} are missing`);
}

async function portmapGc(_args: CniArgs, conf: PortmapConf, valid: Attachment[]): Promise<void> {
  const keep = new Set(valid.map((v) => `${v.containerID}\n${v.ifname}`));
  const keepFn = (c: string, i: string) => keep.has(`${c}\n${i}`);
  await gcAttachments(PORTMAP_LAYOUT.table, DNAT_PREFIX, conf.name, keepFn);
  await gcAttachments(PORTMAP_LAYOUT.table, SNAT_PREFIX, conf.name, keepFn);
}

export const portmapPlugin: CniPlugin<z.infer<typeof portmapConfSchema>> = {
  name: 'portmap',
  confSchema: portmapConfSchema,
  add: portmapAdd,
  del: portmapDel,
  check: portmapCheck,
  gc: portmapGc,
};
