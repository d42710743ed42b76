#!/usr/bin/env bash
# Provisions one Vagrant VM (the lab's namespaces stand in for these VMs; both run the component scripts
# in this directory). Vagrant uploads this file to the VM and runs it as root, so it never relies on its own
# path. Usage: vm.sh control-plane|worker NAME IP CP_IP
#
# Env (the Vagrantfile passes the first four):
#   CNI (bridge|vxlan), PROXY_MODE (nftables|userspace), STORE (sqlite|etcd), WORKERS (the control plane issues
#   node1..nodeWORKERS credentials)
#   SHARED               the credential hand-over directory, default /vagrant/.skiff (the host's git-ignored .skiff/,
#                        shared read-write with every VM, see the Vagrantfile): node<i>.kubeconfig and
#                        proxy.kubeconfig, written by the control plane, read by the workers; never the admin one
#   SKIFF_SKIP_PACKAGES  1: install no packages (apt-get, NodeSource, kubectl, npm ci): the machine already has
#                        them and /opt/skiff/src/node_modules is in place. The VM-less test
#                        (test/e2e/vagrant-vmless.test.ts) sets it; nothing else changes.
#
# The synced folder /vagrant is the user's checkout: this script only reads it. The sources are copied to
# /opt/skiff/src (this VM's own directory) and built there, so VMs provisioned in parallel never share a
# node_modules or a dist/, and the host's are left alone. The units run the copy, not /vagrant.
set -euo pipefail
role="$1"; name="$2"; ip="$3"; cp_ip="$4"
synced=/vagrant
shared="${SHARED:-/vagrant/.skiff}"
src=/opt/skiff/src
state=/var/lib/skiff
export DEBIAN_FRONTEND=noninteractive
umask 022

log() { echo "skiff: $role $name: $*"; }

install_packages() {
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends ca-certificates curl gnupg iproute2 nftables conntrack socat rsync \
    containernetworking-plugins util-linux procps perl python3 >/dev/null
  if [ "${STORE:-sqlite}" = etcd ] && [ "$role" = control-plane ]; then apt-get install -y -qq etcd-server >/dev/null; fi
  if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
    # Debian 12 ships Node 18; skiff needs 20 (NodeSource's apt repository)
    curl -fsSL https://deb.nodesource.com/setup_20.x | bash - >/dev/null
    apt-get install -y -qq nodejs >/dev/null
  fi
  if [ "$role" = control-plane ] && ! command -v kubectl >/dev/null; then
    # kubectl for `vagrant ssh cp -c 'kubectl ...'`, from the Kubernetes project's apt repository (pkgs.k8s.io)
    install -d -m 0755 /etc/apt/keyrings
    curl -fsSL https://pkgs.k8s.io/core:/stable:/v1.32/deb/Release.key | gpg --dearmor --yes \
      -o /etc/apt/keyrings/kubernetes-apt-keyring.gpg
    echo 'deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v1.32/deb/ /' \
      >/etc/apt/sources.list.d/kubernetes.list
    apt-get update -qq
    apt-get install -y -qq kubectl >/dev/null
  fi
}

# This VM's own copy of the sources (what is not built or installed), then its own npm ci and build.
install_skiff() {
  mkdir -p "$src"
  rsync -a --delete --exclude=/node_modules/ --exclude=/dist/ --exclude=/plugins/bin/ --exclude=/.git/ \
    --exclude=/.vagrant/ --exclude=/.skiff/ --exclude=/.state/ --exclude=/coverage/ --exclude='*.log' \
    "$synced/" "$src/"
  if [ "${SKIFF_SKIP_PACKAGES:-}" = 1 ]; then
    [ -d "$src/node_modules" ] || { echo "vm.sh: SKIFF_SKIP_PACKAGES=1 needs $src/node_modules" >&2; exit 1; }
  elif ! cmp -s "$src/package-lock.json" "$src/node_modules/.package-lock.json.skiff" 2>/dev/null; then
    (cd "$src" && npm ci --no-fund --no-audit >/dev/null)
    cp "$src/package-lock.json" "$src/node_modules/.package-lock.json.skiff"
  fi
  (cd "$src" && node scripts/build.mjs)
}

