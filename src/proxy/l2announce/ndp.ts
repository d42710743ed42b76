import { isIPv6 } from '../../net/ip.js';
import type { IpLink } from '../../os/net.js';
import { addNoDadAddress, sendUnsolicitedNA } from '../../os/ndp.js';
import type { NsRef } from '../../os/ns.js';

/**
 * The IPv6 half of L2 announcement (MetalLB's NDP responder; ARP stays with the announcer). An IPv6
 * LoadBalancer IP goes on the underlay interface as a /128 without DAD, so the kernel answers Neighbor
 * Solicitations for it, and the link hears an unsolicited Neighbor Advertisement with the override flag at
 * once, so neighbours that cached the previous owner's MAC move over without waiting for their entry to
 * go stale. IPv6 addresses carry no label; a /128 without DAD on that interface is how a restarted proxy
 * recognises the ones it added.
 */

/** The interface address of an announced IP: /32 for IPv4, /128 for IPv6. */
export function announcedCidr(ip: string): string {
  return `${ip}/${isIPv6(ip) ? 128 : 32}`;
}

/** IPv6 addresses on the link that a previous run announced. */
export function announcedIPv6(link: IpLink): string[] {
  return (link.addr_info ?? [])
    .filter((a) => a.family === 'inet6' && a.prefixlen === 128 && a.nodad === true)
    .map((a) => a.local);
}

/** Take an IPv6 LoadBalancer IP over on dev: the address (answering NS from now on), then one unsolicited NA. */
export async function announceIPv6(ns: NsRef, dev: string, ip: string): Promise<void> {
  await addNoDadAddress(ns, dev, ip);
  await sendUnsolicitedNA(ns, dev, ip);
}
