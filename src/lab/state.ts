import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/** DIR/lab.json: everything `skiff down` needs to remove a lab, even after `skiff up` crashed midway. */
const processSchema = z.object({
  name: z.string(),
  pid: z.number().int(),
  startTicks: z.number(),
  netns: z.string().optional(),
  log: z.string(),
  argv: z.array(z.string()),
});
export type LabProcess = z.infer<typeof processSchema>;

export const labSchema = z.object({
  version: z.literal(1),
  prefix: z.string().regex(/^[a-z0-9][a-z0-9-]{1,23}$/),
  stateDir: z.string(),
  nodes: z.number().int().min(1),
  cni: z.enum(['bridge', 'vxlan']),
  proxyMode: z.enum(['nftables', 'userspace']),
  /** `skiff up --ip-family` (absent in labs made before it: ipv4) */
  ipFamily: z.enum(['ipv4', 'ipv6', 'dual']).optional(),
  /** `skiff up --cni-conf`: the conflist template the nodes run on (and --cni-bin's plugin path) */
  cniConf: z.string().optional(),
  cniBin: z.string().optional(),
  store: z.enum(['sqlite', 'etcd']),
  createdAt: z.string(),
  namespaces: z.array(z.string()).default([]),
  processes: z.array(processSchema).default([]),
  apiPort: z.number().int().optional(),
  /** stopped: `skiff stop` (nothing runs, the state is kept); `skiff up` resumes it */
  phase: z.enum(['creating', 'ready', 'failed', 'stopped']).default('creating'),
  /** when `skiff up` last resumed a stopped lab */
  resumedAt: z.string().optional(),
});
export type LabState = z.infer<typeof labSchema>;

export function labFile(dir: string): string {
  return join(dir, 'lab.json');
}

export function readLab(dir: string): LabState | undefined {
  const f = labFile(dir);
  if (!existsSync(f)) return undefined;
  return labSchema.parse(JSON.parse(readFileSync(f, 'utf8')));
}

export function writeLab(s: LabState): void {
  mkdirSync(s.stateDir, { recursive: true });
  const f = labFile(s.stateDir);
  writeFileSync(`${f}.tmp`, JSON.stringify(s, null, 2));
  renameSync(`${f}.tmp`, f);
}

export const DEFAULT_STATE_DIR = process.env.SKIFF_STATE_DIR ?? '/var/lib/skiff/lab';