# unit NAME SCRIPT: a systemd service running scripts/provision/SCRIPT.sh of this VM's build with
# /etc/skiff/NAME.env; (re)started, so a re-provisioning runs the new build.
unit() {
  local unit_name="$1" script="$2"
  cat >"/etc/systemd/system/skiff-$unit_name.service" <<UNIT
[Unit]
Description=skiff $unit_name
After=network-online.target
[Service]
EnvironmentFile=/etc/skiff/common.env
EnvironmentFile=/etc/skiff/$unit_name.env
ExecStart=/bin/bash $src/scripts/provision/$script.sh
Restart=always
RestartSec=2
KillMode=process
[Install]
WantedBy=multi-user.target
UNIT
  systemctl daemon-reload
  systemctl enable "skiff-$unit_name.service" >/dev/null 2>&1
  systemctl restart "skiff-$unit_name.service" 9>&-
}

wait_for() { # wait_for SECONDS WHAT COMMAND...: bounded, one try a second
  local secs="$1" what="$2"
  shift 2
  for _ in $(seq 1 "$secs"); do "$@" && return 0; sleep 1; done
  echo "vm.sh: $name: timed out after ${secs}s waiting for $what" >&2
  return 1
}

# kubeconfig_field KEY FILE: the first `KEY: value` of a kubeconfig written by skiff (one line, maybe quoted)
kubeconfig_field() {
  sed -n "s/^ *$1: *[\"']\{0,1\}\([^\"']*\)[\"']\{0,1\} *\$/\1/p" "$2" | head -n1
}

# credential_works KUBECONFIG: the API server it names accepts it (its CA, its token). A worker uses it to
# skip a half-copied file or one left from an earlier cluster until the control plane replaces it.
credential_works() {
  local f="$1" server token ca tmp rc
  [ -s "$f" ] || return 1
  server="$(kubeconfig_field server "$f")"
  token="$(kubeconfig_field token "$f")"
  ca="$(kubeconfig_field certificate-authority-data "$f")"
  [ -n "$server" ] && [ -n "$token" ] && [ -n "$ca" ] || return 1
  tmp="$(mktemp -d)"
  printf '%s' "$ca" | base64 -d >"$tmp/ca.crt" 2>/dev/null || { rm -rf "$tmp"; return 1; }
  printf 'Authorization: Bearer %s\n' "$token" >"$tmp/auth" # a header file: the token stays out of argv
  rc=0
  curl -sf -o /dev/null --max-time 5 --cacert "$tmp/ca.crt" -H "@$tmp/auth" "$server/api" || rc=1
  rm -rf "$tmp"
  return "$rc"
}

# The hand-over must be a folder the VMs share with the host (two-way): a one-way copy (Debian's boxes rsync
# /vagrant) lives on this VM's own disk, where no other VM would ever see it.
handover_shared() {
  local d="$shared"
  [ -e "$d" ] || d="$(dirname "$d")"
  [ "$(stat -c %d "$d")" != "$(stat -c %d /)" ]
}
NOT_SHARED="$shared is on this VM's own disk, not a two-way synced folder: set SKIFF_HANDOVER_SYNC (docs/cluster.md, Vagrant)"

# publish FILE NAME: into the hand-over, atomically (a worker never reads half a file), owner-only
publish() {
  install -m 0600 "$1" "$shared/.$2.tmp"
  mv -f "$shared/.$2.tmp" "$shared/$2"
}

mkdir -p /opt/skiff
exec 9>/opt/skiff/provision.lock
flock -w 900 9 # one provisioning at a time on this VM
if [ "${SKIFF_SKIP_PACKAGES:-}" != 1 ]; then install_packages; fi
install_skiff
printf 'net.ipv4.ip_forward = 1\nnet.ipv4.conf.all.rp_filter = 0\n' >/etc/sysctl.d/90-skiff.conf
sysctl -q -p /etc/sysctl.d/90-skiff.conf
install -d -m 0700 /etc/skiff "$state"
cat >/etc/skiff/common.env <<ENV
SKIFF_JS=$src/dist/skiff.mjs
NODE=$(command -v node)
CLUSTER_CIDR=10.244.0.0/16
CNI_BIN_DIR=$src/plugins/bin:/usr/lib/cni
CNI_VERSION=1.1.0
ENV

