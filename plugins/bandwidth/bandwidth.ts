import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { applyNetOpsAndShow, deleteLink, getLink, listLinks, type NetOp } from '../../src/os/net.js';
import { CURRENT_NS, nsFromPath } from '../../src/os/ns.js';
import { applyTcOps, applyTcOpsBestEffort, listQdiscs, tickInUsec, type TcOp } from '../../src/os/tc.js';
import { CniCode, CniError } from '../../src/cni/errors.js';
import type { CniArgs, CniPlugin, PluginConf } from '../../src/cni/skel.js';
import { type Attachment, netConfSchema, type Result } from '../../src/cni/spec/types.js';

/**
 * bandwidth: traffic shaping of a pod's veth, chained after the plugin that made it (it needs prevResult),
 * interchangeable with containernetworking/plugins' meta/bandwidth: the same config and `bandwidth`
 * capability (rates in bit/s, bursts in bits), the same kernel objects and names, so either plugin's CHECK
 * and DEL accept what the other's ADD made.
 *  - ingress (traffic to the pod): a tbf as root qdisc of the host end of the veth;
 *  - egress (traffic from the pod): the host end's ingress redirected (u32 match-all + mirred) to an ifb
 *    device `bwp<sha512(network + containerID)>` whose root qdisc is a tbf.
 * Queue limit and latency as the reference: limit = rate × 25 ms + burst.
 */
const entryShape = {
  ingressRate: z.number().int().nonnegative().optional(),
  ingressBurst: z.number().int().nonnegative().optional(),
  egressRate: z.number().int().nonnegative().optional(),
  egressBurst: z.number().int().nonnegative().optional(),
};
const entrySchema = z.object(entryShape).passthrough();
type BandwidthEntry = z.infer<typeof entrySchema>;

export const bandwidthConfSchema = netConfSchema.extend({
  ...entryShape,
  runtimeConfig: z.object({ bandwidth: entrySchema.nullish() }).passthrough().optional(),
});
type BandwidthConf = PluginConf<z.infer<typeof bandwidthConfSchema>>;

const IFB_PREFIX = 'bwp';
const IFB_NAME_LEN = 15;
const LATENCY_MS = 25;
const TIME_UNITS_PER_SEC = 1_000_000;
const MAX_UINT32 = 0xffffffff;
/** The alias our ifb devices carry (`cni-bw/<network>/<containerID>`), so GC can tell whose they are. */
const ALIAS_PREFIX = 'cni-bw/';

/** The reference's name: "bwp" + the first 12 hex digits of sha512(network name + container ID). */
export function ifbName(network: string, containerId: string): string {
  const hex = createHash('sha512').update(`${network}${containerId}`).digest('hex');
  return `${IFB_PREFIX}${hex}`.slice(0, IFB_NAME_LEN);
}

/** As the reference: any bandwidth key in the config itself wins; otherwise the runtime's capability arg. */
function bandwidthOf(conf: BandwidthConf): BandwidthEntry | undefined {
  const keys = ['ingressRate', 'ingressBurst', 'egressRate', 'egressBurst'] as const;
  if (keys.some((k) => conf[k] !== undefined)) return conf;
  return conf.runtimeConfig?.bandwidth ?? undefined;
}

function validate(bw: BandwidthEntry | undefined): void {
  if (!bw) return;
  for (const [rate, burst] of [
    [bw.ingressRate ?? 0, bw.ingressBurst ?? 0],
    [bw.egressRate ?? 0, bw.egressBurst ?? 0],
  ] as const) {
    if (burst === 0 && rate !== 0)
      throw new CniError(CniCode.InvalidNetworkConfig, 'if rate is set, burst must also be set');
    if (rate === 0 && burst !== 0)
      throw new CniError(CniCode.InvalidNetworkConfig, 'if burst is set, rate must also be set');
    if (Math.floor(burst / 8) >= MAX_UINT32)
      throw new CniError(CniCode.InvalidNetworkConfig, 'burst cannot be more than 4GB');
  }
}

