/**
 * The `vxlan` CNI plugin (flannel's CNI shape): it owns no interface in the pod itself. It reads the node's
 * pod subnet from the subnet file the vxlan agent writes, makes sure the VTEP exists, and delegates the
 * pod attachment to the `bridge` plugin with a generated config (bridge cni0 as the pods' gateway,
 * host-local IPAM over the node subnet, a route to the cluster network, MTU of the overlay). Masquerade is
 * node-wide and cluster-aware (only traffic leaving the cluster network), so the bridge's own ipMasq,
 * which would also rewrite pod-to-pod traffic to other nodes' subnets, stays off.
 *
 * The generated delegate config is cached per attachment, so DEL and CHECK work with the config ADD used
 * even after the subnet file changed or vanished.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { CniCode, CniError } from '../../src/cni/errors.js';
import {
  callerExec,
  delegateAdd,
  delegateCheck,
  delegateDel,
  delegateGc,
  delegateStatus,
  type DelegateCtx,
} from '../../src/cni/invoke.js';
import type { CniArgs, CniPlugin, PluginConf } from '../../src/cni/skel.js';
import { convertResult } from '../../src/cni/spec/convert.js';
import { netConfSchema, VALID_ATTACHMENTS_KEY, type Attachment, type Result } from '../../src/cni/spec/types.js';
import { parseCidr } from '../../src/net/cidr.js';
import { formatIp } from '../../src/net/ip.js';
import {
  ensureMasquerade,
  ensureVxlanDevice,
  getVxlanDevice,
  underlayInterface,
  vxlanIncompat,
  type VxlanDeviceSpec,
} from '../../src/os/vxlan.js';
import { readSubnetFile, type SubnetFile } from '../../src/overlay/vxlan/subnetfile.js';

const DEFAULT_SUBNET_FILE = '/run/skiff/subnet.env';
const DEFAULT_CACHE_DIR = '/var/lib/cni/skiff-vxlan';

export const vxlanConfSchema = netConfSchema.extend({
  type: z.literal('vxlan'),
  subnetFile: z.string().min(1).default(DEFAULT_SUBNET_FILE),
  /** Where the generated bridge config is kept per attachment, for DEL/CHECK. */
  cacheDir: z.string().min(1).default(DEFAULT_CACHE_DIR),
  device: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,15}$/)
    .default('skiff.1'),
  bridge: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,15}$/)
    .default('cni0'),
  /** Masquerade pod traffic that leaves the cluster network (pod-to-pod keeps its source address). */
  ipMasq: z.boolean().default(true),
  isDefaultGateway: z.boolean().default(true),
  hairpinMode: z.boolean().default(true),
  /** Shallow overrides of the generated bridge config (`ipam` is merged one level deeper). */
  delegate: z.record(z.unknown()).optional(),
});
export type VxlanConf = z.infer<typeof vxlanConfSchema>;

