import { run } from './exec.js';
import { ipArgv, type NsRef } from './ns.js';

/**
 * IPv6 Neighbor Discovery for addresses a node takes over (LoadBalancer IPs), the IPv6 side of a gratuitous
 * ARP. The address goes on the interface without duplicate address detection, so the kernel answers
 * Neighbor Solicitations for it at once (DAD would keep it tentative for a second, and fail outright while
 * the previous owner still holds it); then an unsolicited Neighbor Advertisement (RFC 4861 §7.2.6) tells
 * the link, as MetalLB's NDP responder does on takeover. Sent with na6 from SI6 Networks' ipv6toolkit
 * (Node has no raw sockets).
 */

/**
 * Add `ip/128` to dev without DAD (idempotent: replace), deprecated from the start (`preferred_lft 0`): it
 * answers Neighbor Solicitations and takes traffic, but source address selection never picks it for the
 * node's own connections (RFC 6724 rule 3), which would otherwise leave from the VIP and break when it moves.
 */
export async function addNoDadAddress(ns: NsRef, dev: string, ip: string): Promise<void> {
  await run(ipArgv(ns, ['-6', 'addr', 'replace', `${ip}/128`, 'dev', dev, 'nodad', 'preferred_lft', '0']));
}

/** One unsolicited NA for `ip` to all nodes: override flag set, dev's MAC as target link-layer address. */
export async function sendUnsolicitedNA(ns: NsRef, dev: string, ip: string): Promise<void> {
  await run(['na6', '-i', dev, '-s', ip, '-d', 'ff02::1', '-t', ip, '-o', '-e'], { ns, timeoutMs: 5000 });
}
