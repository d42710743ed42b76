/**
 * The Vagrant cluster without VMs: the Vagrantfile's machines (cp 198.18.0.10, node<i> 198.18.0.(10+i)) as
 * "VMs" made of namespaces, provisioned by scripts/provision/vm.sh exactly as Vagrant's shell provisioner runs
 * it (uploaded to /tmp/vagrant-shell, run as root with the Vagrantfile's env), all at once.
 *
 * Each VM is its own network namespace with eth0 (a veth standing in for the NAT interface, holding the
 * default route) and eth1 on the private network (a veth into the lab's underlay bridge), plus the mount, UTS
 * and PID namespaces of vm-init.sh (its own disk, /vagrant, systemctl stand-in). The "host" is one more
 * namespace on the private network at 198.18.0.1, the hypervisor's host adapter: the outside client.
 * The synced folder is a copy of this checkout (a git repository of its own, so the test can show that
 * provisioning changed nothing in it) with the real node_modules bound in read-only inside each VM.
 * Everything lives under the lab's prefix and temporary directories; killing a VM's PID 1 ends all its
 * processes, and the lab's cleanup removes the namespaces (pods included) and directories.
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { type RunResult, run, runRaw } from '../../../src/os/exec.js';
import { isSameProcess, signalGroup, startDetached, type ProcessIdentity } from '../../../src/os/process.js';
import { removeCgroupsWithPrefix } from '../../../src/os/cgroups.js';
import { type Lab } from '../lab.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const VM_INIT = join(import.meta.dirname, 'vm-init.sh');
const CP_IP = '198.18.0.10';
const HOST_IP = '198.18.0.1';
/** systemd's PATH on Debian, as Vagrant's sudo'ed provisioner gets it */
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** a VM lives at most this long whatever happens to the test (its PID 1 sleeps this long, then exits) */
const VM_TTL_SECONDS = 900;

export interface Vm {
  name: string;
  role: 'control-plane' | 'worker';
  ip: string;
  /** the VM's network namespace (a lab namespace, so pods are `${netns}-pod-<uid8>`) */
  netns: string;
  /** `unshare` (its process group holds the VM's PID 1) */
  proc?: ProcessIdentity;
  /** host pid of the VM's PID 1 */
  init?: number;
  log: string;
}

export interface ClusterOptions {
  cni: 'bridge' | 'vxlan';
  proxyMode: 'nftables' | 'userspace';
  workers: number;
}

/** Paths, modes and contents of a tree (symlinks by target), skipping the named top-level entries. */
export function treeDigest(dir: string, skip: string[]): string {
  const h = createHash('sha256');
  const walk = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      const rel = relative(dir, p);
      if (skip.includes(rel)) continue;
      const st = lstatSync(p);
      h.update(`${rel}\0${st.mode}\0`);
      if (st.isSymbolicLink()) h.update(readlinkSync(p));
      else if (st.isDirectory()) walk(p);
      else h.update(readFileSync(p));
      h.update('\0');
    }
  };
  walk(dir);
  return h.digest('hex');
}

/** Every file of a tree, as paths relative to it, skipping the named top-level entries. */
export function treeFiles(dir: string, skip: string[]): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      const rel = relative(dir, p);
      if (skip.includes(rel)) continue;
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) out.push(rel);
    }
  };
  walk(dir);
  return out;
}

export class VmlessCluster {
  readonly vms: Vm[];
  readonly hostNs: string;
  readonly synced: string;
  readonly handover: string;
  private readonly dir: string;
  private readonly underlay: string;

  constructor(
    private readonly lab: Lab,
    readonly o: ClusterOptions,
  ) {
    this.dir = lab.tmpdir();
    this.synced = join(this.dir, 'checkout');
    this.handover = join(this.synced, '.skiff');
    this.underlay = `${lab.prefix}-underlay`;
    this.hostNs = `${lab.prefix}-host`;
    const vm = (name: string, role: Vm['role'], ip: string): Vm => ({
      name,
      role,
      ip,
      netns: `${lab.prefix}-${name}`,
      log: join(this.dir, `${name}.log`),
    });
    this.vms = [
      vm('cp', 'control-plane', CP_IP),
      ...Array.from({ length: o.workers }, (_, i) => vm(`node${i + 1}`, 'worker', `198.18.0.${11 + i}`)),
    ];
    lab.onCleanup(() => this.destroy());
  }

