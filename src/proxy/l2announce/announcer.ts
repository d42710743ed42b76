import { gratuitousArp } from '../../os/arp.js';
import { deleteAddr, getAddrs, replaceAddr } from '../../os/net.js';
import { nsOf, type NsRef } from '../../os/ns.js';
import type { Logger } from '../../util/log.js';
import { errorMessage } from '../../util/errors.js';
import { isIPv6 } from '../../net/ip.js';
import { announceIPv6, announcedCidr, announcedIPv6 } from './ndp.js';

/**
 * Puts the LoadBalancer IPs this node owns on its underlay interface as /32 addresses, so the kernel
 * answers ARP for them on the underlay (and the nftables/userspace datapath takes the traffic from there),
 * and removes them when ownership moves; a takeover is followed by a gratuitous ARP. Addresses carry the
 * label "<if>:lb" so a restarted proxy finds the ones it added before.
 */
export class L2Announcer {
  private iface: string | undefined;
  private readonly mine = new Set<string>();
  private readonly ns: NsRef;

  constructor(
    private readonly nodeIP: string,
    netns?: string,
    private readonly log?: Logger,
  ) {
    this.ns = nsOf(netns);
  }

  private label(): string | undefined {
    return this.iface && this.iface.length <= 12 ? `${this.iface}:lb` : undefined;
  }

  private async findInterface(): Promise<void> {
    if (this.iface) return;
    const links = await getAddrs(this.ns);
    const link = links.find((l) => l.addr_info?.some((a) => a.local === this.nodeIP));
    if (!link) throw new Error(`no interface holds node IP ${this.nodeIP}`);
    this.iface = link.ifname;
    const label = this.label();
    for (const a of link.addr_info ?? []) {
      if (label && a.label === label && a.prefixlen === 32 && a.local) this.mine.add(a.local);
    }
    for (const ip of announcedIPv6(link)) this.mine.add(ip);
  }

  async sync(owned: ReadonlySet<string>): Promise<void> {
    try {
      await this.findInterface();
    } catch (err) {
      this.log?.warn({ err: errorMessage(err) }, 'L2 announcement disabled until the node IP appears');
      return;
    }
    const dev = this.iface as string;
    const label = this.label();
    for (const ip of owned) {
      if (this.mine.has(ip)) continue;
      if (isIPv6(ip)) await announceIPv6(this.ns, dev, ip);
      else {
        await replaceAddr(this.ns, dev, `${ip}/32`, label);
        // A takeover: neighbours still cache the previous owner's MAC for this IP. Tell them now (MetalLB's
        // gratuitous ARP) rather than let their entries go stale; not awaited, it waits out arping's deadline.
        gratuitousArp(this.ns, dev, ip).catch((err: unknown) =>
          this.log?.warn({ ip, dev, err: errorMessage(err) }, 'gratuitous ARP failed'),
        );
      }
      this.mine.add(ip);
      this.log?.info({ ip, dev }, 'announcing LoadBalancer IP');
    }
    for (const ip of [...this.mine]) {
      if (owned.has(ip)) continue;
      await deleteAddr(this.ns, dev, announcedCidr(ip));
      this.mine.delete(ip);
      this.log?.info({ ip, dev }, 'stopped announcing LoadBalancer IP');
    }
  }

  async cleanup(): Promise<void> {
    await this.sync(new Set());
  }
}
