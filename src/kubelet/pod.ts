import { rmSync } from 'node:fs';
import { containerFiles, rotateLog } from './logs.js';
import type { ServedContainer } from './server/server.js';
import type { Logger } from '../util/log.js';
import { errorMessage } from '../util/errors.js';
import { BoundedFrequencyRunner } from '../util/runner.js';
import { addNetns, delNetns, netnsExists, netnsPath } from '../os/netns.js';
import { ApiClient, isStatus } from './api.js';
import { afterExit, type BackoffPolicy, shouldRestart } from './backoff.js';
import { type CgroupMode, removePodCgroups } from '../os/cgroups.js';
import { setupContainerCgroups } from './cgroups.js';
import type { PodNetwork } from './cni.js';
import { capabilityArgs } from './hostports.js';
import { type ProcHandle, initPid, isAlive, readExitCode, signalContainer, startContainerProcess } from './process.js';
import { type DnsSettings, writePodFiles } from './podfiles.js';
import type { ImageRunner } from './images.js';
import { ProbeTracker, runProbe } from './probes.js';
import type { ContainerState, PodState, StateStore, Terminated } from './state.js';
import { computeStatus, type ContainerView } from './status.js';
import type { Container, ContainerStateJson, Pod, PodCondition } from './types.js';
import { containerCapabilities, containerView } from './view.js';
import type { ViewBind } from '../os/rootview.js';
import { containerEnv } from './env.js';
import { DownwardError } from './fieldpath.js';
import { podServiceEnv } from './servicelinks.js';
import { ConfigError, ConfigSources } from './sources.js';
import { containerVolumeBinds, VolumeError } from './volumes/index.js';
import { refTo, type EventRecorder } from '../events/index.js';

export interface KubeletContext {
  api: ApiClient;
  network: PodNetwork;
  store: StateStore;
  nodeName: string;
  nodeIP: string;
  netnsPrefix: string;
  /** argv prefix that runs a built-in image: [node, dist/skiff.mjs, 'image'] */
  imageEntry: string[];
  images: ImageRunner;
  /** host paths of the skiff install that built-in images need, bound read-only into every view */
  installPaths: string[];
  dns: DnsSettings;
  backoff: BackoffPolicy;
  cgroups: CgroupMode;
  log: Logger;
  /** the kubelet's event recorder (source kubelet/<node>) */
  events: EventRecorder;
  /** Periodic pod sync (probes, restarts); default 1 s. */
  syncIntervalMs?: number;
}

/** How often a repeating warning (BackOff, Failed) is recorded while it lasts: the real kubelet's pod sync period. */
const REPEAT_EVENT_MS = 10_000;

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const IFNAME = 'eth0';

/** pod netns name: "<prefix>-pod-<first 8 of uid>", so lab cleanup by prefix removes it */
export function podNetnsName(prefix: string, uid: string): string {
  return `${prefix}-pod-${uid
    .replace(/[^a-z0-9]/gi, '')
    .slice(0, 8)
    .toLowerCase()}`;
}

function podHostname(pod: Pod): string {
  return (pod.spec.hostname ?? pod.metadata.name).slice(0, 63);
}

interface Probes {
  startup?: ProbeTracker;
  liveness?: ProbeTracker;
  readiness?: ProbeTracker;
}

/**
 * One worker per pod: creates the sandbox, starts and restarts containers, runs probes, reports status,
 * and on deletion stops everything gracefully and confirms the deletion to the API. Syncs are serialized
 * (a sync requested while one runs is coalesced into one more).
 */