function isZero(bw: BandwidthEntry): boolean {
  return !bw.ingressRate && !bw.ingressBurst && !bw.egressRate && !bw.egressBurst;
}

/** Go's float64 → uint32 on amd64 (truncate, keep the low 32 bits), which the reference's arithmetic relies on. */
function u32(x: number): number {
  return Number(BigInt.asUintN(32, BigInt(Math.trunc(x))));
}

/**
 * iproute2's (6.1) conversion of a bucket size to ticks: the time to send it, truncated to whole µs, times
 * the tick, rounded up (netlink in the reference rounds down instead: the two can differ by one tick).
 */
function tcTicks(sizeBytes: number, rateBytes: number, tick: number): number {
  return Math.min(Math.ceil(Math.trunc(TIME_UNITS_PER_SEC * (sizeBytes / rateBytes)) * tick), MAX_UINT32);
}

/**
 * The tbf the reference installs for rate (bit/s) and burst (bits), in the kernel's units: rate and limit
 * in bytes, the bucket (buffer) in scheduler ticks, with the reference's arithmetic (netlink, Go). tc takes
 * the bucket as a size in bytes and makes the ticks itself, so `tcBurstBytes` is the size whose ticks
 * (`tcTicks`) come nearest: the same ticks when the burst lasts a whole number of ticks (e.g. any multiple
 * of 8 µs with the usual 15.625 µs tick), else one tick more. The reference's own CHECK compares ticks
 * exactly and refuses that one-tick difference; ours accepts both.
 */
export function tbfParams(rateBits: number, burstBits: number, tick = tickInUsec()) {
  const rateBytes = Math.floor(rateBits / 8);
  const burstBytes = u32(Math.floor(burstBits / 8));
  if (rateBytes <= 0) throw new CniError(CniCode.InvalidNetworkConfig, `invalid rate: ${rateBits}`);
  const bufferTicks = u32(u32((burstBytes * TIME_UNITS_PER_SEC) / rateBytes) * tick);
  const latencyUs = TIME_UNITS_PER_SEC * (LATENCY_MS / 1000);
  const limitBytes = u32(u32((rateBytes * latencyUs) / TIME_UNITS_PER_SEC) + burstBytes);
  const off = (b: number) => Math.abs(tcTicks(b, rateBytes, tick) - bufferTicks);
  const tcBurstBytes = [burstBytes, burstBytes - 1, burstBytes + 1]
    .filter((b) => b >= 0)
    .reduce((best, b) => (off(b) < off(best) ? b : best));
  return {
    rateBytes,
    burstBytes,
    bufferTicks,
    limitBytes,
    tcBurstBytes,
    tcBufferTicks: tcTicks(tcBurstBytes, rateBytes, tick),
  };
}

/** What `tc -j qdisc show` prints for a tbf (iproute2 6.1: burst and latency from the ticks, whole µs). */
function shownTbf(rateBytes: number, limitBytes: number, ticks: number, tick = tickInUsec()) {
  const bufferUs = Math.trunc(ticks / tick);
  return {
    burst: Math.trunc((rateBytes * bufferUs) / TIME_UNITS_PER_SEC),
    lat: (TIME_UNITS_PER_SEC * limitBytes) / rateBytes - bufferUs,
  };
}

function requireNetns(path: string): void {
  if (!existsSync(path))
    throw new CniError(CniCode.UnknownContainer, `failed to open netns "${path}": no such file or directory`);
}

