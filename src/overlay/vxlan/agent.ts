/**
 * The converging VXLAN agent. On every trigger (a peer change, or the resync timer) it runs one sync:
 *   1. find this node's pod subnet and underlay IP in the peer list (or flags);
 *   2. ensure the VTEP device (re-created if someone deleted it, with the same MAC the peers know);
 *   3. write the subnet file the vxlan CNI plugin reads;
 *   4. publish its VTEP MAC + underlay IP (API mode);
 *   5. read the kernel's FDB / neighbour / route entries, diff them against the desired set (pure
 *      function), apply only the difference.
 * Syncs run through a BoundedFrequencyRunner: never overlapping, coalesced, rate-bounded, periodic, retried.
 */
import type { Logger } from '../../util/log.js';
import { errorMessage } from '../../util/errors.js';
import { BoundedFrequencyRunner, type Clock, type RunReason } from '../../util/runner.js';
import {
  applyOverlayOps,
  ensureVxlanDevice,
  readOverlayEntries,
  underlayInterface,
  type VxlanDeviceSpec,
} from '../../os/vxlan.js';
import { parseCidr } from '../../net/cidr.js';
import { formatIp } from '../../net/ip.js';
import { nsOf, type NsRef } from '../../os/ns.js';
import { readSubnetFile, renderSubnetFile, writeSubnetFile, type SubnetFile } from './subnetfile.js';
import { desiredEntries, diffEntries, vtepMacFor, type Peer } from './peers.js';

/** Where peers come from: a watched JSON file, or Node objects from the API server. */
export interface PeerSource {
  /** Start delivering; `onChange` is called whenever the peer set may have changed. */
  start(onChange: () => void): Promise<void>;
  /** The current view of all nodes (this one included). */
  peers(): Peer[];
  /** Re-read on the resync timer (a file source re-reads the file; the API source relies on its watch). */
  refresh?(): Promise<void>;
  /** Publish this node's VTEP so peers can reach it (API mode). */
  publish?(nodeName: string, vtepMAC: string, publicIP: string): Promise<void>;
  stop(): Promise<void>;
}

export interface AgentOptions {
  nodeName: string;
  source: PeerSource;
  subnetFile: string;
  clusterCIDR: string;
  vni: number;
  port: number;
  device: string;
  /** This node's underlay IP; default: its own entry's publicIP (file) / InternalIP (API). */
  underlayIP?: string;
  resyncMs: number;
  /** For in-process use against a named netns; the CLI runs inside the node netns and leaves it unset. */
  netns?: string;
  /** Tests: step time instead of waiting. */
  clock?: Clock;
  log: Logger;
}

export interface SyncReport {
  ready: boolean;
  /** Why not ready (waiting for podCIDR ...). */
  waiting?: string;
  deviceAction?: string;
  applied: number;
  peers: number;
}

export class VxlanAgent {
  private readonly loop: BoundedFrequencyRunner;
  private lastPublished = '';
  private lastSkipped = '';
  private lastWaiting = '';
  private lastError = '';
  /** The outcome of the last sync (status and tests). */
  lastReport: SyncReport | undefined;
  syncs = 0;

  private readonly ns: NsRef;

  constructor(private readonly o: AgentOptions) {
    this.ns = nsOf(o.netns);
    // A peer change syncs at once after a quiet period; a storm of them coalesces (2 back to back, then at
    // most one per 200 ms); every resyncMs the peers are re-read and everything is re-checked.
    this.loop = new BoundedFrequencyRunner((reasons) => this.runOnce(reasons), {
      name: 'vxlan sync',
      minIntervalMs: 200,
      burst: 2,
      maxIntervalMs: o.resyncMs,
      clock: o.clock,
    });
  }

  /** Start the peer source and the loop; resolves after the first sync. */
  async start(): Promise<void> {
    await this.o.source.start(() => this.trigger());
    this.loop.start();
    await this.loop.idle();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    await this.o.source.stop();
  }

  /** Ask for a sync (coalesced with others). */
  trigger(): void {
    this.loop.run();
  }

  /** Resolves once no sync is running or asked for. */
  idle(): Promise<void> {
    return this.loop.idle();
  }