export class PodWorker {
  private pod: Pod | undefined;
  private readonly probes = new Map<string, Probes>();
  private lastReported = '';
  private previousConditions: PodCondition[] | undefined;
  private terminated = false;
  private stopped = false;
  private confirmRetryAt = 0;
  private sandboxRetryAt = 0;
  private sandboxError: string | undefined;
  private readonly unsupported = new Map<string, { reason: string; message: string }>();
  /** container/reason → when that repeating warning was last recorded */
  private readonly lastWarned = new Map<string, number>();
  /** One sync at a time: on every update at once, and every second for probes and restarts. */
  private readonly loop: BoundedFrequencyRunner;
  /** containers found running at adoption: their readiness starts from the last reported value, so a
   *  kubelet restart does not flap endpoints */
  private readonly adopted: Set<string>;

  constructor(
    private readonly ctx: KubeletContext,
    readonly state: PodState,
    private readonly onGone: (uid: string) => void,
  ) {
    this.adopted = new Set(
      Object.entries(state.containers)
        .filter(([, c]) => c.handle)
        .map(([n]) => n),
    );
    this.loop = new BoundedFrequencyRunner(() => this.sync(), {
      name: `pod ${state.namespace}/${state.name}`,
      minIntervalMs: 0,
      maxIntervalMs: ctx.syncIntervalMs ?? 1000,
      onError: (err) => this.ctx.log.warn({ pod: this.key(), err: errorMessage(err) }, 'pod sync failed'),
    });
  }

  static fresh(ctx: KubeletContext, pod: Pod, onGone: (uid: string) => void): PodWorker {
    const state: PodState = {
      uid: pod.metadata.uid,
      namespace: pod.metadata.namespace,
      name: pod.metadata.name,
      netns: podNetnsName(ctx.netnsPrefix, pod.metadata.uid),
      sandboxReady: false,
      podIPs: [],
      startTime: new Date().toISOString(),
      containers: {},
    };
    const w = new PodWorker(ctx, state, onGone);
    w.pod = pod;
    return w;
  }

  get uid(): string {
    return this.state.uid;
  }

  /** The pod as last seen from the API (undefined once deleted there). */
  get current(): Pod | undefined {
    return this.pod;
  }

  /**
   * What the kubelet server needs of one container: its log files and, while an instance runs, how to join it
   * (undefined when the pod has no such container).
   */
  served(name: string): ServedContainer | undefined {
    const c = this.pod?.spec.containers.find((x) => x.name === name);
    if (!c) return undefined;
    const f = containerFiles(this.ctx.store.podDir(this.state.uid), name);
    const h = this.state.containers[name]?.handle;
    const running = (): boolean => {
      const now = this.state.containers[name]?.handle;
      return !!now && now === h && isAlive(now);
    };
    return {
      log: f.log,
      previousLog: f.previousLog,
      ...(c.stdin ? { stdin: f.stdin } : {}),
      tty: c.tty === true,
      running,
      ...(h && isAlive(h) ? { exec: { initPid: initPid(h), capabilities: containerCapabilities(c) } } : {}),
    };
  }

  /** Idempotent. */
  start(): void {
    this.kick();
  }

  /** End the loop (kubelet shutdown, pod gone); a running sync finishes. */
  stopTimer(): void {
    void this.loop.stop();
  }

  /** New object from the API, or undefined when it no longer exists there. */
  update(pod: Pod | undefined): void {
    this.pod = pod;
    this.kick();
  }

  /** Ask for a sync (coalesced: one runs at a time, requests meanwhile become one more). */
  kick(): void {
    this.loop.start();
    this.loop.run();
  }

  /** An event about one container: the pod, with the container's field path (kubelet's container ref). */
  private containerEvent(pod: Pod, c: Container, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.ctx.events.event(refTo('Pod', 'v1', pod, `spec.containers{${c.name}}`), type, reason, message);
  }

  /** A warning that repeats every sync while it lasts, recorded once per REPEAT_EVENT_MS (deduplicated: count++). */
  private repeatingWarning(pod: Pod, c: Container, reason: string, message: string): void {
    const key = `${c.name}/${reason}`;
    const now = Date.now();
    if (now - (this.lastWarned.get(key) ?? 0) < REPEAT_EVENT_MS) return;
    this.lastWarned.set(key, now);
    this.containerEvent(pod, c, 'Warning', reason, message);
  }

