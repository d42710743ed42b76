#!/usr/bin/env bash
# Provisions one Vagrant VM (the lab's namespaces stand in for these VMs; both run the component scripts
# in this directory). Usage: vm.sh control-plane|worker NAME IP CP_IP
# Env: CNI (bridge|vxlan), PROXY_MODE (nftables|userspace), STORE (sqlite|etcd), SHARED (/vagrant/.skiff).
set -euo pipefail
role="$1"; name="$2"; ip="$3"; cp_ip="$4"
repo=/vagrant
shared="${SHARED:-/vagrant/.skiff}"
state=/var/lib/skiff
export DEBIAN_FRONTEND=noninteractive

install_deps() {
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends ca-certificates curl gnupg iproute2 nftables conntrack socat \
    containernetworking-plugins util-linux procps perl python3 >/dev/null
  if [ "${STORE:-sqlite}" = etcd ] && [ "$role" = control-plane ]; then apt-get install -y -qq etcd-server >/dev/null; fi
  if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
    # Debian 12 ships Node 18; skiff needs 20 (NodeSource's apt repository)
    curl -fsSL https://deb.nodesource.com/setup_20.x | bash - >/dev/null
    apt-get install -y -qq nodejs >/dev/null
  fi
  (cd "$repo" && npm ci --no-fund --no-audit && node scripts/build.mjs)
  sysctl -qw net.ipv4.ip_forward=1
}

# unit NAME SCRIPT: a systemd service running scripts/provision/SCRIPT.sh with /etc/skiff/NAME.env
unit() {
  local unit_name="$1" script="$2"
  cat > "/etc/systemd/system/skiff-$unit_name.service" <<UNIT
[Unit]
Description=skiff $unit_name
After=network-online.target
[Service]
EnvironmentFile=/etc/skiff/common.env
EnvironmentFile=/etc/skiff/$unit_name.env
ExecStart=/bin/bash $repo/scripts/provision/$script.sh
Restart=always
RestartSec=2
KillMode=process
[Install]
WantedBy=multi-user.target
UNIT
  systemctl daemon-reload
  systemctl enable --now "skiff-$unit_name.service"
}

install_deps
mkdir -p /etc/skiff "$state" "$shared"
cat > /etc/skiff/common.env <<ENV
SKIFF_JS=$repo/dist/skiff.mjs
NODE=$(command -v node)
CLUSTER_CIDR=10.244.0.0/16
CNI_BIN_DIR=$repo/plugins/bin:/usr/lib/cni
CNI_VERSION=1.1.0
ENV

if [ "$role" = control-plane ]; then
  cp_state="$state/cp"
  mkdir -p "$cp_state"
  if [ "${STORE:-sqlite}" = etcd ]; then
    echo "STATE_DIR=$cp_state" > /etc/skiff/etcd.env
    unit etcd etcd
  fi
  printf 'STATE_DIR=%s\nADVERTISE_ADDRESS=%s\nSTORE=%s\n' "$cp_state" "$ip" "${STORE:-sqlite}" > /etc/skiff/apiserver.env
  unit apiserver apiserver
  for i in $(seq 1 120); do [ -f "$cp_state/admin.kubeconfig" ] && break; sleep 1; done
  printf 'STATE_DIR=%s\n' "$cp_state" > /etc/skiff/controller-manager.env
  cp /etc/skiff/controller-manager.env /etc/skiff/scheduler.env
  unit controller-manager controller-manager
  unit scheduler scheduler
  # credentials for the workers, through the shared folder
  cp "$cp_state/admin.kubeconfig" "$cp_state/proxy.kubeconfig" "$shared/"
  for n in $(seq 1 "${WORKERS:-2}"); do
    node "$repo/dist/skiff.mjs" apiserver issue-kubeconfig --state-dir "$cp_state" --user "system:node:node$n" \
      --group system:nodes --server "https://$ip:6443" --out "$shared/node$n.kubeconfig"
  done
else
  for i in $(seq 1 300); do [ -f "$shared/$name.kubeconfig" ] && break; sleep 1; done
  node_state="$state/node"
  mkdir -p "$node_state"
  cat > /etc/skiff/kubelet.env <<ENV
STATE_DIR=$node_state
NODE_NAME=$name
NODE_IP=$ip
KUBECONFIG_FILE=$shared/$name.kubeconfig
CNI=${CNI:-bridge}
CNI_SOCKET=$node_state/cni.sock
PROXY_KUBECONFIG=$shared/proxy.kubeconfig
PROXY_MODE=${PROXY_MODE:-nftables}
ENV
  cp /etc/skiff/kubelet.env /etc/skiff/proxy.env
  cp /etc/skiff/kubelet.env /etc/skiff/vxlan-agent.env
  cp /etc/skiff/kubelet.env /etc/skiff/cnid.env
  # the resident CNI helper (our plugins are first on CNI_BIN_DIR); restarted so that after a re-provision
  # (a new build) it serves the new plugin files instead of declining them
  unit cnid cnid
  systemctl restart skiff-cnid.service
  if [ "${CNI:-bridge}" = vxlan ]; then unit vxlan-agent vxlan-agent; fi
  unit kubelet kubelet
  unit proxy proxy
fi
echo "skiff: $role $name ($ip) provisioned"
