import type { CaseOutcome } from './types.js';

/**
 * Departures of containernetworking-plugins 1.1.1 (Debian's /usr/lib/cni) from what the cases require,
 * recognised by their message so the table names them instead of leaving a bare failure. They stay failures:
 * this only explains them. (No GC/STATUS in 1.1.1 needs no entry: it lists no 1.1.0, so those cases are n/a.)
 */
interface KnownDeparture {
  cases: string[];
  match: RegExp;
  note: string;
}

const KNOWN: KnownDeparture[] = [
  {
    cases: ['add-check-del', 'versions', 'bandwidth'],
    match: /could not check ipv6 dnat: chain CNI-DN-\w+ not found/,
    note: 'reference portmap CHECK looks for an IPv6 DNAT chain it never made for an IPv4-only pod',
  },
  {
    cases: ['del-netns-gone'],
    match: /iptables-save: .*MASQUERADE/,
    note: 'reference bridge DEL without a netns cannot find the addresses, so its ipMasq rules stay',
  },
];

export function explain(caseId: string, o: CaseOutcome): CaseOutcome {
  if (o.status !== 'fail' || !o.detail) return o;
  const k = KNOWN.find((d) => d.cases.includes(caseId) && d.match.test(o.detail as string));
  return k ? { ...o, known: k.note } : o;
}