  private key(): string {
    return `${this.state.namespace}/${this.state.name}`;
  }

  private async sync(): Promise<void> {
    if (this.terminated) return;
    const pod = this.pod;
    if (!pod || pod.metadata.deletionTimestamp) {
      await this.terminate(pod);
      return;
    }
    const now = Date.now();
    if (!this.state.sandboxReady || !netnsExists(this.state.netns)) {
      if (now < this.sandboxRetryAt) return this.report(pod);
      // it had one: the node rebooted (a stopped lab resumed) or someone deleted the namespace
      const replacing = this.state.sandboxReady;
      try {
        if (replacing) await this.endContainersOfLostSandbox(pod);
        await this.createSandbox(pod);
        this.sandboxError = undefined;
      } catch (err) {
        this.sandboxError = errorMessage(err);
        this.sandboxRetryAt = now + 2000;
        this.ctx.log.warn({ pod: this.key(), err: this.sandboxError }, 'sandbox creation failed');
        this.ctx.events.event(
          refTo('Pod', 'v1', pod),
          'Warning',
          'FailedCreatePodSandBox',
          `Failed to create pod sandbox: ${this.sandboxError}`,
        );
        return this.report(pod);
      }
    }
    for (const c of pod.spec.containers) await this.syncContainer(pod, c);
    this.ctx.store.save(this.state);
    await this.report(pod);
  }

  /**
   * The sandbox is gone: its containers end with it (killed if any still runs, as the kubelet kills the old
   * sandbox's containers) and restart at once in the new one. The kubelet's crash back-off lives in memory,
   * so after a node reboot nothing delays them; their exit reads "Unknown", as containerd reports it.
   */
  private async endContainersOfLostSandbox(pod: Pod): Promise<void> {
    this.state.sandboxReady = false;
    for (const c of pod.spec.containers) {
      const cs = this.cstate(c.name);
      const h = cs.handle;
      if (!h) continue;
      await this.stopProcesses([h], 0);
      this.recordExit(pod, c, cs, h, 'Unknown');
      cs.nextStartAt = undefined;
    }
    this.ctx.log.info({ pod: this.key(), netns: this.state.netns }, 'sandbox lost: recreating it');
  }

  private async createSandbox(pod: Pod): Promise<void> {
    await addNetns(this.state.netns);
    const { ips } = await this.addNetwork(pod);
    this.state.podIPs = ips;
    this.state.sandboxReady = true;
    this.ctx.store.save(this.state);
    this.ctx.log.info({ pod: this.key(), ips, netns: this.state.netns }, 'sandbox ready');
  }

  /**
   * CNI ADD; a failed ADD is undone (DEL, then a fresh namespace on the next attempt) as a container runtime
   * undoes a sandbox it could not set up, so the retry meets the plugin's real error again, not leftovers.
   */
  private async addNetwork(pod: Pod): Promise<{ ips: string[] }> {
    try {
      return await this.ctx.network.add(
        { containerId: this.state.uid, ifName: IFNAME },
        netnsPath(this.state.netns),
        {
          IgnoreUnknown: '1',
          K8S_POD_NAMESPACE: pod.metadata.namespace,
          K8S_POD_NAME: pod.metadata.name,
          K8S_POD_INFRA_CONTAINER_ID: this.state.uid,
          K8S_POD_UID: this.state.uid,
        },
        capabilityArgs(pod),
      );
    } catch (err) {
      await this.ctx.network
        .del({ containerId: this.state.uid, ifName: IFNAME }, netnsPath(this.state.netns))
        .catch(() => undefined);
      await delNetns(this.state.netns).catch(() => undefined);
      throw err;
    }
  }

