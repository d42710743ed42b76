/**
 * `nft monitor trace` lines, parsed (pure). The kernel reports, per traced packet and hook, the packet
 * as it enters the first traced chain ("packet: ..."), every rule whose verdict ran ("rule ... (verdict
 * X)"), and how a base chain ended ("policy accept") or a regular one returned ("verdict continue").
 */
export interface TracePacket {
  iif?: string;
  oif?: string;
  saddr?: string;
  daddr?: string;
  proto?: string;
  sport?: number;
  dport?: number;
  tcpFlags?: string;
  mark?: string;
}

export type TraceEvent =
  | { id: string; family: string; table: string; chain: string; kind: 'packet'; packet: TracePacket }
  | { id: string; family: string; table: string; chain: string; kind: 'rule'; rule: string; verdict: string }
  | { id: string; family: string; table: string; chain: string; kind: 'policy' | 'return'; verdict: string };

const HEAD = /^trace id ([0-9a-f]+) (\S+) (\S+) (\S+) (.*)$/;

function parsePacket(text: string): TracePacket {
  const p: TracePacket = {};
  const word = (re: RegExp): string | undefined => re.exec(text)?.[1];
  p.iif = word(/\biif "([^"]+)"/);
  p.oif = word(/\boif "([^"]+)"/);
  p.saddr = word(/\bip6? saddr (\S+)/);
  p.daddr = word(/\bip6? daddr (\S+)/);
  const l4 = /\b(tcp|udp|sctp) sport (\d+) \1 dport (\d+)/.exec(text);
  if (l4) {
    p.proto = l4[1];
    p.sport = Number(l4[2]);
    p.dport = Number(l4[3]);
  } else p.proto = word(/\bip protocol (\S+)/) ?? word(/\bmeta l4proto (\S+)/);
  p.tcpFlags = word(/\btcp flags == (\S+)/);
  p.mark = word(/\bmeta mark (0x[0-9a-f]+)/);
  for (const k of Object.keys(p) as (keyof TracePacket)[]) if (p[k] === undefined) delete p[k];
  return p;
}

/** One monitor line → an event, or undefined for anything else (ruleset changes, our own chains' noise). */
export function parseTraceLine(line: string): TraceEvent | undefined {
  const m = HEAD.exec(line.trim());
  if (!m) return undefined;
  const [, id, family, table, chain, rest] = m as unknown as [string, string, string, string, string, string];
  const base = { id, family, table, chain };
  if (rest.startsWith('packet: ')) return { ...base, kind: 'packet', packet: parsePacket(rest.slice(8)) };
  const rule = /^(?:rule (.*)|unknown rule handle (\d+)) \(verdict ([^)]*)\)/.exec(rest);
  if (rule) return { ...base, kind: 'rule', rule: rule[1] ?? `handle ${rule[2]}`, verdict: rule[3] as string };
  const pol = /^policy (\S+)/.exec(rest);
  if (pol) return { ...base, kind: 'policy', verdict: pol[1] as string };
  const ret = /^verdict (\S+)/.exec(rest);
  if (ret) return { ...base, kind: 'return', verdict: ret[1] as string };
  return undefined;
}

/** Events of one namespace in order, without those of the trace's own table. */
export function parseTrace(lines: readonly string[], ownTable: string): TraceEvent[] {
  return lines.map(parseTraceLine).filter((e): e is TraceEvent => !!e && e.table !== ownTable);
}

/** The value of one key expression ("ip daddr . meta l4proto . th dport") for a packet, if all parts are known. */
export function evalKey(expr: string, p: TracePacket): string | undefined {
  const parts = expr.split(' . ').map((s) => s.trim());
  const values = parts.map((part) => {
    switch (part) {
      case 'ip daddr':
      case 'ip6 daddr':
        return p.daddr;
      case 'ip saddr':
      case 'ip6 saddr':
        return p.saddr;
      case 'meta l4proto':
        return p.proto;
      case 'th dport':
      case 'tcp dport':
      case 'udp dport':
        return p.dport === undefined ? undefined : String(p.dport);
      case 'th sport':
      case 'tcp sport':
      case 'udp sport':
        return p.sport === undefined ? undefined : String(p.sport);
      default:
        return undefined;
    }
  });
  return values.every((v) => v !== undefined) ? values.join(' . ') : undefined;
}

/** The map a rule looks a key up in: `KEY vmap @M`, `... to KEY map @M`, `redirect to : KEY map @M`. */
export function mapLookup(rule: string): { key: string; map: string } | undefined {
  const m = /(?:^|\s|:)((?:(?:ip6?|meta|th|tcp|udp) \S+)(?: \. (?:ip6?|meta|th|tcp|udp) \S+)*) v?map @(\S+)/.exec(rule);
  return m ? { key: m[1] as string, map: m[2] as string } : undefined;
}
