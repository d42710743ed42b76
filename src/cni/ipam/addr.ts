/**
 * IP arithmetic on bigints (pure): enough for allocation over IPv4 and IPv6 ranges without a dependency.
 * Text forms match Go's net.IP.String() (what the reference host-local uses as file names): dotted quads,
 * and RFC 5952 compressed lowercase IPv6.
 */
export type Family = 4 | 6;

export interface Ip {
  family: Family;
  value: bigint;
}

export interface Cidr {
  ip: Ip;
  prefix: number;
}

export function bits(f: Family): number {
  return f === 4 ? 32 : 128;
}

export function parseIp(s: string): Ip {
  const ip = tryParseIp(s);
  if (!ip) throw new Error(`invalid IP address ${JSON.stringify(s)}`);
  return ip;
}

export function tryParseIp(s: string): Ip | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(s)) {
    let v = 0n;
    for (const p of s.split('.')) {
      const n = Number(p);
      if (n > 255) return undefined;
      v = (v << 8n) | BigInt(n);
    }
    return { family: 4, value: v };
  }
  if (!s.includes(':') || !/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    const parts = h.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] as string;
      if (p.includes('.')) {
        // embedded IPv4 (last group only)
        if (i !== parts.length - 1) return undefined;
        const v4 = tryParseIp(p);
        if (!v4 || v4.family !== 4) return undefined;
        out.push(Number(v4.value >> 16n), Number(v4.value & 0xffffn));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = parseGroups(halves[0] as string);
  const tail = halves.length === 2 ? parseGroups(halves[1] as string) : [];
  if (!head || !tail) return undefined;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail];
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  return { family: 6, value: v };
}

export function formatIp(ip: Ip): string {
  if (ip.family === 4) {
    const v = ip.value;
    return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.');
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((ip.value >> BigInt(i * 16)) & 0xffffn));
  // longest run (>= 2) of zero groups becomes "::" (first one on ties), per RFC 5952
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export function parseCidr(s: string): Cidr {
  const i = s.indexOf('/');
  if (i < 0) throw new Error(`invalid CIDR ${JSON.stringify(s)}: missing /prefix`);
  const ip = tryParseIp(s.slice(0, i));
  const pfx = s.slice(i + 1);
  if (!ip || !/^\d{1,3}$/.test(pfx) || Number(pfx) > bits(ip.family))
    throw new Error(`invalid CIDR ${JSON.stringify(s)}`);
  return { ip, prefix: Number(pfx) };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.ip)}/${c.prefix}`;
}

function hostMask(c: Cidr): bigint {
  return (1n << BigInt(bits(c.ip.family) - c.prefix)) - 1n;
}

/** The network address (host bits cleared). */
export function networkOf(c: Cidr): Cidr {
  return { ip: { family: c.ip.family, value: c.ip.value & ~hostMask(c) }, prefix: c.prefix };
}

export function lastAddress(c: Cidr): Ip {
  return { family: c.ip.family, value: (c.ip.value & ~hostMask(c)) | hostMask(c) };
}

export function contains(c: Cidr, ip: Ip): boolean {
  return c.ip.family === ip.family && (ip.value & ~hostMask(c)) === (c.ip.value & ~hostMask(c));
}

export function addIp(ip: Ip, n: bigint): Ip {
  return { family: ip.family, value: ip.value + n };
}

export function ipEqual(a: Ip, b: Ip): boolean {
  return a.family === b.family && a.value === b.value;
}

/** Mask as dotted quad / prefix text is not needed elsewhere; expose the prefix of a CIDR string. */
export function familyOfString(s: string): Family {
  return s.includes(':') ? 6 : 4;
}
