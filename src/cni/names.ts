/**
 * FNV-1a, 64 bit: enough spread for names that only need to differ between attachments on one node, and it
 * keeps node:crypto (a few ms of start-up per plugin process) out of the plugins.
 */
function fnv1a64(text: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(text, 'utf8')) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}

function hex64(text: string): string {
  return fnv1a64(text).toString(16).padStart(16, '0');
}

/**
 * Deterministic names derived from (network, container, interface): DEL finds exactly what ADD made even
 * without a cached result, and two attachments never share a name.
 */
export function attachmentHash(network: string, containerId: string, ifname: string, len = 10): string {
  return hex64(`${network}\0${containerId}\0${ifname}`).slice(0, Math.min(len, 16));
}

/** Host-side veth name: "veth" + 10 hex = 14 chars (kernel limit 15). */
export function hostVethName(network: string, containerId: string, ifname: string): string {
  return `veth${attachmentHash(network, containerId, ifname)}`;
}

/** A locally administered unicast MAC derived from a seed. */
export function macFromSeed(seed: string): string {
  const h = hex64(seed);
  const b = [0, 2, 4, 6, 8, 10].map((i) => parseInt(h.slice(i, i + 2), 16));
  b[0] = ((b[0] as number) & 0xfc) | 0x02;
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Text for nft comments that name an attachment (parsed back by GC). */
export function attachmentComment(network: string, containerId: string, ifname: string): string {
  return `net=${network} ctr=${containerId} if=${ifname}`;
}

export function parseAttachmentComment(
  c: string,
): { network: string; containerId: string; ifname: string } | undefined {
  const m = /^net=(\S+) ctr=(\S+) if=(\S+)$/.exec(c);
  return m ? { network: m[1] as string, containerId: m[2] as string, ifname: m[3] as string } : undefined;
}
