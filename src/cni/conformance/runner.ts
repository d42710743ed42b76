import { errorMessage } from '../../util/errors.js';
import { ConformanceHarness } from './harness.js';
import { explain } from './known.js';
import { CASES } from './registry.js';
import type { LoadedList } from '../runtime/config.js';
import { CaseFailure, type CaseOutcome, type ConformanceCase } from './types.js';

/** Runs the cases against one or two plugin directories (each in its own throwaway namespaces). */
export interface Column {
  name: string;
  path: string[];
}

export interface ConformanceOptions {
  columns: Column[];
  network: (path: string[]) => (ipamDir: string) => LoadedList;
  /** the built-in network runs at the highest version each directory's main plugin lists */
  adaptVersion: boolean;
  concurrency: number;
  only?: string[];
  /** namespace prefix; each column gets its own (prefix + index) */
  prefix?: string;
  onResult?: (column: string, c: ConformanceCase, o: CaseOutcome) => void;
}

export interface ConformanceReport {
  columns: { name: string; path: string[]; network: string; cniVersion: string; versions: string[] }[];
  rows: { id: string; title: string; outcomes: CaseOutcome[] }[];
}

export async function runConformance(o: ConformanceOptions): Promise<ConformanceReport> {
  const cases = o.only ? CASES.filter((c) => o.only?.includes(c.id)) : [...CASES];
  const report: ConformanceReport = {
    columns: [],
    rows: cases.map((c) => ({ id: c.id, title: c.title, outcomes: [] })),
  };
  for (const [index, col] of o.columns.entries()) {
    const h = new ConformanceHarness({
      path: col.path,
      network: o.network(col.path),
      concurrency: o.concurrency,
      adaptVersion: o.adaptVersion,
      ...(o.prefix ? { prefix: `${o.prefix}${index}` } : {}),
    });
    try {
      await h.open();
      report.columns.push({
        name: col.name,
        path: col.path,
        network: h.net.list.name,
        cniVersion: h.net.list.cniVersion,
        versions: h.versions,
      });
      for (const [i, c] of cases.entries()) {
        const outcome = await runCase(c, h);
        report.rows[i]?.outcomes.push(outcome);
        o.onResult?.(col.name, c, outcome);
      }
    } finally {
      await h.close();
    }
  }
  return report;
}

async function runCase(c: ConformanceCase, h: ConformanceHarness): Promise<CaseOutcome> {
  try {
    return await c.run(h);
  } catch (err) {
    const detail = err instanceof CaseFailure ? err.message : `error: ${errorMessage(err)}`;
    return explain(c.id, { status: 'fail', detail });
  }
}

/** Failures of the first column (the plugins under test) decide the exit status; a reference only informs. */
export function failures(r: ConformanceReport): number {
  return r.rows.filter((row) => row.outcomes[0]?.status === 'fail').length;
}

export function formatTable(r: ConformanceReport): string {
  const head = ['case', ...r.columns.map((c) => c.name)];
  const cell = (o: CaseOutcome | undefined) => {
    if (!o) return '-';
    const text = o.known ? `known departure: ${o.known}` : (o.detail ?? '');
    return `${o.status.toUpperCase()}${text ? ` ${text}` : ''}`.slice(0, 100);
  };
  const rows = r.rows.map((row) => [row.id, ...row.outcomes.map(cell)]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const cols = r.columns.map(
    (c) =>
      `${c.name}: ${c.path.join(':')} (network ${c.network} at ${c.cniVersion}; VERSION lists ${c.versions.join(' ')})`,
  );
  return [...cols, '', line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
