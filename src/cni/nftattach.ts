import { nftApply, nftListJson, type TableRef, Transaction } from '../os/nft.js';
import { parseAttachmentComment } from './names.js';

/**
 * Per-attachment nftables state, shaped so ADD, DEL and GC touch exactly one attachment's objects:
 * a table with fixed base chains that dispatch through verdict maps (`... vmap @m`) to one regular chain per
 * attachment. ADD adds that chain (its rules carry a comment naming network, container and interface) and the
 * map elements that jump to it; DEL deletes those elements and the chain; GC finds chains by their comment.
 * Base chains are flushed and rewritten on every ADD inside the same transaction, which keeps ADD idempotent.
 */
interface BaseChain {
  name: string;
  /** e.g. "type nat hook postrouting priority 100; policy accept;" */
  spec: string;
  rules: string[];
}

export interface Layout {
  table: TableRef;
  maps: { name: string; spec: string }[];
  baseChains: BaseChain[];
  /**
   * Maps keyed by what IPAM hands out (a pod address): the key belongs to the newest attachment holding it,
   * so an ADD takes it over from a stale attachment (one whose DEL never ran) instead of failing, and that
   * stale attachment's DEL or GC then removes only its own chain. Other maps (a hostPort) stay exclusive.
   */
  takeover?: string[];
}

export interface AttachmentRules {
  chain: string;
  comment: string;
  rules: string[];
  /** Map elements that jump to the chain, as { map, key } (key in nft syntax, e.g. `10.244.1.5`, `tcp . 8080`). */
  elements: { map: string; key: string }[];
}

function layoutOps(tx: Transaction, l: Layout): void {
  tx.add({ verb: 'add', kind: 'table', table: l.table });
  for (const m of l.maps) tx.add({ verb: 'add', kind: 'map', table: l.table, name: m.name, spec: m.spec });
  for (const c of l.baseChains) {
    tx.add({ verb: 'add', kind: 'chain', table: l.table, name: c.name, spec: c.spec });
    tx.add({ verb: 'flush', kind: 'chain', table: l.table, name: c.name });
    for (const r of c.rules) tx.add({ verb: 'add', kind: 'rule', table: l.table, chain: c.name, rule: r });
  }
}

/** The transaction that installs attachment chains (and the layout, idempotently). */
export function attachTx(l: Layout, ...parts: AttachmentRules[]): Transaction {
  const tx = new Transaction();
  layoutOps(tx, l);
  for (const a of parts) {
    tx.add({ verb: 'add', kind: 'chain', table: l.table, name: a.chain });
    tx.add({ verb: 'flush', kind: 'chain', table: l.table, name: a.chain });
    for (const r of a.rules)
      tx.add({ verb: 'add', kind: 'rule', table: l.table, chain: a.chain, rule: r, comment: a.comment });
  }
  for (const a of parts) {
    for (const e of a.elements)
      tx.add({ verb: 'add', kind: 'element', table: l.table, name: e.map, elements: [`${e.key} : jump ${a.chain}`] });
  }
  return tx;
}

export async function attach(l: Layout, ...parts: AttachmentRules[]): Promise<void> {
  try {
    await nftApply(attachTx(l, ...parts));
  } catch (err) {
    // "File exists": a key is held by another chain. Where the layout allows it, take the key over, in one
    // transaction with the attachment itself; anything else (or nothing to take over) is the caller's error.
    if (!l.takeover?.length || !/File exists/.test((err as Error).message)) throw err;
    const st = await readTable(l.table);
    const tx = new Transaction();
    for (const a of parts) {
      for (const e of a.elements) {
        if (!l.takeover.includes(e.map)) continue;
        const held = st?.elements.find((x) => x.map === e.map && x.key === e.key && x.target !== a.chain);
        if (held) tx.add({ verb: 'delete', kind: 'element', table: l.table, name: e.map, elements: [e.key] });
      }
    }
    if (tx.empty) throw err;
    for (const op of attachTx(l, ...parts).ops) tx.add(op);
    await nftApply(tx);
  }
}

interface TableState {
  /** chain name → comment of its first commented rule */
  chains: Map<string, string | undefined>;
  /** per map: [key as nft text, jump target] */
  elements: { map: string; key: string; target: string }[];
}

type Json = Record<string, unknown>;

function keyText(k: unknown): string | undefined {
  if (typeof k === 'string' || typeof k === 'number') return String(k);
  if (k && typeof k === 'object' && 'concat' in k && Array.isArray((k as { concat: unknown[] }).concat)) {
    const parts = (k as { concat: unknown[] }).concat.map(keyText);
    return parts.every((p) => p !== undefined) ? parts.join(' . ') : undefined;
  }
  return undefined;
}