  vm(name: string): Vm {
    const v = this.vms.find((x) => x.name === name);
    if (!v) throw new Error(`no VM ${name}`);
    return v;
  }

  /** A path inside a VM as the host reaches it (the VM's root, through its PID 1). */
  path(vm: Vm, p: string): string {
    if (!vm.init) throw new Error(`${vm.name} is not running`);
    return `/proc/${vm.init}/root${p}`;
  }

  /** The synced folder: a copy of the checkout (without node_modules and .git), made a git repository. */
  async makeSyncedFolder(): Promise<void> {
    await run(
      [
        'rsync',
        '-a',
        '--exclude=/node_modules/',
        '--exclude=/.git',
        '--exclude=/.skiff/',
        `${ROOT}/`,
        `${this.synced}/`,
      ],
      { timeoutMs: 60_000 },
    );
    mkdirSync(join(this.synced, 'node_modules')); // where each VM binds the host's node_modules, read-only
    mkdirSync(this.handover, { mode: 0o755 }); // as Vagrant's `create: true` leaves it; vm.sh makes it owner-only
    const git = (...args: string[]) =>
      run(['git', '-C', this.synced, '-c', 'user.name=vmless', '-c', 'user.email=vmless@invalid', ...args], {
        timeoutMs: 60_000,
      });
    await git('init', '-q');
    await git('add', '-A');
    await git('commit', '-q', '-m', 'the checkout as the host has it');
  }

  async gitStatus(): Promise<string> {
    return run(['git', '-C', this.synced, 'status', '--porcelain', '--untracked-files=all']);
  }

  /** The private network: a bridge in the underlay namespace, every VM's eth1 and the host on it. */
  async makeNetwork(): Promise<void> {
    const ip = (ns: string, ...args: string[]) => run(['ip', '-n', ns, ...args]);
    await this.lab.netns('underlay');
    await ip(this.underlay, 'link', 'add', 'br0', 'type', 'bridge');
    await ip(this.underlay, 'link', 'set', 'br0', 'up');
    const attach = async (ns: string, port: string, ifname: string, cidr: string) => {
      await this.lab.veth(this.underlay, port, ns, ifname);
      await ip(this.underlay, 'link', 'set', port, 'master', 'br0');
      await ip(ns, 'addr', 'add', cidr, 'dev', ifname);
    };
    await this.lab.netns('host');
    await attach(this.hostNs, 'v-host', 'eth0', `${HOST_IP}/24`);
    for (const vm of this.vms) {
      await this.lab.netns(vm.name);
      await attach(vm.netns, `v-${vm.name}`, 'eth1', `${vm.ip}/24`);
      // the NAT interface of a Vagrant VM, with its default route: a veth whose peer stays down, so what is
      // routed there goes nowhere (nothing leaves the namespace)
      await ip(vm.netns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'nat0');
      await ip(vm.netns, 'addr', 'add', '10.0.2.15/24', 'dev', 'eth0');
      await ip(vm.netns, 'link', 'set', 'eth0', 'up');
      await ip(vm.netns, 'route', 'add', 'default', 'via', '10.0.2.2', 'dev', 'eth0');
    }
  }

