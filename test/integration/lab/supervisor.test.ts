import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabProcess } from '../../../src/lab/state.js';
import { readStatus, requestControl, supervisionPaths, writeUnit } from '../../../src/lab/supervision.js';
import { alive, startProcess, stopProcess } from '../../../src/lab/supervisor.js';
import { procExists } from '../../../src/os/proc.js';
import { signalGroup } from '../../../src/os/process.js';
import { Lab } from '../../helpers/lab.js';
import { until } from '../../helpers/until.js';

const SKIFF = join(resolve(import.meta.dirname, '../../..'), 'dist', 'skiff.mjs');

/**
 * `skiff supervise` as a real process, running real (tiny) programs: restart with back-off after a crash,
 * `restart`/`stop`/`start` requests, a restart taking the unit's whole process group, a new daemon adopting
 * what the old one left running, a removed unit stopped, and SIGTERM stopping everything.
 */
describe('skiff supervise', () => {
  const lab = new Lab('sup');
  let dir = '';
  let daemon: LabProcess;
  const paths = () => supervisionPaths(join(dir, 'supervise'));
  const status = (n: string) => readStatus(paths(), n);
  const kick = () => process.kill(daemon.pid, 'SIGHUP');

  const startDaemon = async (): Promise<LabProcess> => {
    rmSync(paths().ready, { force: true });
    const p = startProcess(
      'supervisor',
      [process.execPath, SKIFF, 'supervise', '--dir', paths().dir, '--backoff-base', '200ms', '--grace', '500ms'],
      { log: join(dir, 'supervisor.log') },
    );
    await until('the supervisor is ready', 20_000, async () => {
      if (!alive(p)) throw new Error(readFileSync(join(dir, 'supervisor.log'), 'utf8'));
      try {
        return readFileSync(paths().ready, 'utf8').trim() === String(p.pid) || undefined;
      } catch {
        return undefined;
      }
    });
    return p;
  };

  const unit = (name: string, script: string) =>
    writeUnit(paths(), { name, argv: ['sh', '-c', script], log: join(dir, `${name}.log`), env: { UNIT: name } });

  beforeAll(async () => {
    dir = lab.tmpdir();
    daemon = await startDaemon();
    lab.onCleanup(async () => {
      await stopProcess(daemon, 5000);
      // whatever a failed test left: every process group whose command line names the test's directory
      for (const pid of readdirSync('/proc').filter((f) => /^\d+$/.test(f))) {
        let cmdline: string;
        try {
          cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        } catch {
          continue;
        }
        if (cmdline.includes(dir)) signalGroup(Number(pid), 'SIGKILL');
      }
    });
  });
  afterAll(() => lab.cleanup());

  it('restarts a crashing unit with back-off and reports its exits', async () => {
    unit('crasher', 'echo "run $UNIT"; exit 3');
    kick();
    const st = await until('three restarts', 20_000, async () => {
      const s = status('crasher');
      return s && s.restarts >= 3 ? s : undefined;
    });
    expect(st.lastExit).toMatchObject({ code: 3, signal: null, requested: false });
    // 200 ms, 400 ms, 800 ms, ...: after the third crash it waits (backoff), it does not spin
    const later = await until('a back-off state', 5000, async () => {
      const s = status('crasher');
      return s?.state === 'backoff' ? s : undefined;
    });
    expect(Date.parse(later.nextStartAt!)).toBeGreaterThan(Date.parse(later.lastExit!.at));
    expect(readFileSync(join(dir, 'crasher.log'), 'utf8')).toContain('run crasher');
    requestControl(paths(), 'crasher', 'stop');
    kick();
    await until('crasher held', 5000, async () => status('crasher')?.held === true || undefined);
  });

  it('restart replaces the process and its whole group; stop holds it; start brings it back', async () => {
    const childFile = join(dir, 'server.child');
    unit('server', `sleep 600 & echo $! > ${childFile}; wait`);
    kick();
    const first = await until('server running', 10_000, async () => {
      const s = status('server');
      return s?.state === 'running' && s.pid ? s : undefined;
    });
    const grandchild = await until('the unit wrote its child pid', 5000, async () => {
      try {
        return Number(readFileSync(childFile, 'utf8').trim()) || undefined;
      } catch {
        return undefined;
      }
    });
    requestControl(paths(), 'server', 'restart');
    kick();
    const second = await until('a new server process', 10_000, async () => {
      const s = status('server');
      return s?.state === 'running' && s.pid && s.pid !== first.pid ? s : undefined;
    });
    expect(second.restarts).toBe(first.restarts + 1);
    expect(second.lastExit?.requested).toBe(true);
    await until('the old sleep is gone with its group', 5000, async () => !procExists(grandchild) || undefined);

    requestControl(paths(), 'server', 'stop');
    kick();
    const stopped = await until('server stopped', 10_000, async () => {
      const s = status('server');
      return s?.state === 'stopped' ? s : undefined;
    });
    expect(stopped.held).toBe(true);
    expect(procExists(second.pid!)).toBe(false);
    // held: no restart however long we wait for the next reconcile
    await new Promise((r) => setTimeout(r, 1500));
    expect(status('server')?.state).toBe('stopped');

    requestControl(paths(), 'server', 'start');
    kick();
    await until('server running again', 10_000, async () => status('server')?.state === 'running' || undefined);
  });

  it('a new supervisor adopts the running units instead of starting them twice', async () => {
    const before = status('server');
    expect(before?.state).toBe('running');
    process.kill(daemon.pid, 'SIGKILL');
    await until('the old supervisor is gone', 5000, async () => !alive(daemon) || undefined);
    expect(procExists(before!.pid!)).toBe(true); // units run in groups of their own
    daemon = await startDaemon();
    await new Promise((r) => setTimeout(r, 1500));
    const after = status('server');
    expect(after).toMatchObject({ state: 'running', pid: before!.pid, restarts: before!.restarts });
    // a held unit stays held under the new supervisor
    expect(status('crasher')).toMatchObject({ state: 'stopped', held: true });
    // and an adopted unit that dies is restarted (by polling: it is not the new daemon's child)
    process.kill(-before!.pid!, 'SIGKILL');
    const next = await until('the adopted unit restarted', 10_000, async () => {
      const s = status('server');
      return s?.state === 'running' && s.pid !== before!.pid ? s : undefined;
    });
    expect(next.restarts).toBe(before!.restarts + 1);
  });

  it('a removed unit is stopped; SIGTERM stops every unit and then the supervisor', async () => {
    unit('extra', 'exec sleep 600');
    kick();
    const extra = await until('extra running', 10_000, async () => status('extra')?.pid);
    rmSync(join(paths().units, 'extra.json'));
    kick();
    await until(
      'extra stopped and forgotten',
      10_000,
      async () => (!procExists(extra) && !status('extra')) || undefined,
    );
    const server = status('server')!.pid!;
    await stopProcess(daemon, 10_000);
    expect(alive(daemon)).toBe(false);
    expect(procExists(server)).toBe(false);
    expect(status('server')).toMatchObject({ state: 'stopped' });
    expect(status('server')?.held).toBeUndefined();
  });
});