/** Pure: the bridge config for this node's subnet. Exported for unit tests. */
export function bridgeConf(
  conf: Pick<VxlanConf, 'cniVersion' | 'name' | 'bridge' | 'isDefaultGateway' | 'hairpinMode' | 'delegate'>,
  s: SubnetFile,
): Record<string, unknown> {
  const { gw, subnet } = subnetOf(s);
  const { ipam: ipamOverride, ...rest } = conf.delegate ?? {};
  const ipam: Record<string, unknown> = {
    type: 'host-local',
    ranges: [[{ subnet, gateway: gw }]],
    // gw spelled out: the reference bridge's CHECK compares the result's routes literally.
    routes: [{ dst: s.network, gw }],
    ...(isRecord(ipamOverride) ? ipamOverride : {}),
  };
  return {
    cniVersion: conf.cniVersion,
    name: conf.name,
    type: 'bridge',
    bridge: conf.bridge,
    isGateway: true,
    isDefaultGateway: conf.isDefaultGateway,
    ipMasq: false,
    hairpinMode: conf.hairpinMode,
    mtu: s.mtu,
    ...rest,
    ipam,
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** SKIFF_SUBNET is "gateway/prefix" (flannel's FLANNEL_SUBNET): the gateway, the subnet, the VTEP's address. */
function subnetOf(s: SubnetFile): { gw: string; subnet: string; vtepAddress: string } {
  const c = parseCidr(s.subnet);
  return { gw: formatIp(c.ip), subnet: c.toString(), vtepAddress: `${formatIp(c.network)}/${c.bits}` };
}

function ctxOf(args: CniArgs): DelegateCtx {
  return { containerId: args.containerId, netns: args.netns, ifname: args.ifname, args: args.args, path: args.path };
}

/** One directory per network, one file per attachment (container IDs and ifnames cannot hold '/'). */
function cacheName(containerId: string, ifname: string): string {
  return `${containerId}-${ifname}.json`;
}

function cachePath(conf: VxlanConf, args: CniArgs): string {
  return join(conf.cacheDir, conf.name, cacheName(args.containerId, args.ifname));
}

async function loadSubnet(conf: VxlanConf): Promise<SubnetFile> {
  try {
    return await readSubnetFile(conf.subnetFile);
  } catch (err) {
    // The agent writes it at start: until then the node cannot take pods (try again later).
    throw new CniError(CniCode.TryAgainLater, (err as Error).message);
  }
}

/** The VTEP as the agent made it; created here only if missing (same spec, so both agree). */
async function ensureDevice(conf: VxlanConf, s: SubnetFile): Promise<void> {
  const cur = await getVxlanDevice(conf.device);
  if (!s.underlayIP || !s.vtepMAC) {
    if (cur?.up) return;
    throw new CniError(
      CniCode.TryAgainLater,
      `vxlan device ${conf.device} is not up and ${conf.subnetFile} has no SKIFF_UNDERLAY_IP/SKIFF_VTEP_MAC to create it`,
    );
  }
  const spec: VxlanDeviceSpec = {
    name: conf.device,
    vni: s.vni,
    port: s.port,
    localIP: s.underlayIP,
    mtu: s.mtu,
    mac: s.vtepMAC,
  };
  if (cur && cur.up && cur.mtu === s.mtu && !vxlanIncompat(spec, cur)) return;
  const underlay = await underlayInterface(s.underlayIP);
  await ensureVxlanDevice({ ...spec, underlayDev: underlay.name }, undefined, subnetOf(s).vtepAddress);
}

async function readCached(path: string): Promise<Record<string, unknown> | undefined> {
  try {
    const v: unknown = JSON.parse(await readFile(path, 'utf8'));
    return isRecord(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

async function writeCached(path: string, value: Record<string, unknown>): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp`;
  await writeFile(tmp, JSON.stringify(value), { mode: 0o600 });
  await rename(tmp, path);
}

export const vxlanPlugin: CniPlugin<VxlanConf> = {
  name: 'vxlan',
  confSchema: vxlanConfSchema,

  async add(args: CniArgs, conf: PluginConf<VxlanConf>): Promise<Result> {
    const s = await loadSubnet(conf);
    await ensureDevice(conf, s);
    if (conf.ipMasq) {
      await ensureMasquerade(s.network, subnetOf(s).subnet);
    }
    const delegate = bridgeConf(conf, s);
    const path = cachePath(conf, args);
    // Cache first: if the delegate half-succeeds and the runtime DELs, DEL still has the config.
    await writeCached(path, delegate);
    return delegateAdd('bridge', delegate, ctxOf(args), callerExec(args.env));
  },

  async del(args: CniArgs, conf: PluginConf<VxlanConf>): Promise<void> {
    const path = cachePath(conf, args);
    let delegate = await readCached(path);
    if (!delegate) {
      // No cache (ADD never got that far, or a runtime DELs twice): use the current subnet if there is one.
      let s: SubnetFile | undefined;
      try {
        s = await readSubnetFile(conf.subnetFile);
      } catch {
        s = undefined;
      }
      if (!s) return; // nothing was ever attached by us that we could find
      delegate = bridgeConf(conf, s);
    }
    await delegateDel(String(delegate.type ?? 'bridge'), delegate, ctxOf(args), callerExec(args.env));
    await rm(path, { force: true });
  },

  /** GC: the bridge (and through it IPAM) drops what belongs to attachments not in `valid`; so do we. */
  async gc(args: CniArgs, conf: PluginConf<VxlanConf>, valid: Attachment[]): Promise<void> {
    let s: SubnetFile | undefined;
    try {
      s = await readSubnetFile(conf.subnetFile);
    } catch {
      s = undefined;
    }
    if (s)
      await delegateGc(
        'bridge',
        { ...bridgeConf(conf, s), [VALID_ATTACHMENTS_KEY]: valid },
        { path: args.path },
        callerExec(args.env),
      );
    const keep = new Set(valid.map((a) => cacheName(a.containerID, a.ifname)));
    const dir = join(conf.cacheDir, conf.name);
    let files: string[];
    try {
      files = await readdir(dir);
    } catch {
      return;
    }
    for (const f of files) if (f.endsWith('.json') && !keep.has(f)) await rm(join(dir, f), { force: true });
  },

  /** Not ready (50) until the agent has written this node's subnet file; then the bridge (and IPAM) decide. */
  async status(args: CniArgs, conf: PluginConf<VxlanConf>): Promise<void> {
    let s: SubnetFile;
    try {
      s = await readSubnetFile(conf.subnetFile);
    } catch (err) {
      throw new CniError(CniCode.PluginNotAvailable, `vxlan: not ready: ${(err as Error).message}`);
    }
    await delegateStatus('bridge', bridgeConf(conf, s), { path: args.path }, callerExec(args.env));
  },

  async check(args: CniArgs, conf: PluginConf<VxlanConf>): Promise<void> {
    if (!conf.prevResult) throw new CniError(CniCode.InvalidNetworkConfig, 'CHECK needs the prevResult of the ADD');
    const delegate = await readCached(cachePath(conf, args));
    if (!delegate)
      throw new CniError(CniCode.UnknownContainer, `no vxlan attachment cached for ${args.containerId}/${args.ifname}`);
    const dev = await getVxlanDevice(conf.device);
    if (!dev?.up) throw new CniError(CniCode.PluginSpecific, `vxlan device ${conf.device} is missing or down`);
    await delegateCheck(
      String(delegate.type ?? 'bridge'),
      { ...delegate, prevResult: convertResult(conf.prevResult, conf.cniVersion) },
      ctxOf(args),
      callerExec(args.env),
    );
  },
};