if [ "$role" = control-plane ]; then
  cp_state="$state/cp"
  install -d -m 0700 "$cp_state"
  if [ "${STORE:-sqlite}" = etcd ]; then
    echo "STATE_DIR=$cp_state" >/etc/skiff/etcd.env
    unit etcd etcd
  fi
  printf 'STATE_DIR=%s\nADVERTISE_ADDRESS=%s\nSTORE=%s\n' "$cp_state" "$ip" "${STORE:-sqlite}" >/etc/skiff/apiserver.env
  unit apiserver apiserver
  wait_for 120 "the API server's kubeconfigs" test -s "$cp_state/admin.kubeconfig" -a -s "$cp_state/proxy.kubeconfig"
  printf 'STATE_DIR=%s\n' "$cp_state" >/etc/skiff/controller-manager.env
  cp /etc/skiff/controller-manager.env /etc/skiff/scheduler.env
  unit controller-manager controller-manager
  unit scheduler scheduler
  # a routed member of the pod network, as the lab's control plane (bridge: a route per node's pod CIDR)
  if [ "${CNI:-bridge}" = bridge ]; then
    cp /etc/skiff/controller-manager.env /etc/skiff/pod-routes.env
    unit pod-routes pod-routes
  fi
  # the hand-over: what the workers need (their node credential, the proxy's), never the admin credential
  handover_shared || log "warning: $NOT_SHARED"
  mkdir -p "$shared"
  chmod 0700 "$shared" || log "cannot chmod $shared (synced folder type?): its mode stays as mounted"
  rm -f "$shared/admin.kubeconfig" # an earlier vm.sh put it there
  publish "$cp_state/proxy.kubeconfig" proxy.kubeconfig
  for n in $(seq 1 "${WORKERS:-2}"); do
    node "$src/dist/skiff.mjs" apiserver issue-kubeconfig --state-dir "$cp_state" --user "system:node:node$n" \
      --group system:nodes --server "https://$ip:6443" --out "$cp_state/node$n.kubeconfig" >/dev/null
    publish "$cp_state/node$n.kubeconfig" "node$n.kubeconfig"
  done
  # `vagrant ssh cp -c 'kubectl get nodes'`: the admin credential for the login user, on this VM only
  if id vagrant >/dev/null 2>&1; then
    home="$(getent passwd vagrant | cut -d: -f6)"
    install -d -o vagrant -g vagrant -m 0700 "$home/.kube"
    install -o vagrant -g vagrant -m 0600 "$cp_state/admin.kubeconfig" "$home/.kube/config"
  fi
else
  node_state="$state/node"
  install -d -m 0700 "$node_state"
  handover_shared || { echo "vm.sh: $name: $NOT_SHARED" >&2; exit 1; }
  log "waiting for its credentials in $shared (the control plane writes them)"
  wait_for 900 "working credentials in $shared/$name.kubeconfig and $shared/proxy.kubeconfig" \
    eval 'credential_works "$shared/$name.kubeconfig" && credential_works "$shared/proxy.kubeconfig"'
  install -m 0600 "$shared/$name.kubeconfig" "$node_state/kubelet.kubeconfig"
  install -m 0600 "$shared/proxy.kubeconfig" "$node_state/proxy.kubeconfig"
  cat >/etc/skiff/kubelet.env <<ENV
STATE_DIR=$node_state
NODE_NAME=$name
NODE_IP=$ip
KUBECONFIG_FILE=$node_state/kubelet.kubeconfig
CNI=${CNI:-bridge}
CNI_SOCKET=$node_state/cni.sock
PROXY_KUBECONFIG=$node_state/proxy.kubeconfig
PROXY_MODE=${PROXY_MODE:-nftables}
ENV
  cp /etc/skiff/kubelet.env /etc/skiff/proxy.env
  cp /etc/skiff/kubelet.env /etc/skiff/vxlan-agent.env
  cp /etc/skiff/kubelet.env /etc/skiff/cnid.env
  # the resident CNI helper (our plugins are first on CNI_BIN_DIR), restarted with every provisioning so that
  # it serves the new build's plugin files instead of declining them
  unit cnid cnid
  if [ "${CNI:-bridge}" = vxlan ]; then unit vxlan-agent vxlan-agent; fi
  unit kubelet kubelet
  unit proxy proxy
fi
log "provisioned ($ip, control plane $cp_ip)"