  private cstate(name: string): ContainerState {
    let cs = this.state.containers[name];
    if (!cs) {
      cs = { restartCount: 0, crashLoop: 0, everStarted: false };
      this.state.containers[name] = cs;
    }
    return cs;
  }

  private files(name: string): { log: string; exit: string; scratch: string } {
    const f = containerFiles(this.ctx.store.podDir(this.state.uid), name);
    return { log: f.log, exit: f.exit, scratch: f.scratch };
  }

  /**
   * What a container start needs from the API: its environment (envFrom, env valueFrom, Service variables)
   * and its volumes' binds. A missing ConfigMap/Secret/key is CreateContainerConfigError, as in Kubernetes.
   */
  private async configFor(
    pod: Pod,
    c: Container,
  ): Promise<{ env: Record<string, string>; binds: ViewBind[] } | { reason: string; message: string }> {
    const sources = new ConfigSources(this.ctx.api, pod.metadata.namespace);
    const facts = { pod, podIPs: this.state.podIPs, hostIP: this.ctx.nodeIP };
    try {
      const links = (pod.spec as { enableServiceLinks?: boolean }).enableServiceLinks !== false;
      const serviceEnv = await podServiceEnv(this.ctx.api, pod.metadata.namespace, links);
      const base = { PATH: DEFAULT_PATH, HOSTNAME: podHostname(pod) };
      const env = await containerEnv(c, facts, sources, base, serviceEnv);
      const binds = await containerVolumeBinds(pod, c, this.ctx.store.podDir(this.state.uid), { facts, sources });
      return { env, binds };
    } catch (err) {
      if (err instanceof ConfigError || err instanceof VolumeError || err instanceof DownwardError)
        return { reason: 'CreateContainerConfigError', message: err.message };
      throw err;
    }
  }

  private async syncContainer(pod: Pod, c: Container): Promise<void> {
    const cs = this.cstate(c.name);
    const now = Date.now();
    if (cs.handle && !isAlive(cs.handle)) this.recordExit(pod, c, cs, cs.handle, undefined);
    if (!cs.handle) {
      if (cs.terminated && !shouldRestart(pod.spec.restartPolicy, cs.terminated.exitCode)) return;
      if (cs.nextStartAt && now < cs.nextStartAt) {
        const p = pod.metadata;
        this.repeatingWarning(
          pod,
          c,
          'BackOff',
          `Back-off restarting failed container ${c.name} in pod ${p.name}_${p.namespace}(${p.uid})`,
        );
        return;
      }
      const config = await this.configFor(pod, c);
      if (!('env' in config)) {
        this.unsupported.set(c.name, config);
        this.repeatingWarning(pod, c, 'Failed', `Error: ${config.message}`);
        return;
      }
      const { env, binds } = config;
      const launch = this.ctx.images.launch(c, env.PATH ?? DEFAULT_PATH, binds);
      if (!('argv' in launch)) {
        this.unsupported.set(c.name, launch);
        this.repeatingWarning(pod, c, 'Failed', `Error: ${launch.message}`);
        return;
      }
      const argv = launch.argv;
      if (launch.pathPrefix.length) env.PATH = [...launch.pathPrefix, env.PATH ?? DEFAULT_PATH].join(':');
      this.unsupported.delete(c.name);
      const f = this.files(c.name);
      if (cs.everStarted) cs.restartCount++;
      if (cs.terminated) cs.lastTerminated = cs.terminated;
      cs.terminated = undefined;
      cs.nextStartAt = undefined;
      try {
        rmSync(f.exit, { force: true });
        rotateLog(containerFiles(this.ctx.store.podDir(this.state.uid), c.name));
        const podFiles = writePodFiles(
          this.ctx.store.podDir(this.state.uid),
          pod,
          this.state.podIPs,
          podHostname(pod),
          this.ctx.dns,
        );
        cs.handle = startContainerProcess({
          netnsPath: netnsPath(this.state.netns),
          hostname: podHostname(pod),
          argv,
          env,
          workingDir: c.workingDir,
          logFile: f.log,
          exitFile: f.exit,
          cgroupProcs: setupContainerCgroups(this.ctx.cgroups, this.state.netns, c),
          view: containerView(f.scratch, podFiles, this.ctx.installPaths, [...launch.binds, ...binds]),
          capabilities: containerCapabilities(c),
          ...(c.stdin ? { stdinFifo: containerFiles(this.ctx.store.podDir(this.state.uid), c.name).stdin } : {}),
          ...(c.tty ? { tty: true } : {}),
        });
        cs.everStarted = true;
        // No image pull in skiff: every image is built in or on the node, "already present" as kubelet says.
        this.containerEvent(pod, c, 'Normal', 'Pulled', `Container image "${c.image}" already present on machine`);
        this.containerEvent(pod, c, 'Normal', 'Created', `Created container: ${c.name}`);
        this.containerEvent(pod, c, 'Normal', 'Started', `Started container ${c.name}`);
        cs.containerID = `skiff://${this.state.uid.slice(0, 8)}-${c.name}-${cs.restartCount}`;
        this.probes.delete(c.name);
        this.ctx.log.info(
          { pod: this.key(), container: c.name, pid: cs.handle.pid, restartCount: cs.restartCount },
          'container started',
        );
      } catch (err) {
        this.unsupported.set(c.name, { reason: 'RunContainerError', message: errorMessage(err) });
        this.repeatingWarning(pod, c, 'Failed', `Error: ${errorMessage(err)}`);
        return;
      }
    }
    await this.runProbes(pod, c, cs);
  }

