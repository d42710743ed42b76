import { z } from 'zod';
import { CniCode, CniError } from '../errors.js';
import { netConfSchema, routeSchema } from '../spec/types.js';
import { type Cidr, parseCidr } from '../../net/cidr.js';
import { formatIp, type Ip, parseIp } from '../../net/ip.js';

/**
 * host-local configuration (same keys as the reference plugin) and its canonical form: every range with a
 * concrete start, end and gateway, checked against its subnet.
 */
const rangeSchema = z
  .object({
    subnet: z.string(),
    rangeStart: z.string().optional(),
    rangeEnd: z.string().optional(),
    gateway: z.string().optional(),
  })
  .passthrough();
export type RangeConf = z.infer<typeof rangeSchema>;

export const hostLocalIpamSchema = z
  .object({
    type: z.string(),
    ranges: z.array(z.array(rangeSchema).min(1)).optional(),
    // legacy single-range form
    subnet: z.string().optional(),
    rangeStart: z.string().optional(),
    rangeEnd: z.string().optional(),
    gateway: z.string().optional(),
    routes: z.array(routeSchema).optional(),
    dataDir: z.string().optional(),
    resolvConf: z.string().optional(),
  })
  .passthrough();
export type HostLocalIpamConf = z.infer<typeof hostLocalIpamSchema>;

export const hostLocalConfSchema = netConfSchema.extend({ ipam: hostLocalIpamSchema });

export const DEFAULT_DATA_DIR = '/var/lib/cni/networks';

export interface Range {
  subnet: Cidr;
  start: Ip;
  end: Ip;
  gateway: Ip;
}
export type RangeSet = Range[];

function bad(msg: string): CniError {
  return new CniError(CniCode.InvalidNetworkConfig, msg);
}

function ipIn(text: string, what: string): Ip {
  try {
    return parseIp(text);
  } catch {
    throw bad(`invalid ${what} ${JSON.stringify(text)}`);
  }
}

export function canonicalRange(r: RangeConf): Range {
  let c: Cidr;
  try {
    c = parseCidr(r.subnet);
  } catch {
    throw bad(`invalid subnet ${JSON.stringify(r.subnet)}`);
  }
  const subnet = c.masked;
  if (subnet.size < 4n) throw bad(`network ${subnet} too small to allocate from`);
  // IPv4 never hands out the broadcast address; IPv6 has none.
  const first = subnet.firstHost;
  const last = subnet.lastHost;
  const start = r.rangeStart ? ipIn(r.rangeStart, 'rangeStart') : first;
  const end = r.rangeEnd ? ipIn(r.rangeEnd, 'rangeEnd') : last;
  const gateway = r.gateway ? ipIn(r.gateway, 'gateway') : first;
  for (const [name, ip] of [
    ['rangeStart', start],
    ['rangeEnd', end],
  ] as const) {
    if (!subnet.contains(ip) || ip.value < first.value || ip.value > last.value) {
      throw bad(`${name} ${formatIp(ip)} not in network ${subnet}`);
    }
  }
  if (!subnet.contains(gateway)) throw bad(`gateway ${formatIp(gateway)} not in network ${subnet}`);
  if (start.value > end.value) throw bad(`rangeStart ${formatIp(start)} is after rangeEnd ${formatIp(end)}`);
  return { subnet, start, end, gateway };
}

function overlaps(a: Range, b: Range): boolean {
  return a.subnet.family === b.subnet.family && a.start.value <= b.end.value && b.start.value <= a.end.value;
}

/** All range sets of a config, canonical; each set is one family and its ranges do not overlap. */
export function rangeSets(ipam: HostLocalIpamConf): RangeSet[] {
  const raw: RangeConf[][] = ipam.ranges ?? [];
  if (ipam.subnet)
    raw.unshift([{ subnet: ipam.subnet, rangeStart: ipam.rangeStart, rangeEnd: ipam.rangeEnd, gateway: ipam.gateway }]);
  if (!raw.length) throw bad('no IP ranges specified');
  const sets = raw.map((set) => set.map(canonicalRange));
  const all = sets.flat();
  for (const set of sets) {
    const fam = set[0]?.subnet.family;
    if (set.some((r) => r.subnet.family !== fam)) throw bad('mixed address families in one range set');
  }
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      if (overlaps(all[i] as Range, all[j] as Range)) {
        throw bad(`ranges ${(all[i] as Range).subnet} and ${(all[j] as Range).subnet} overlap`);
      }
    }
  }
  return sets;
}

export function rangeSetText(set: RangeSet): string {
  return set.map((r) => `${formatIp(r.start)}-${formatIp(r.end)}`).join(',');
}
