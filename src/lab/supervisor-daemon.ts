import type { ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { procStartTicks } from '../os/proc.js';
import { isSameProcess, signalGroup, spawnProgram } from '../os/process.js';
import type { Logger } from '../util/log.js';
import {
  nextConsecutive,
  readStatus,
  readUnits,
  removeStatus,
  restartDelayMs,
  takeControlRequests,
  writeStatus,
  type BackoffPolicy,
  type ControlRequest,
  type SupervisionPaths,
  type Unit,
  type UnitExit,
  type UnitStatus,
} from './supervision.js';

/** One supervised unit: its definition, its current process (spawned, or adopted after a daemon restart). */
interface Slot {
  unit: Unit;
  child?: ChildProcess;
  pid?: number;
  startTicks?: number;
  startedAt?: number;
  restarts: number;
  consecutive: number;
  lastExit?: UnitExit;
  /** `skiff stop NAME`: not restarted until `skiff start NAME` */
  held: boolean;
  /** the current process is being stopped on purpose: its exit is not a crash */
  stopRequested: boolean;
  restartTimer?: NodeJS.Timeout;
  nextStartAt?: number;
  killTimer?: NodeJS.Timeout;
  exited?: Promise<void>;
}

/** Kubelets stop first (so nothing recreates pods mid-shutdown), the API path last, as `skiff down` always did. */
function shutdownPhase(name: string): number {
  if (name.startsWith('kubelet')) return 0;
  if (name.startsWith('forwarder')) return 3;
  if (name.startsWith('apiserver') || name === 'etcd') return 2;
  return 1;
}

/**
 * `skiff supervise`: runs every unit under DIR/supervise/units, restarts a unit that exits with back-off
 * (Restart=always on the VMs), applies `skiff restart|stop|start` requests, and reports each unit's state in
 * DIR/supervise/status. Children run in process groups of their own, so a restart stops a component with
 * everything it started. SIGTERM stops every unit (kubelets first) and then the daemon.
 * A restarted daemon adopts the processes its predecessor left running (from their status files).
 */
export class SupervisorDaemon {
  private readonly slots = new Map<string, Slot>();
  private stopping = false;
  private tick?: NodeJS.Timeout;

  constructor(
    private readonly paths: SupervisionPaths,
    private readonly policy: BackoffPolicy,
    private readonly log: Logger,
    private readonly graceMs = 2000,
  ) {}

  /** Resolves once every unit is stopped after SIGTERM/SIGINT. */
  run(): Promise<void> {
    return new Promise((resolve) => {
      const shutdown = (): void => {
        if (this.stopping) return;
        this.stopping = true;
        void this.shutdown().then(resolve);
      };
      process.on('SIGTERM', shutdown);
      process.on('SIGINT', shutdown);
      process.on('SIGHUP', () => this.reconcile());
      mkdirSync(this.paths.dir, { recursive: true, mode: 0o700 });
      writeFileSync(this.paths.ready, `${process.pid}\n`);
      this.reconcile();
      this.tick = setInterval(() => this.reconcile(), 1000);
    });
  }

  /** Converge on the unit files and apply pending requests; safe to call at any time. */
  reconcile(): void {
    if (this.stopping) return;
    const units = new Map(readUnits(this.paths).map((u) => [u.name, u]));
    for (const [name, slot] of this.slots) {
      if (units.has(name)) continue;
      this.slots.delete(name);
      void this.stopSlot(slot).then(() => removeStatus(this.paths, name));
    }
    for (const [name, unit] of units) {
      let slot = this.slots.get(name);
      if (!slot) {
        slot = this.adopt(unit);
        this.slots.set(name, slot);
      }
      slot.unit = unit;
      if (
        slot.pid !== undefined &&
        !slot.child &&
        !isSameProcess({ pid: slot.pid, startTicks: slot.startTicks ?? -1 })
      ) {
        this.onExit(slot, null, null); // an adopted process is gone
      }
    }
    for (const [name, req] of takeControlRequests(this.paths)) {
      const slot = this.slots.get(name);
      if (slot) this.apply(slot, req);
      else this.log.warn({ unit: name, request: req }, 'request for an unknown unit ignored');
    }
    for (const slot of this.slots.values()) {
      if (slot.pid === undefined && !slot.held && !slot.restartTimer) this.start(slot);
    }
  }

  /** A slot for a new unit, taking over its process if a previous daemon left it running. */
  private adopt(unit: Unit): Slot {
    const prev = readStatus(this.paths, unit.name);
    const slot: Slot = {
      unit,
      restarts: prev?.restarts ?? -1, // the first start makes it 0
      consecutive: 0,
      lastExit: prev?.lastExit,
      held: prev?.held ?? false,
      stopRequested: false,
    };
    if (prev?.state === 'running' && prev.pid !== undefined && prev.startTicks !== undefined) {
      if (isSameProcess({ pid: prev.pid, startTicks: prev.startTicks })) {
        slot.pid = prev.pid;
        slot.startTicks = prev.startTicks;
        slot.startedAt = prev.startedAt ? Date.parse(prev.startedAt) : Date.now();
        slot.restarts = prev.restarts;
        this.log.info({ unit: unit.name, pid: prev.pid }, 'adopted a running unit');
      }
    }
    return slot;
  }

  private apply(slot: Slot, req: ControlRequest): void {
    this.log.info({ unit: slot.unit.name, request: req }, 'request');
    if (req === 'stop') {
      slot.held = true;
      this.clearRestart(slot);
      if (slot.pid === undefined) this.report(slot);
      else void this.stopSlot(slot);
      return;
    }
    slot.held = false;
    if (slot.pid === undefined) {
      this.clearRestart(slot);
      this.start(slot); // a waiting restart (or a stopped unit) starts now
      return;
    }
    if (req === 'restart') void this.stopSlot(slot); // its exit handler starts the next run at once
  }

  private clearRestart(slot: Slot): void {
    if (slot.restartTimer) clearTimeout(slot.restartTimer);
    slot.restartTimer = undefined;
    slot.nextStartAt = undefined;
  }

  private start(slot: Slot): void {
    if (this.stopping) return;
    const u = slot.unit;
    mkdirSync(dirname(u.log), { recursive: true });
    const fd = openSync(u.log, 'a');
    let child: ChildProcess;
    try {
      child = spawnProgram(u.argv, { detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, ...u.env } });
    } finally {
      closeSync(fd);
    }
    slot.restarts += 1;
    slot.child = child;
    slot.pid = child.pid;
    slot.startTicks = child.pid ? (procStartTicks(child.pid) ?? -1) : -1;
    slot.startedAt = Date.now();
    slot.stopRequested = false;
    this.clearRestart(slot);
    slot.exited = new Promise((resolve) => {
      let done = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (done) return;
        done = true;
        if (slot.child === child) this.onExit(slot, code, signal);
        resolve();
      };
      child.once('exit', finish);
      child.once('error', (err) => {
        this.log.error({ unit: u.name, err: err.message }, 'could not start');
        finish(127, null);
      });
    });
    this.log.info({ unit: u.name, pid: child.pid, restarts: slot.restarts }, 'started');
    this.report(slot);
  }

  private onExit(slot: Slot, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.killTimer) clearTimeout(slot.killTimer);
    const ranMs = Date.now() - (slot.startedAt ?? Date.now());
    const requested = slot.stopRequested;
    slot.lastExit = { code, signal, at: new Date().toISOString(), ranMs, requested };
    slot.child = undefined;
    slot.pid = undefined;
    slot.startTicks = undefined;
    slot.stopRequested = false;
    if (this.stopping || slot.held || !this.slots.has(slot.unit.name)) {
      this.log.info({ unit: slot.unit.name, code, signal }, 'stopped');
      this.report(slot);
      return;
    }
    if (requested) {
      this.start(slot); // `skiff restart`: at once, and the crash series is not extended
      return;
    }
    slot.consecutive = nextConsecutive(this.policy, slot.consecutive, ranMs);
    const delay = restartDelayMs(this.policy, slot.consecutive);
    slot.nextStartAt = Date.now() + delay;
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      slot.nextStartAt = undefined;
      if (slot.pid === undefined && !slot.held) this.start(slot);
    }, delay);
    this.log.warn(
      { unit: slot.unit.name, code, signal, ranMs, restartInMs: delay },
      'exited; restarting after back-off',
    );
    this.report(slot);
  }

  /** SIGTERM the unit's process group, SIGKILL after the grace period; resolves when it has exited. */
  private async stopSlot(slot: Slot): Promise<void> {
    this.clearRestart(slot);
    const pid = slot.pid;
    if (pid === undefined) return;
    slot.stopRequested = true;
    signalGroup(pid, 'SIGTERM');
    if (slot.killTimer) clearTimeout(slot.killTimer);
    slot.killTimer = setTimeout(() => signalGroup(pid, 'SIGKILL'), this.graceMs);
    if (slot.child) {
      await slot.exited;
      return;
    }
    // adopted: not our child, so poll (bounded: SIGKILL has been sent by then)
    const deadline = Date.now() + this.graceMs + 2000;
    while (isSameProcess({ pid, startTicks: slot.startTicks ?? -1 }) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    this.onExit(slot, null, 'SIGTERM');
  }

  private report(slot: Slot): void {
    const state: UnitStatus['state'] =
      slot.pid !== undefined ? 'running' : slot.restartTimer && !this.stopping ? 'backoff' : 'stopped';
    writeStatus(this.paths, {
      name: slot.unit.name,
      state,
      ...(slot.pid !== undefined
        ? {
            pid: slot.pid,
            startTicks: slot.startTicks,
            startedAt: new Date(slot.startedAt ?? Date.now()).toISOString(),
          }
        : {}),
      restarts: Math.max(slot.restarts, 0),
      ...(slot.held ? { held: true } : {}),
      ...(slot.lastExit ? { lastExit: slot.lastExit } : {}),
      ...(slot.nextStartAt ? { nextStartAt: new Date(slot.nextStartAt).toISOString() } : {}),
    });
  }

  private async shutdown(): Promise<void> {
    if (this.tick) clearInterval(this.tick);
    this.log.info('stopping every unit');
    const slots = [...this.slots.values()];
    for (const phase of [0, 1, 2, 3]) {
      await Promise.all(slots.filter((s) => shutdownPhase(s.unit.name) === phase).map((s) => this.stopSlot(s)));
    }
    rmSync(this.paths.ready, { force: true });
  }
}