/** The host end of the pod's veth: the prevResult host interface whose ifindex is the pod interface's peer. */
async function hostInterface(
  args: CniArgs,
  prev: Result,
): Promise<NonNullable<Result['interfaces']>[number] & { mtu?: number }> {
  const interfaces = prev.interfaces ?? [];
  if (!interfaces.length) throw new CniError(CniCode.InvalidNetworkConfig, 'no interfaces provided');
  requireNetns(args.netns);
  const [pod, hostLinks] = await Promise.all([
    getLink(nsFromPath(args.netns), args.ifname),
    listLinks(CURRENT_NS, 'veth'),
  ]);
  const peer = pod?.link_index;
  if (!peer || pod?.linkinfo?.info_kind !== 'veth')
    throw new CniError(CniCode.PluginSpecific, `container interface ${args.ifname} has no veth peer`);
  const link = hostLinks.find((l) => l.ifindex === peer);
  if (!link) throw new CniError(CniCode.PluginSpecific, `veth peer with index ${peer} is not in host ns`);
  const iface = interfaces.find((i) => !i.sandbox && i.name === link.ifname);
  if (!iface) throw new CniError(CniCode.PluginSpecific, 'no veth peer of container interface found in host ns');
  return { ...iface, mtu: link.mtu };
}

function aliasFor(network: string, containerId: string): string | undefined {
  const a = `${ALIAS_PREFIX}${network}/${containerId}`;
  return /^[A-Za-z0-9_.:/@%-]{1,200}$/.test(a) ? a : undefined;
}

async function bandwidthAdd(args: CniArgs, conf: BandwidthConf): Promise<Result> {
  const bw = bandwidthOf(conf);
  validate(bw);
  if (!bw || isZero(bw)) return conf.prevResult ?? { cniVersion: conf.cniVersion };
  const prev = conf.prevResult;
  if (!prev) throw new CniError(CniCode.InvalidNetworkConfig, 'must be called as chained plugin');
  const host = await hostInterface(args, prev);
  const result: Result = { ...prev, interfaces: [...(prev.interfaces ?? [])] };
  const tc: TcOp[] = [];
  const tbf = (dev: string, rate: number, burst: number): TcOp => {
    const p = tbfParams(rate, burst);
    return { op: 'tbf', dev, rateBytes: p.rateBytes, burstBytes: p.tcBurstBytes, limitBytes: p.limitBytes };
  };
  if (bw.ingressRate && bw.ingressBurst) tc.push(tbf(host.name, bw.ingressRate, bw.ingressBurst));
  const ifb = ifbName(conf.name, args.containerId);
  const egress = !!(bw.egressRate && bw.egressBurst);
  try {
    if (egress) {
      const ops: NetOp[] = [{ op: 'ifb-add', name: ifb, mtu: host.mtu }];
      const alias = aliasFor(conf.name, args.containerId);
      if (alias) ops.push({ op: 'link-set', name: ifb, alias });
      let link;
      try {
        link = await applyNetOpsAndShow(CURRENT_NS, ops, ifb);
      } catch (e) {
        throw new CniError(CniCode.PluginSpecific, `adding link: ${(e as Error).message}`);
      }
      result.interfaces?.push({ name: ifb, mac: link?.address ?? '' });
      tc.push(
        { op: 'ingress', dev: host.name },
        { op: 'redirect', dev: host.name, to: ifb },
        tbf(ifb, bw.egressRate as number, bw.egressBurst as number),
      );
    }
    try {
      await applyTcOps(CURRENT_NS, tc);
    } catch (e) {
      throw new CniError(CniCode.PluginSpecific, `create qdisc: ${(e as Error).message}`);
    }
  } catch (err) {
    // Leave nothing half-made: the qdiscs on the host veth and the ifb (deleting it drops its qdisc).
    await applyTcOpsBestEffort(CURRENT_NS, [
      ...(tc.some((o) => o.op === 'tbf' && o.dev === host.name)
        ? [{ op: 'qdisc-del', dev: host.name, parent: 'root' } as const]
        : []),
      ...(egress ? [{ op: 'qdisc-del', dev: host.name, parent: 'ingress' } as const] : []),
    ]).catch(() => undefined);
    if (egress) await deleteLink(CURRENT_NS, ifb).catch(() => undefined);
    throw err;
  }
  return result;
}