  private recordExit(
    pod: Pod,
    c: Container,
    cs: ContainerState,
    h: ProcHandle,
    reasonOverride: string | undefined,
  ): void {
    const code = readExitCode(this.files(c.name).exit) ?? 137;
    const t: Terminated = {
      exitCode: code,
      reason: reasonOverride ?? (code === 0 ? 'Completed' : 'Error'),
      startedAt: h.startedAt,
      finishedAt: new Date().toISOString(),
    };
    cs.handle = undefined;
    cs.terminated = t;
    const ran = Date.parse(t.finishedAt) - Date.parse(h.startedAt);
    const next = afterExit(
      cs.crashLoop,
      ran,
      shouldRestart(pod.spec.restartPolicy, code),
      Date.now(),
      this.ctx.backoff,
    );
    cs.crashLoop = next.crashLoop;
    cs.nextStartAt = next.nextStartAt;
    this.probes.delete(c.name);
    this.ctx.log.info({ pod: this.key(), container: c.name, exitCode: code }, 'container exited');
  }

  private trackers(c: Container, cs: ContainerState): Probes {
    let p = this.probes.get(c.name);
    if (!p) {
      const started = cs.handle ? Date.parse(cs.handle.startedAt) : Date.now();
      const wasReady = this.adopted.delete(c.name) && this.lastApiReady(c.name);
      p = {
        startup: c.startupProbe ? new ProbeTracker(c.startupProbe, wasReady, started) : undefined,
        liveness: c.livenessProbe ? new ProbeTracker(c.livenessProbe, true, started) : undefined,
        readiness: c.readinessProbe ? new ProbeTracker(c.readinessProbe, wasReady, started) : undefined,
      };
      this.probes.set(c.name, p);
    }
    return p;
  }

  private lastApiReady(name: string): boolean {
    const statuses = (this.pod?.status as { containerStatuses?: { name: string; ready?: boolean }[] } | undefined)
      ?.containerStatuses;
    return statuses?.find((s) => s.name === name)?.ready === true;
  }

