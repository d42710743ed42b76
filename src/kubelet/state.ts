import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { privateDir } from '../util/private.js';

/**
 * What the kubelet keeps on disk per pod (<root-dir>/pods/<uid>/state.json) so that a restarted kubelet
 * adopts running pods instead of recreating them: the sandbox (netns, IPs) and each container's process.
 */
const terminated = z.object({
  exitCode: z.number().int(),
  reason: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string(),
  signal: z.number().int().optional(),
  message: z.string().optional(),
});
export type Terminated = z.infer<typeof terminated>;

const containerState = z.object({
  handle: z.object({ pid: z.number().int(), startTicks: z.number(), startedAt: z.string() }).optional(),
  restartCount: z.number().int().default(0),
  /** crashes in a row, for the back-off (restartCount never goes down; this resets after a long run) */
  crashLoop: z.number().int().default(0),
  everStarted: z.boolean().default(false),
  lastTerminated: terminated.optional(),
  /** the run that ended and will not (or not yet) be restarted */
  terminated: terminated.optional(),
  nextStartAt: z.number().optional(),
  containerID: z.string().optional(),
});
export type ContainerState = z.infer<typeof containerState>;

export const podStateSchema = z.object({
  uid: z.string(),
  namespace: z.string(),
  name: z.string(),
  netns: z.string(),
  sandboxReady: z.boolean().default(false),
  podIPs: z.array(z.string()).default([]),
  startTime: z.string(),
  containers: z.record(containerState).default({}),
});
export type PodState = z.infer<typeof podStateSchema>;

export class StateStore {
  constructor(readonly rootDir: string) {
    privateDir(rootDir); // pod state, volumes' contents (secrets), CNI cache: root's alone
    mkdirSync(join(rootDir, 'pods'), { recursive: true });
  }

  podDir(uid: string): string {
    return join(this.rootDir, 'pods', uid);
  }

  save(s: PodState): void {
    const dir = this.podDir(s.uid);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'state.json.tmp'), JSON.stringify(s, null, 1));
    renameSync(join(dir, 'state.json.tmp'), join(dir, 'state.json'));
  }

  remove(uid: string): void {
    rmSync(this.podDir(uid), { recursive: true, force: true });
  }

  loadAll(): PodState[] {
    const dir = join(this.rootDir, 'pods');
    if (!existsSync(dir)) return [];
    const out: PodState[] = [];
    for (const uid of readdirSync(dir)) {
      try {
        out.push(podStateSchema.parse(JSON.parse(readFileSync(join(dir, uid, 'state.json'), 'utf8'))));
      } catch {
        /* half-written or foreign directory: GC removes it */
      }
    }
    return out;
  }
}