/** DEL, as the reference: the ifb goes (the host veth's qdiscs go with the veth); absent is fine. */
async function bandwidthDel(args: CniArgs, conf: BandwidthConf): Promise<void> {
  validate(bandwidthOf(conf));
  await deleteLink(CURRENT_NS, ifbName(conf.name, args.containerId));
}

async function expectTbf(dev: string, what: string, rateBits: number, burstBits: number): Promise<void> {
  const qdiscs = await listQdiscs(CURRENT_NS, dev);
  if (qdiscs === undefined) throw new CniError(CniCode.PluginSpecific, `get ${what} device: ${dev} does not exist`);
  const tbf = qdiscs.find((q) => q.kind === 'tbf' && q.root);
  if (!tbf) throw new CniError(CniCode.PluginSpecific, `Failed to find qdisc (${what} tbf on ${dev})`);
  const want = tbfParams(rateBits, burstBits);
  const o = tbf.options ?? {};
  if (o.rate !== want.rateBytes) throw new CniError(CniCode.PluginSpecific, `Rate doesn't match (${what} on ${dev})`);
  // The bucket as the reference's netlink or our tc would have made it (they can be a tick apart).
  const shown = [want.bufferTicks, want.tcBufferTicks].map((t) => shownTbf(want.rateBytes, want.limitBytes, t));
  const match = shown.filter((x) => x.burst === o.burst);
  if (!match.length) throw new CniError(CniCode.PluginSpecific, `Buffer doesn't match (${what} on ${dev})`);
  // iproute2 prints the latency the limit implies, or the limit itself when that is negative.
  const lat = o.lat;
  const limitOk =
    lat !== undefined
      ? match.some((x) => Math.abs(lat - x.lat) < 1)
      : o.limit !== undefined && o.limit === want.limitBytes;
  if (!limitOk) throw new CniError(CniCode.PluginSpecific, `Limit doesn't match (${what} on ${dev})`);
}

/** CHECK, as the reference: the tbf on the host veth (ingress) and on the ifb (egress) have the config's values. */
async function bandwidthCheck(args: CniArgs, conf: BandwidthConf): Promise<void> {
  const bw = bandwidthOf(conf);
  validate(bw);
  const prev = conf.prevResult;
  if (!prev) throw new CniError(CniCode.InvalidNetworkConfig, 'must be called as a chained plugin');
  const host = await hostInterface(args, prev);
  if (!bw || isZero(bw)) return;
  if (bw.ingressRate && bw.ingressBurst) await expectTbf(host.name, 'ingress', bw.ingressRate, bw.ingressBurst);
  if (bw.egressRate && bw.egressBurst) {
    const ifb = ifbName(conf.name, args.containerId);
    await expectTbf(ifb, 'egress', bw.egressRate, bw.egressBurst);
    const qdiscs = await listQdiscs(CURRENT_NS, host.name);
    if (!qdiscs?.some((q) => q.kind === 'ingress'))
      throw new CniError(CniCode.PluginSpecific, `no ingress qdisc on ${host.name} to redirect to ${ifb}`);
  }
}

/** GC: our ifbs (by alias) of this network whose container has no valid attachment. */
async function bandwidthGc(_args: CniArgs, conf: BandwidthConf, valid: Attachment[]): Promise<void> {
  const keep = new Set(valid.map((v) => v.containerID));
  const prefix = `${ALIAS_PREFIX}${conf.name}/`;
  for (const l of await listLinks(CURRENT_NS, 'ifb')) {
    if (!l.ifalias?.startsWith(prefix) || keep.has(l.ifalias.slice(prefix.length))) continue;
    await deleteLink(CURRENT_NS, l.ifname);
  }
}

export const bandwidthPlugin: CniPlugin<z.infer<typeof bandwidthConfSchema>> = {
  name: 'bandwidth',
  confSchema: bandwidthConfSchema,
  add: bandwidthAdd,
  del: bandwidthDel,
  check: bandwidthCheck,
  gc: bandwidthGc,
};
