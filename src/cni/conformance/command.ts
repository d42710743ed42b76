import { Command, InvalidArgumentError } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UserError } from '../../util/errors.js';
import { parseArgs } from '../../cmd/parse.js';
import { CASES } from './registry.js';
import { builtinNetwork, templateNetwork } from './network.js';
import { type Column, failures, formatTable, runConformance } from './runner.js';

/** `skiff cni conformance`: hold a plugin directory to the CNI spec, optionally beside a reference one. */
export async function main(argv: string[]): Promise<void> {
  const collect = (v: string, prev: string[] = []) => [...prev, v];
  const cmd = new Command('skiff cni conformance')
    .description(
      'run the CNI conformance cases against a plugin directory, inside throwaway network namespaces (root only)',
    )
    .requiredOption('--cni-bin <dir>', 'plugins under test, repeatable (CNI_PATH order)', collect)
    .option(
      '--conf <file>',
      'conflist under test, a template as for skiff up --cni-conf (default: bridge → bandwidth → portmap → loopback)',
    )
    .option('--reference <dir>', 'run the same cases against this directory too and show both side by side')
    .option(
      '--concurrency <n>',
      'concurrent ADDs in the concurrency case',
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 2 || n > 64) throw new InvalidArgumentError('expected 2-64');
        return n;
      },
      8,
    )
    .option('--only <ids>', `comma-separated case ids (${CASES.map((c) => c.id).join(', ')})`)
    .option('--netns-prefix <prefix>', 'name prefix of the throwaway namespaces (default: skcf + random)')
    .option('-o, --output <format>', 'table or json', 'table');
  if (!parseArgs(cmd, argv)) return;
  const o = cmd.opts<{
    cniBin: string[];
    conf?: string;
    reference?: string;
    concurrency: number;
    only?: string;
    netnsPrefix?: string;
    output: string;
  }>();
  if (!['table', 'json'].includes(o.output))
    throw new UserError(`skiff cni conformance: -o ${o.output}: table or json`, 2);
  if (process.getuid?.() !== 0) throw new UserError('skiff cni conformance needs root (it creates network namespaces)');
  const only = o.only?.split(',').filter(Boolean);
  for (const id of only ?? [])
    if (!CASES.some((c) => c.id === id)) throw new UserError(`skiff cni conformance: unknown case ${id}`, 2);
  const under = o.cniBin.flatMap((d) => d.split(':')).map((d) => resolve(d));
  const columns: Column[] = [{ name: 'under test', path: under }];
  if (o.reference) columns.push({ name: 'reference', path: [resolve(o.reference)] });
  for (const c of columns)
    for (const d of c.path) if (!existsSync(d)) throw new UserError(`skiff cni conformance: no such directory ${d}`, 2);
  if (o.conf && !existsSync(o.conf)) throw new UserError(`skiff cni conformance: no such file ${o.conf}`, 2);
  const conf = o.conf ? resolve(o.conf) : undefined;
  const report = await runConformance({
    columns,
    network: (path) => (conf ? templateNetwork(conf) : builtinNetwork(path)),
    adaptVersion: !conf,
    concurrency: o.concurrency,
    only,
    prefix: o.netnsPrefix,
    onResult:
      o.output === 'table' ? (col, c, out) => process.stderr.write(`${col}: ${c.id} ${out.status}\n`) : undefined,
  });
  process.stdout.write(o.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : `${formatTable(report)}\n`);
  const failed = failures(report);
  if (failed) throw new UserError(`skiff cni conformance: ${failed} case(s) failed for ${under.join(':')}`, 1);
}