  private async runProbes(pod: Pod, c: Container, cs: ContainerState): Promise<void> {
    const h = cs.handle;
    if (!h) return;
    const p = this.trackers(c, cs);
    const ip = this.state.podIPs[0] ?? '127.0.0.1';
    const now = Date.now();
    if (p.startup && !p.startup.result) {
      if (!p.startup.due(now)) return;
      p.startup.record(await this.probe('Startup', pod, c, p.startup, ip, h), Date.now());
      if (!p.startup.result && p.startup.failureCount >= p.startup.probe.failureThreshold) {
        await this.killForRestart(pod, c, cs, 'startup');
      }
      return;
    }
    if (p.liveness && p.liveness.due(now)) {
      p.liveness.record(await this.probe('Liveness', pod, c, p.liveness, ip, h), Date.now());
      if (!p.liveness.result) {
        await this.killForRestart(pod, c, cs, 'liveness');
        return;
      }
    }
    if (p.readiness && p.readiness.due(now)) {
      if (p.readiness.record(await this.probe('Readiness', pod, c, p.readiness, ip, h), Date.now())) {
        this.ctx.log.info({ pod: this.key(), container: c.name, ready: p.readiness.result }, 'readiness changed');
      }
    }
  }

  /** One probe attempt; a failure is an Unhealthy event with the probe's output, as the kubelet's prober records. */
  private async probe(
    kind: 'Startup' | 'Liveness' | 'Readiness',
    pod: Pod,
    c: Container,
    t: ProbeTracker,
    ip: string,
    h: ProcHandle,
  ): Promise<boolean> {
    const r = await runProbe(t.probe, c, ip, initPid(h));
    if (!r.ok) this.containerEvent(pod, c, 'Warning', 'Unhealthy', `${kind} probe failed: ${r.output}`);
    return r.ok;
  }

  private async killForRestart(pod: Pod, c: Container, cs: ContainerState, probe: string): Promise<void> {
    const h = cs.handle;
    if (!h) return;
    this.ctx.log.info({ pod: this.key(), container: c.name }, `${probe} probe failed: restarting container`);
    this.containerEvent(pod, c, 'Normal', 'Killing', `Container ${c.name} failed ${probe} probe, will be restarted`);
    await this.stopProcesses([h], pod.spec.terminationGracePeriodSeconds ?? 30);
    this.recordExit(pod, c, cs, h, undefined);
  }

  /** SIGTERM, wait up to the grace period, SIGKILL, wait (bounded). */
  private async stopProcesses(handles: ProcHandle[], graceSeconds: number): Promise<void> {
    const alive = (): ProcHandle[] => handles.filter((h) => isAlive(h));
    for (const h of alive()) signalContainer(h, 'SIGTERM');
    const deadline = Date.now() + graceSeconds * 1000;
    while (alive().length > 0 && Date.now() < deadline) await sleep(100);
    for (const h of alive()) signalContainer(h, 'SIGKILL');
    const killDeadline = Date.now() + 5000;
    while (alive().length > 0 && Date.now() < killDeadline) await sleep(50);
  }

  private containerView(pod: Pod, c: Container): ContainerView {
    const cs = this.cstate(c.name);
    const p = this.probes.get(c.name);
    const last: ContainerStateJson = cs.lastTerminated ? { terminated: cs.lastTerminated } : {};
    let state: ContainerStateJson;
    let done = false;
    if (cs.handle) {
      state = { running: { startedAt: cs.handle.startedAt } };
    } else if (cs.terminated) {
      if (shouldRestart(pod.spec.restartPolicy, cs.terminated.exitCode)) {
        // between runs: k8s shows the back-off as waiting and the ended run as lastState
        return {
          name: c.name,
          image: c.image,
          ready: false,
          started: false,
          restartCount: cs.restartCount,
          done: false,
          state: { waiting: { reason: 'CrashLoopBackOff', message: `back-off restarting failed container ${c.name}` } },
          lastState: { terminated: cs.terminated },
          ...(cs.containerID ? { containerID: cs.containerID } : {}),
        };
      }
      state = { terminated: cs.terminated };
      done = true;
    } else {
      const u = this.unsupported.get(c.name);
      state = { waiting: u ?? { reason: 'ContainerCreating' } };
      if (!u && this.sandboxError)
        state = { waiting: { reason: 'ContainerCreating', message: `sandbox: ${this.sandboxError}` } };
    }
    const running = !!cs.handle;
    const started = running && (!p?.startup || p.startup.result);
    const ready = running && started && (p?.readiness ? p.readiness.result : true);
    return {
      name: c.name,
      image: c.image,
      state,
      lastState: last,
      ready,
      started,
      restartCount: cs.restartCount,
      done,
      ...(cs.containerID ? { containerID: cs.containerID } : {}),
    };
  }

