/** zod schemas for addresses and CIDRs at a boundary (files, env, flags): one rule set, clear messages. */
import { z } from 'zod';
import { tryParseCidr, type ParseCidrOptions } from './cidr.js';
import { isIPv4 } from './ip.js';

export const ipv4String = z.string().refine((s) => isIPv4(s), { message: 'expected an IPv4 address' });

export function cidrString(options: ParseCidrOptions & { family?: 4 | 6 } = {}) {
  const { family, ...parse } = options;
  return z.string().refine(
    (s) => {
      const c = tryParseCidr(s, parse);
      return !!c && (family === undefined || c.family === family);
    },
    { message: `expected an ${family ? `IPv${family} ` : ''}address/prefix (CIDR)` },
  );
}