  /** Boot every VM (vm-init.sh as PID 1 of its namespaces) and wait until each is up. */
  async boot(): Promise<void> {
    for (const vm of this.vms) {
      const vmdir = join(this.dir, `vm-${vm.name}`);
      mkdirSync(vmdir);
      vm.proc = startDetached(
        [
          'nsenter',
          `--net=/run/netns/${vm.netns}`,
          '--',
          'unshare',
          '--mount',
          '--uts',
          '--pid',
          '--fork',
          '--kill-child',
          '--propagation',
          'unchanged',
          '--',
          'bash',
          VM_INIT,
          vm.name,
          vmdir,
          this.synced,
          this.handover,
          join(ROOT, 'node_modules'),
          String(VM_TTL_SECONDS),
        ],
        { log: vm.log },
      );
    }
    const deadline = Date.now() + 30_000;
    for (const vm of this.vms) {
      while (!vm.init) {
        if (Date.now() > deadline || !isSameProcess(vm.proc as ProcessIdentity))
          throw new Error(`VM ${vm.name} did not boot:\n${this.tail(vm.log)}`);
        const pid = vm.proc?.pid as number;
        const children = existsSync(`/proc/${pid}/task/${pid}/children`)
          ? readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim()
          : '';
        if (children && readFileSync(vm.log, 'utf8').includes(`vm-init: ${vm.name} ready`)) {
          vm.init = Number(children.split(/\s+/)[0]);
        } else await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Run a command inside a VM (all its namespaces and its root), like `vagrant ssh VM -c` as root. */
  exec(vm: Vm, argv: string[], opts: { input?: string; timeoutMs?: number; env?: string[] } = {}): Promise<RunResult> {
    if (!vm.init) throw new Error(`${vm.name} is not running`);
    const pid = String(vm.init);
    return runRaw(
      [
        'nsenter',
        '-t',
        pid,
        '-m',
        '-u',
        '-n',
        '-p',
        '-r',
        '-w',
        '--',
        'env',
        '-i',
        `PATH=${PATH}`,
        'HOME=/root',
        ...(opts.env ?? []),
        ...argv,
      ],
      { input: opts.input, timeoutMs: opts.timeoutMs ?? 30_000 },
    );
  }

  /** Vagrant's shell provisioner on one VM: vm.sh uploaded to /tmp/vagrant-shell, run as root with env. */
  provision(vm: Vm, timeoutMs: number): Promise<RunResult> {
    const script = this.path(vm, '/tmp/vagrant-shell');
    writeFileSync(script, readFileSync(join(this.synced, 'scripts/provision/vm.sh')));
    chmodSync(script, 0o755);
    const env = [
      `CNI=${this.o.cni}`,
      `PROXY_MODE=${this.o.proxyMode}`,
      'STORE=sqlite',
      `WORKERS=${this.o.workers}`,
      'SKIFF_SKIP_PACKAGES=1',
    ];
    return this.exec(vm, ['/tmp/vagrant-shell', vm.role, vm.name, vm.ip, CP_IP], { env, timeoutMs });
  }

  /** kubectl on the control plane with its admin credential (`vagrant ssh cp -c 'kubectl ...'`). */
  async kubectl(args: string[], input?: string): Promise<string> {
    const r = await this.exec(
      this.vm('cp'),
      ['kubectl', '--kubeconfig', '/var/lib/skiff/cp/admin.kubeconfig', ...args],
      {
        input,
      },
    );
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  }

  /** The last lines of every unit log of every VM (the stand-in's journal), for a failure message. */
  journal(): string {
    const out: string[] = [];
    for (const vm of this.vms) {
      if (!vm.init) continue;
      const dir = this.path(vm, '/var/log/skiff-standin');
      if (!existsSync(dir)) continue;
      for (const f of readdirSync(dir)) out.push(`--- ${vm.name} ${f}\n${this.tail(join(dir, f))}`);
    }
    return out.join('\n');
  }

  private tail(file: string, lines = 20): string {
    try {
      return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** Power every VM off: SIGKILL to `unshare`'s group takes PID 1, and with it the whole PID namespace. */
  async destroy(): Promise<void> {
    for (const vm of this.vms) if (vm.proc) signalGroup(vm.proc.pid, 'SIGKILL');
    const deadline = Date.now() + 10_000;
    for (const vm of this.vms) {
      while (vm.init && existsSync(`/proc/${vm.init}`) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      vm.init = undefined;
    }
    removeCgroupsWithPrefix(this.lab.prefix);
  }
}
