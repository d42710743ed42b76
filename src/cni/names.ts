import { createHash } from 'node:crypto';

/**
 * Deterministic names derived from (network, container, interface): DEL finds exactly what ADD made even
 * without a cached result, and two attachments never share a name.
 */
export function attachmentHash(network: string, containerId: string, ifname: string, len = 10): string {
  return createHash('sha256').update(`${network}\0${containerId}\0${ifname}`).digest('hex').slice(0, len);
}

/** Host-side veth name: "veth" + 10 hex = 14 chars (kernel limit 15). */
export function hostVethName(network: string, containerId: string, ifname: string): string {
  return `veth${attachmentHash(network, containerId, ifname)}`;
}

/** A locally administered unicast MAC derived from a seed. */
export function macFromSeed(seed: string): string {
  const h = createHash('sha256').update(seed).digest();
  const b = [...h.subarray(0, 6)];
  b[0] = ((b[0] as number) & 0xfc) | 0x02;
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Text for nft comments that name an attachment (parsed back by GC). */
export function attachmentComment(network: string, containerId: string, ifname: string): string {
  return `net=${network} ctr=${containerId} if=${ifname}`;
}

export function parseAttachmentComment(c: string): { network: string; containerId: string; ifname: string } | undefined {
  const m = /^net=(\S+) ctr=(\S+) if=(\S+)$/.exec(c);
  return m ? { network: m[1] as string, containerId: m[2] as string, ifname: m[3] as string } : undefined;
}
