import { existsSync } from 'node:fs';

/**
 * A container's root view, like a container image's rootfs: the shell text that, run as PID 1 of fresh
 * mount + PID namespaces (propagation private, so nothing leaks to the host), builds a root of its own and
 * pivots into it. The host's system directories are bind-mounted read-only; /etc is an overlay of the
 * host's /etc with the files that hold secrets removed (whiteouts in a scratch upper layer that the
 * container cannot reach after the pivot); /tmp, /run, /dev/shm are private tmpfs; /proc is the PID
 * namespace's; /dev holds only the harmless character devices. Nothing else of the host is there: no state
 * directory, no /root, /home, /var/lib, /run/netns or kubeconfigs; only the binds the caller lists (the pod's
 * hosts/hostname/resolv.conf files, its volumes, the skiff install that runs built-in images, read-only).
 *
 * The old root is detached (`pivot_root . .` then a lazy unmount), so `nsenter --mount` into the namespace
 * (skiff exec, exec probes) lands in the same view.
 */

export interface ViewBind {
  /** host path (file or directory) */
  source: string;
  /** absolute path inside the view */
  target: string;
  readOnly: boolean;
  /** the source is a regular file (the mount point is created as a file) */
  file?: boolean;
}

export interface RootView {
  /** an empty host directory that becomes the scratch tmpfs holding the root and /etc's upper layer */
  scratch: string;
  binds: ViewBind[];
}

