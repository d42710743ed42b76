#!/usr/bin/env bash
# PID 1 of one VM-less "VM" (test/e2e/vagrant-vmless.test.ts). Started by vms.ts inside the VM's network
# namespace as `unshare --mount --uts --pid --fork --propagation unchanged`, it gives the VM what Vagrant's VM
# has and the host must not share:
#   - its own disk: an overlay of the host's / with a tmpfs upper layer (so /etc/skiff, /etc/systemd/system,
#     /etc/sysctl.d, /var/lib/skiff, /opt/skiff, /usr/local are this VM's; all of it vanishes with the VM);
#   - its own /proc (PID namespace), /run and /tmp, and its hostname (UTS namespace);
#   - the synced folder at /vagrant: the stand-in checkout, read-only, except the hand-over .skiff/ (read-write,
#     shared by every VM); node_modules inside it is the real checkout's, read-only (the host's install);
#   - /opt/skiff/src/node_modules: the checkout's, read-only (vm.sh skips npm ci with SKIFF_SKIP_PACKAGES=1);
#   - `systemctl` on PATH: the stand-in beside this file, at /usr/local/sbin/systemctl.
# /run/netns stays shared with the host (a mount of its own, in the host's peer group), so the pod
# namespaces the kubelet makes show up there, carry the run prefix and are removed with the lab.
# Then it sleeps (bounded by TTL seconds); killing it ends every process of the VM (its PID namespace).
# Usage: vm-init.sh NAME VMDIR SYNCED HANDOVER NODE_MODULES TTL_SECONDS
set -euo pipefail
name="$1" vmdir="$2" synced="$3" handover="$4" modules="$5" ttl="$6"
here="$(cd "$(dirname "$0")" && pwd)"
root="$vmdir/root"
# nothing mounted below may propagate to the host: make the mount holding VMDIR private in this namespace
mount --make-private "$(findmnt -n -o TARGET -T "$vmdir")"
mkdir -p "$vmdir/disk" "$root"
mount -t tmpfs -o mode=0755 vmdisk "$vmdir/disk"
mkdir -p "$vmdir/disk/upper" "$vmdir/disk/work"
mount -t overlay -o "lowerdir=/,upperdir=$vmdir/disk/upper,workdir=$vmdir/disk/work" vmroot "$root"
mount --rbind /dev "$root/dev"
mount --rbind /sys "$root/sys"
mount -t proc proc "$root/proc"
mount -t tmpfs -o mode=0755 run "$root/run"
mkdir -p "$root/run/netns"
mount --rbind /run/netns "$root/run/netns" # with the namespaces named so far (the VM's own)
mount -t tmpfs -o mode=1777 tmp "$root/tmp"
ro_bind() { mkdir -p "$2"; mount --bind "$1" "$2"; mount -o remount,bind,ro "$2"; }
ro_bind "$synced" "$root/vagrant"
mount --bind "$handover" "$root/vagrant/.skiff"
ro_bind "$modules" "$root/vagrant/node_modules"
ro_bind "$modules" "$root/opt/skiff/src/node_modules"
install -D -m 0755 "$here/systemctl" "$root/usr/local/sbin/systemctl"
hostname "$name"
echo "$name" >"$root/etc/hostname"
echo "vm-init: $name ready"
exec chroot "$root" /bin/bash -c 'trap "exit 0" TERM; sleep "$1" & wait' vm-init "$ttl"