  /** One loop run. Never throws: a failure is logged (once per distinct error) and retried soon. */
  private async runOnce(reasons: ReadonlySet<RunReason>): Promise<void> {
    if (reasons.has('periodic')) {
      try {
        await this.o.source.refresh?.();
      } catch (err) {
        this.o.log.warn({ err: errorMessage(err) }, 'refreshing peers failed');
      }
    }
    try {
      this.lastReport = await this.syncOnce();
      this.lastError = '';
    } catch (err) {
      // The same failure every retry is logged once at error level, then at debug until it changes.
      const msg = errorMessage(err);
      const level = msg === this.lastError ? 'debug' : 'error';
      this.o.log[level]({ err: msg }, 'vxlan sync failed; retrying');
      this.lastError = msg;
      this.lastReport = { ready: false, waiting: msg, applied: 0, peers: 0 };
      this.loop.retryAfter(Math.min(this.o.resyncMs, 2000));
    }
  }

  private waiting(why: string): SyncReport {
    if (why !== this.lastWaiting) this.o.log.info({ node: this.o.nodeName }, `waiting: ${why}`);
    this.lastWaiting = why;
    return { ready: false, waiting: why, applied: 0, peers: 0 };
  }

  private async syncOnce(): Promise<SyncReport> {
    const o = this.o;
    this.syncs++;
    const all = o.source.peers();
    const self = all.find((p) => p.name === o.nodeName);
    if (!self?.podCIDR) return this.waiting(`node ${o.nodeName} has no podCIDR yet`);
    const underlayIP = o.underlayIP ?? self.publicIP;
    if (!underlayIP) return this.waiting(`no underlay IP for node ${o.nodeName} (pass --underlay-ip)`);
    this.lastWaiting = '';
    const podNet = parseCidr(self.podCIDR).masked;
    const cluster = parseCidr(o.clusterCIDR).masked;

    const underlay = await underlayInterface(underlayIP, this.ns);
    const spec: VxlanDeviceSpec = {
      name: o.device,
      vni: o.vni,
      port: o.port,
      localIP: underlayIP,
      underlayDev: underlay.name,
      mtu: underlay.mtu - 50,
      mac: vtepMacFor(o.nodeName, o.vni),
    };
    const dev = await ensureVxlanDevice(spec, this.ns, `${formatIp(podNet.network)}/32`);
    if (dev.action === 'created' || dev.action === 'recreated') {
      o.log.info({ device: o.device, mac: spec.mac, mtu: spec.mtu, action: dev.action }, 'vxlan device ensured');
    }

    const subnet: SubnetFile = {
      network: cluster.toString(),
      subnet: `${formatIp(podNet.firstHost)}/${podNet.prefix}`,
      mtu: spec.mtu,
      vni: o.vni,
      port: o.port,
      underlayIP,
      vtepMAC: spec.mac,
    };
    await this.ensureSubnetFile(subnet);

    // Publish when our own Node does not show our VTEP yet (first start, a changed IP, or someone removed
    // the annotations); the patch is idempotent, so a watch that lags only costs a repeated patch.
    const pubKey = `${spec.mac}|${underlayIP}`;
    const shown = `${(self.vtepMAC ?? '').toLowerCase()}|${self.publicIP ?? ''}`;
    if (o.source.publish && (pubKey !== this.lastPublished || shown !== pubKey)) {
      try {
        await o.source.publish(o.nodeName, spec.mac, underlayIP);
        this.lastPublished = pubKey;
        o.log.info({ mac: spec.mac, publicIP: underlayIP }, 'published VTEP on the Node');
      } catch (err) {
        o.log.warn({ err: errorMessage(err) }, 'publishing VTEP failed; retrying on next sync');
      }
    }

    const { desired, skipped } = desiredEntries(
      { name: o.nodeName, podCIDR: podNet.toString(), publicIP: underlayIP },
      all,
      cluster.toString(),
    );
    const skippedKey = JSON.stringify(skipped);
    if (skippedKey !== this.lastSkipped && skipped.length) o.log.info({ skipped }, 'peers left out');
    this.lastSkipped = skippedKey;

    const actual = await readOverlayEntries(o.device, this.ns);
    if (!actual) throw new Error(`vxlan device ${o.device} disappeared during sync`);
    const ops = diffEntries(actual, desired);
    if (ops.length) {
      await applyOverlayOps(ops, o.device, this.ns);
      o.log.info({ ops: ops.length, peers: desired.routes.length }, 'overlay entries converged');
    }
    this.lastError = '';
    return { ready: true, deviceAction: dev.action, applied: ops.length, peers: desired.routes.length };
  }

  private async ensureSubnetFile(s: SubnetFile): Promise<void> {
    let current: string | undefined;
    try {
      current = renderSubnetFile(await readSubnetFile(this.o.subnetFile));
    } catch {
      current = undefined;
    }
    if (current !== renderSubnetFile(s)) {
      await writeSubnetFile(this.o.subnetFile, s);
      this.o.log.info({ file: this.o.subnetFile, subnet: s.subnet }, 'wrote subnet file');
    }
  }
}
