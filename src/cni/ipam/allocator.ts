import { type Ip, formatIp, ipEquals } from '../../net/ip.js';
import type { Range, RangeSet } from './config.js';

/**
 * The pure part of host-local: which address to hand out next. Like the reference, it walks the range set
 * round-robin starting just after the last address it reserved, so a freed address is not reused at once
 * (a late packet for the old pod must not reach a new one), and never returns a range's gateway.
 */
export interface Candidate {
  ip: Ip;
  range: Range;
}

/** Every allocatable address of the set exactly once, starting after `last` (or at the start). */
export function* candidates(set: RangeSet, last?: Ip): Generator<Candidate> {
  if (!set.length) return;
  let ri = 0;
  let cur: bigint | undefined;
  if (last) {
    const idx = set.findIndex(
      (r) => r.start.family === last.family && last.value >= r.start.value && last.value <= r.end.value,
    );
    if (idx >= 0) {
      ri = idx;
      cur = last.value;
    }
  }
  // Total count is bounded by the set's size; iterate at most that many steps.
  let total = 0n;
  for (const r of set) total += r.end.value - r.start.value + 1n;
  let range = set[ri] as Range;
  if (cur === undefined) cur = range.start.value - 1n;
  for (let n = 0n; n < total; n++) {
    cur += 1n;
    if (cur > range.end.value) {
      ri = (ri + 1) % set.length;
      range = set[ri] as Range;
      cur = range.start.value;
    }
    const ip: Ip = { family: range.start.family, value: cur };
    if (ipEquals(ip, range.gateway)) continue;
    yield { ip, range };
  }
}

/** The next free address (`inUse` holds formatted IPs), or undefined when the set is full. */
export function nextFree(set: RangeSet, inUse: ReadonlySet<string>, last?: Ip): Candidate | undefined {
  for (const c of candidates(set, last)) if (!inUse.has(formatIp(c.ip))) return c;
  return undefined;
}

/** The range of the set that contains ip, if any. */
export function rangeFor(set: RangeSet, ip: Ip): Range | undefined {
  return set.find((r) => r.start.family === ip.family && ip.value >= r.start.value && ip.value <= r.end.value);
}