  private async report(pod: Pod): Promise<void> {
    const status = computeStatus({
      restartPolicy: pod.spec.restartPolicy,
      sandboxReady: this.state.sandboxReady,
      podIPs: this.state.podIPs,
      hostIP: this.ctx.nodeIP,
      startTime: this.state.startTime,
      containers: pod.spec.containers.map((c) => this.containerView(pod, c)),
      previous: this.previousConditions,
      now: new Date().toISOString(),
    });
    const text = JSON.stringify(status);
    if (text === this.lastReported) return;
    try {
      await this.ctx.api.request(
        'PATCH',
        `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/status`,
        { status },
        'application/merge-patch+json',
      );
      this.lastReported = text;
      this.previousConditions = status.conditions;
    } catch (err) {
      if (!isStatus(err, 404)) this.ctx.log.warn({ pod: this.key(), err: errorMessage(err) }, 'status update failed');
    }
  }

  /**
   * Graceful stop, sandbox teardown, then the API confirmation (DELETE with grace 0, uid precondition).
   * The stop happens once; a failed confirmation is retried at most once a second.
   */
  private async terminate(pod: Pod | undefined): Promise<void> {
    if (!this.stopped) {
      const grace = pod?.metadata.deletionGracePeriodSeconds ?? pod?.spec.terminationGracePeriodSeconds ?? 30;
      const handles = Object.values(this.state.containers).flatMap((c) => (c.handle ? [c.handle] : []));
      this.ctx.log.info({ pod: this.key(), grace }, 'stopping pod');
      for (const c of pod?.spec.containers ?? [])
        if (this.state.containers[c.name]?.handle)
          this.containerEvent(pod!, c, 'Normal', 'Killing', `Stopping container ${c.name}`);
      await this.stopProcesses(handles, pod ? grace : 0);
      await this.teardownSandbox();
      this.stopped = true;
    }
    if (pod) {
      if (Date.now() < this.confirmRetryAt) return;
      try {
        const path = `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}?gracePeriodSeconds=0`;
        await this.ctx.api.request('DELETE', path, {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          gracePeriodSeconds: 0,
          preconditions: { uid: pod.metadata.uid },
        });
      } catch (err) {
        if (!isStatus(err, 404) && !isStatus(err, 409)) {
          this.confirmRetryAt = Date.now() + 1000;
          this.ctx.log.warn({ pod: this.key(), err: errorMessage(err) }, 'delete confirmation failed; will retry');
          return;
        }
      }
    }
    this.terminated = true;
    this.stopTimer();
    this.ctx.log.info({ pod: this.key() }, 'pod removed');
    this.onGone(this.state.uid);
  }

  async teardownSandbox(): Promise<void> {
    try {
      await this.ctx.network.del(
        { containerId: this.state.uid, ifName: IFNAME },
        netnsExists(this.state.netns) ? netnsPath(this.state.netns) : '',
      );
    } catch (err) {
      this.ctx.log.warn({ pod: this.key(), err: errorMessage(err) }, 'CNI DEL failed');
    }
    await delNetns(this.state.netns);
    removePodCgroups(this.state.netns);
    this.state.sandboxReady = false;
    this.ctx.store.remove(this.state.uid);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