async function readTable(table: TableRef): Promise<TableState | undefined> {
  const doc = await nftListJson(undefined, table);
  if (!doc.nftables.some((o) => 'table' in o)) return undefined;
  const st: TableState = { chains: new Map(), elements: [] };
  for (const o of doc.nftables) {
    const chain = o.chain as Json | undefined;
    if (chain && typeof chain.name === 'string' && !chain.hook) st.chains.set(chain.name, st.chains.get(chain.name));
    const rule = o.rule as Json | undefined;
    if (rule && typeof rule.chain === 'string' && typeof rule.comment === 'string' && !st.chains.get(rule.chain)) {
      st.chains.set(rule.chain, rule.comment);
    }
    const map = o.map as Json | undefined;
    if (map && typeof map.name === 'string' && Array.isArray(map.elem)) {
      for (const el of map.elem as unknown[]) {
        if (!Array.isArray(el)) continue;
        let k = el[0] as unknown;
        const v = el[1] as unknown;
        if (k && typeof k === 'object' && 'elem' in k) k = (k as { elem: { val: unknown } }).elem.val;
        const key = keyText(k);
        const target = (v as { jump?: { target?: string } } | undefined)?.jump?.target;
        if (key !== undefined && target) st.elements.push({ map: map.name, key, target });
      }
    }
  }
  return st;
}

function detachOps(tx: Transaction, table: TableRef, st: TableState, chain: string): void {
  for (const e of st.elements.filter((x) => x.target === chain)) {
    tx.add({ verb: 'delete', kind: 'element', table, name: e.map, elements: [e.key] });
  }
  if (st.chains.has(chain)) tx.add({ verb: 'delete', kind: 'chain', table, name: chain });
}

/**
 * Remove one attachment. Fast path: one transaction deleting the known elements and the chain, each element
 * first re-added with this chain's verdict, so the transaction fails (and deletes nothing) when another
 * attachment has taken the key over; when it fails (that, already gone, or keys unknown), read the table and
 * delete exactly what still points at the chain.
 */
export async function detach(
  l: Layout,
  chain: string | string[],
  /** elements to delete, each with the chain it jumps to when `chain` names several */
  knownElements: { map: string; key: string; chain?: string }[],
): Promise<void> {
  const chains = Array.isArray(chain) ? chain : [chain];
  if (knownElements.length) {
    const tx = new Transaction();
    for (const e of knownElements) {
      const target = e.chain ?? (chains.length === 1 ? chains[0] : undefined);
      if (target)
        tx.add({ verb: 'add', kind: 'element', table: l.table, name: e.map, elements: [`${e.key} : jump ${target}`] });
      tx.add({ verb: 'delete', kind: 'element', table: l.table, name: e.map, elements: [e.key] });
    }
    for (const c of chains) tx.add({ verb: 'delete', kind: 'chain', table: l.table, name: c });
    try {
      await nftApply(tx);
      return;
    } catch {
      /* fall back to reading the table */
    }
  }
  const st = await readTable(l.table);
  if (!st) return;
  const tx = new Transaction();
  for (const c of chains) detachOps(tx, l.table, st, c);
  if (tx.ops.length) await nftApply(tx);
}

/** Attachments (parsed from rule comments) that have a chain with `prefix` in this table. */
export async function listAttachments(
  table: TableRef,
  prefix: string,
): Promise<{ chain: string; network: string; containerId: string; ifname: string }[]> {
  const st = await readTable(table);
  if (!st) return [];
  const out = [];
  for (const [chain, comment] of st.chains) {
    if (!chain.startsWith(prefix) || !comment) continue;
    const a = parseAttachmentComment(comment);
    if (a) out.push({ chain, ...a });
  }
  return out;
}

/** GC: delete the chains (and their elements) of `network`'s attachments that `keep` rejects. */
export async function gcAttachments(
  table: TableRef,
  prefix: string,
  network: string,
  keep: (containerId: string, ifname: string) => boolean,
): Promise<string[]> {
  const st = await readTable(table);
  if (!st) return [];
  const tx = new Transaction();
  const removed: string[] = [];
  for (const [chain, comment] of st.chains) {
    if (!chain.startsWith(prefix) || !comment) continue;
    const a = parseAttachmentComment(comment);
    if (!a || a.network !== network || keep(a.containerId, a.ifname)) continue;
    detachOps(tx, table, st, chain);
    removed.push(chain);
  }
  if (tx.ops.length) await nftApply(tx);
  return removed;
}