/** Host directories every view gets read-only (a symlink on the host, e.g. merged /usr, stays a symlink). */
export const SYSTEM_DIRS = ['usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

/** Files and directories of the host's /etc that hold secrets or host identity: absent from every view. */
export const ETC_DENYLIST = [
  'shadow',
  'shadow-',
  'gshadow',
  'gshadow-',
  'sudoers',
  'sudoers.d',
  'ssl/private',
  'ssh/ssh_host_*',
  'skiff',
  'kubernetes',
  'docker',
  'containerd',
  'wireguard',
  'NetworkManager/system-connections',
  'credstore',
  'credstore.encrypted',
  'krb5.keytab',
  'security/opasswd',
  'machine-id',
  'npmrc',
  'pip.conf',
];

/** Character devices a container gets (bound from the host's /dev). */
const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

/** /proc entries that expose kernel memory or global state: masked (and /proc/sys made read-only). */
const PROC_MASKED = ['kcore', 'keys', 'timer_list', 'sched_debug', 'kallsyms'];

/** Quote one word for sh. */
export function shq(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

function checkAbsolute(p: string, what: string): void {
  if (!p.startsWith('/') || p.split('/').includes('..')) throw new Error(`${what} ${p}: expected an absolute path`);
}

/**
 * sh commands that build the view under `view.scratch` and pivot into it. Each step that fails calls
 * `die MESSAGE` (the caller defines it: message to the container log, exit code 128).
 */
export function rootViewScript(view: RootView): string {
  checkAbsolute(view.scratch, 'scratch directory');
  const S = shq(view.scratch);
  const R = `${S}/root`;
  const lines: string[] = [
    `mount -t tmpfs -o mode=755,nosuid,nodev,size=256m skiff-root ${S} || die 'cannot mount the root tmpfs'`,
    `mkdir ${R} ${S}/etc-upper ${S}/etc-work && mount --bind ${R} ${R} || die 'cannot prepare the root'`,
    `for d in ${SYSTEM_DIRS.join(' ')}; do`,
    `  if [ -L "/$d" ]; then ln -s "$(readlink "/$d")" ${R}/"$d"`,
    `  elif [ -d "/$d" ]; then mkdir ${R}/"$d" && mount -o bind,ro "/$d" ${R}/"$d" || die "cannot bind /$d"; fi`,
    'done',
    `mkdir ${R}/etc && mount -t overlay -o ` +
      `lowerdir=/etc,upperdir=${S}/etc-upper,workdir=${S}/etc-work skiff-etc ${R}/etc || die ` +
      `'cannot mount /etc'`,
    `(cd ${R}/etc && rm -rf ${ETC_DENYLIST.join(' ')}) || die 'cannot hide the secrets of /etc'`,
    `mkdir -p ${R}/proc ${R}/sys ${R}/dev ${R}/tmp ${R}/run ${R}/root ${R}/var/tmp ` +
      `${R}/var/log && chmod 700 ${R}/root && chmod 1777 ${R}/var/tmp`,
    `mount -t proc -o nosuid,nodev,noexec proc ${R}/proc || die 'cannot mount /proc'`,
    `mount -o bind,ro ${R}/proc/sys ${R}/proc/sys || die 'cannot make /proc/sys read-only'`,
    `for f in ${PROC_MASKED.join(' ')}; do [ -e ${R}/proc/"$f" ] && mount --bind /dev/null ${R}/proc/"$f"; done`,
    `mount -t sysfs -o ro,nosuid,nodev,noexec sysfs ${R}/sys || die 'cannot mount /sys'`,
    `mount -t tmpfs -o mode=1777,nosuid,nodev,size=256m skiff-tmp ${R}/tmp || die 'cannot mount /tmp'`,
    `mount -t tmpfs -o mode=755,nosuid,nodev,size=64m skiff-run ${R}/run || die 'cannot mount /run'`,
    `mount -t tmpfs -o mode=755,nosuid,nodev,noexec,size=64k skiff-dev ${R}/dev || die 'cannot mount /dev'`,
    `for n in ${DEVICES.join(' ')}; do touch ${R}/dev/"$n" && mount --bind /dev/"$n" ${R}/dev/"$n" || die "cannot bind /dev/$n"; done`,
    `mkdir ${R}/dev/pts ${R}/dev/shm && mount -t devpts -o newinstance,ptmxmode=0666,mode=620 ` +
      `devpts ${R}/dev/pts || die 'cannot mount /dev/pts'`,
    `mount -t tmpfs -o mode=1777,nosuid,nodev,size=64m skiff-shm ${R}/dev/shm || die 'cannot mount /dev/shm'`,
    `ln -s pts/ptmx ${R}/dev/ptmx && ln -s /proc/self/fd ${R}/dev/fd && ln -s /proc/self/fd/0 ` +
      `${R}/dev/stdin && ln -s /proc/self/fd/1 ${R}/dev/stdout && ln -s /proc/self/fd/2 ` +
      `${R}/dev/stderr`,
    // relative, so that bind targets under /var/run resolve inside the view (an absolute link would lead to the
    // host's /run before the pivot)
    `ln -s ../run ${R}/var/run`,
  ];
  for (const b of view.binds) {
    checkAbsolute(b.source, 'bind source');
    checkAbsolute(b.target, 'bind target');
    const t = `${R}${shq(b.target)}`;
    const make = b.file ? `mkdir -p "$(dirname ${t})" && { [ -e ${t} ] || touch ${t}; }` : `mkdir -p ${t}`;
    const opts = b.readOnly ? 'bind,ro,nosuid,nodev' : 'bind,nosuid,nodev';
    lines.push(`{ ${make}; } && mount -o ${opts} ${shq(b.source)} ${t} || die ${shq(`cannot mount ${b.target}`)}`);
  }
  lines.push(`cd ${R} && pivot_root . . && umount -l . && cd / || die 'cannot pivot into the root view'`);
  return lines.join('\n');
}

/** containerd's default capability set (what a container gets unless its securityContext says otherwise). */
export const DEFAULT_CAPABILITIES = [
  'CHOWN',
  'DAC_OVERRIDE',
  'FSETID',
  'FOWNER',
  'MKNOD',
  'NET_RAW',
  'SETGID',
  'SETUID',
  'SETFCAP',
  'SETPCAP',
  'NET_BIND_SERVICE',
  'SYS_CHROOT',
  'KILL',
  'AUDIT_WRITE',
];

/**
 * argv prefix that runs a command with exactly `caps` as its capability bounding set (and no inheritable
 * caps), so a root process in the view cannot mount, load modules or reach other namespaces. Undefined
 * caps = all (privileged).
 */
export function capabilityPrefix(caps: readonly string[] | undefined): string[] {
  if (!caps) return [];
  const set = ['-all', ...caps.map((c) => `+${c.toLowerCase()}`)].join(',');
  return [setprivPath(), '--inh-caps', '-all', '--bounding-set', set, '--'];
}

/** util-linux's setpriv by absolute path: the container's PATH may put another one first (busybox's). */
function setprivPath(): string {
  return ['/usr/bin/setpriv', '/bin/setpriv', '/usr/sbin/setpriv'].find((p) => existsSync(p)) ?? 'setpriv';
}
