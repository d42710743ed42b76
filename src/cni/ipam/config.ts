import { z } from 'zod';
import { CniCode, CniError } from '../errors.js';
import { netConfSchema, routeSchema } from '../spec/types.js';
import {
  addIp,
  type Cidr,
  contains,
  formatCidr,
  formatIp,
  type Ip,
  lastAddress,
  networkOf,
  parseCidr,
  parseIp,
} from './addr.js';

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
  const subnet = networkOf(c);
  const hostBits = (c.ip.family === 4 ? 32 : 128) - c.prefix;
  if (hostBits < 2) throw bad(`network ${formatCidr(subnet)} too small to allocate from`);
  const first = addIp(subnet.ip, 1n);
  // IPv4 never hands out the broadcast address; IPv6 has none.
  const last = c.ip.family === 4 ? addIp(lastAddress(subnet), -1n) : lastAddress(subnet);
  const start = r.rangeStart ? ipIn(r.rangeStart, 'rangeStart') : first;
  const end = r.rangeEnd ? ipIn(r.rangeEnd, 'rangeEnd') : last;
  const gateway = r.gateway ? ipIn(r.gateway, 'gateway') : first;
  for (const [name, ip] of [
    ['rangeStart', start],
    ['rangeEnd', end],
  ] as const) {
    if (!contains(subnet, ip) || ip.value < first.value || ip.value > last.value) {
      throw bad(`${name} ${formatIp(ip)} not in network ${formatCidr(subnet)}`);
    }
  }
  if (!contains(subnet, gateway)) throw bad(`gateway ${formatIp(gateway)} not in network ${formatCidr(subnet)}`);
  if (start.value > end.value) throw bad(`rangeStart ${formatIp(start)} is after rangeEnd ${formatIp(end)}`);
  return { subnet, start, end, gateway };
}

function overlaps(a: Range, b: Range): boolean {
  return a.subnet.ip.family === b.subnet.ip.family && a.start.value <= b.end.value && b.start.value <= a.end.value;
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
    const fam = set[0]?.subnet.ip.family;
    if (set.some((r) => r.subnet.ip.family !== fam)) throw bad('mixed address families in one range set');
  }
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      if (overlaps(all[i] as Range, all[j] as Range)) {
        throw bad(`ranges ${formatCidr((all[i] as Range).subnet)} and ${formatCidr((all[j] as Range).subnet)} overlap`);
      }
    }
  }
  return sets;
}

export function rangeSetText(set: RangeSet): string {
  return set.map((r) => `${formatIp(r.start)}-${formatIp(r.end)}`).join(',');
}
