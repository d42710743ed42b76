import { run, runRaw } from './exec.js';
import { CURRENT_NS, type NsRef } from './ns.js';

/**
 * nftables through the nft CLI, one atomic `nft -f -` per change (the kernel applies a whole file or
 * nothing). A Transaction collects typed operations and renders them; callers never build shell strings.
 * Shape after kubernetes-sigs/knftables: objects are data, the transaction is the unit of change.
 */
type Family = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev';

export interface TableRef {
  family: Family;
  name: string;
}

export type NftOp =
  | { verb: 'add' | 'create' | 'delete' | 'flush'; kind: 'table'; table: TableRef; comment?: string }
  | {
      verb: 'add' | 'create' | 'delete' | 'flush';
      kind: 'chain';
      table: TableRef;
      name: string;
      /** e.g. "type nat hook prerouting priority -100; policy accept;" for base chains */
      spec?: string;
      comment?: string;
    }
  | { verb: 'add' | 'insert'; kind: 'rule'; table: TableRef; chain: string; rule: string; comment?: string }
  | { verb: 'delete'; kind: 'rule'; table: TableRef; chain: string; handle: number }
  | {
      verb: 'add' | 'create' | 'delete' | 'flush';
      kind: 'map' | 'set';
      table: TableRef;
      name: string;
      /** body inside braces, e.g. "type ipv4_addr . inet_proto . inet_service : verdict;" */
      spec?: string;
    }
  | { verb: 'add' | 'delete'; kind: 'element'; table: TableRef; name: string; elements: string[] };

/** Quote a comment for nft: only a safe character set, so user data cannot break out of the string. */
export function nftComment(text: string): string {
  const safe = text.replace(/[^A-Za-z0-9 _.:/,=+@-]/g, '_').slice(0, 128);
  return `comment "${safe}"`;
}

function tableName(t: TableRef): string {
  return `${t.family} ${t.name}`;
}

function renderOp(op: NftOp): string {
  const t = tableName(op.table);
  switch (op.kind) {
    case 'table':
      if (op.verb === 'add' || op.verb === 'create') {
        return op.comment ? `${op.verb} table ${t} { ${nftComment(op.comment)}; }` : `${op.verb} table ${t}`;
      }
      return `${op.verb} table ${t}`;
    case 'chain': {
      if ((op.verb === 'add' || op.verb === 'create') && (op.spec || op.comment)) {
        const parts = [op.spec?.trim(), op.comment ? `${nftComment(op.comment)};` : undefined].filter(Boolean);
        return `${op.verb} chain ${t} ${op.name} { ${parts.join(' ')} }`;
      }
      return `${op.verb} chain ${t} ${op.name}`;
    }
    case 'rule':
      if (op.verb === 'delete') return `delete rule ${t} ${op.chain} handle ${op.handle}`;
      return `${op.verb} rule ${t} ${op.chain} ${op.rule}${op.comment ? ` ${nftComment(op.comment)}` : ''}`;
    case 'map':
    case 'set':
      if ((op.verb === 'add' || op.verb === 'create') && op.spec) {
        return `${op.verb} ${op.kind} ${t} ${op.name} { ${op.spec.trim()} }`;
      }
      return `${op.verb} ${op.kind} ${t} ${op.name}`;
    case 'element':
      return `${op.verb} element ${t} ${op.name} { ${op.elements.join(', ')} }`;
  }
}

export class Transaction {
  readonly ops: NftOp[] = [];

  add(op: NftOp): this {
    // Elements are batched into one statement per (verb, map): nft's cost is per statement, not per element.
    if (op.kind === 'element') {
      const last = this.ops[this.ops.length - 1];
      if (
        last?.kind === 'element' &&
        last.verb === op.verb &&
        last.name === op.name &&
        tableName(last.table) === tableName(op.table)
      ) {
        last.elements.push(...op.elements);
        return this;
      }
      this.ops.push({ ...op, elements: [...op.elements] });
      return this;
    }
    this.ops.push(op);
    return this;
  }

  get empty(): boolean {
    return this.ops.every((op) => op.kind === 'element' && op.elements.length === 0);
  }

  render(): string {
    return (
      this.ops
        .filter((op) => !(op.kind === 'element' && op.elements.length === 0))
        .map(renderOp)
        .join('\n') + '\n'
    );
  }
}

/** Apply a transaction atomically. Throws ExecError (with nft's message) if the kernel refuses any of it. */
export async function nftApply(tx: Transaction | string, ns: NsRef = CURRENT_NS): Promise<void> {
  const text = typeof tx === 'string' ? tx : tx.render();
  if (!text.trim()) return;
  await run(['nft', '-f', '-'], { ns, input: text });
}

/** The ruleset (or one table) as nft's JSON, parsed. */
export async function nftListJson(
  ns: NsRef = CURRENT_NS,
  table?: TableRef,
): Promise<{ nftables: Record<string, unknown>[] }> {
  const argv = table ? ['nft', '-j', 'list', 'table', table.family, table.name] : ['nft', '-j', 'list', 'ruleset'];
  const res = await runRaw(argv, { ns });
  if (res.code !== 0) {
    if (table && /No such file or directory/.test(res.stderr)) return { nftables: [] };
    throw new Error(`${argv.join(' ')}: ${res.stderr.trim()}`);
  }
  return JSON.parse(res.stdout || '{"nftables":[]}') as { nftables: Record<string, unknown>[] };
}

/** Delete a table if it exists (idempotent): `add` then `delete` in one transaction never fails on absence. */
export async function nftDeleteTable(table: TableRef, ns: NsRef = CURRENT_NS): Promise<void> {
  await nftApply(`add table ${tableName(table)}\ndelete table ${tableName(table)}\n`, ns);
}

/** Names of the chains, maps and sets in one table, read tersely (`nft -t`: no set elements), so the
 * listing stays cheap even when maps hold tens of thousands of elements. Undefined if the table is absent. */
export async function nftListTableObjects(
  table: TableRef,
  ns: NsRef = CURRENT_NS,
): Promise<{ chains: string[]; maps: string[]; sets: string[] } | undefined> {
  const argv = ['nft', '-t', '-j', 'list', 'table', table.family, table.name];
  const res = await runRaw(argv, { ns });
  if (res.code !== 0) {
    if (/No such file or directory/.test(res.stderr)) return undefined;
    throw new Error(`${argv.join(' ')}: ${res.stderr.trim()}`);
  }
  const doc = JSON.parse(res.stdout || '{"nftables":[]}') as { nftables: Record<string, { name?: string }>[] };
  const out = { chains: [] as string[], maps: [] as string[], sets: [] as string[] };
  for (const item of doc.nftables) {
    if (item.chain?.name) out.chains.push(item.chain.name);
    if (item.map?.name) out.maps.push(item.map.name);
    if (item.set?.name) out.sets.push(item.set.name);
  }
  return out;
}
