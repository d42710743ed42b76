#!/usr/bin/env bash
# The kubelet of one node. Env: NODE_NAME, NODE_IP (NODE_IPS: both families, dual stack), KUBECONFIG_FILE, CNI (bridge|vxlan), CNI_BIN_DIR,
# CNI_VERSION (1.0.0; 1.1.0 with skiff's plugins), NETNS_PREFIX (lab only: pod namespaces are named <prefix>-pod-<uid>),
# CNI_CONF_TEMPLATE (skiff up --cni-conf: a conflist template rendered per node instead of the generated one),
# CNI_SOCKET (with skiff's plugins: the node's skiff-cnid socket, see cnid.sh; handed to every plugin call),
# CLUSTER_DNS (the kube-dns Service IP, default 10.96.0.10) and CLUSTER_DOMAIN (default cluster.local),
# KUBELET_PKI_DIR (kubelet.crt/kubelet.key/ca.crt: serve the kubelet API on :10250 of the node IP).
source "$(dirname "$0")/env.sh"
: "${NODE_NAME:?}" "${NODE_IP:?}" "${KUBECONFIG_FILE:?}"
args=(kubelet --kubeconfig "$KUBECONFIG_FILE" --node-name "$NODE_NAME" --node-ip "${NODE_IPS:-$NODE_IP}"
  --root-dir "$STATE_DIR/kubelet" --cni-conf-dir "$STATE_DIR/cni/net.d" --cni-cache-dir "$STATE_DIR/cni/cache"
  --cni-bin-dir "${CNI_BIN_DIR:-/usr/lib/cni}" --cluster-cidr "${CLUSTER_CIDR:-10.244.0.0/16}"
  --lease-seconds "${LEASE_SECONDS:-10}"
  --cluster-dns "${CLUSTER_DNS:-10.96.0.10}" --cluster-domain "${CLUSTER_DOMAIN:-cluster.local}")
if [ "${CNI:-bridge}" = vxlan ]; then
  args+=(--cni-conf-mode vxlan --subnet-file "$STATE_DIR/subnet.env")
else
  args+=(--cni-conf-mode bridge --pod-routes)
fi
if [ -n "${NETNS_PREFIX:-}" ]; then args+=(--netns-prefix "$NETNS_PREFIX"); fi
if [ -n "${CNI_SOCKET:-}" ]; then args+=(--cni-socket "$CNI_SOCKET"); fi
if [ -n "${CNI_VERSION:-}" ]; then args+=(--cni-version "$CNI_VERSION"); fi
if [ -n "${CNI_CONF_TEMPLATE:-}" ]; then args+=(--cni-conf-template "$CNI_CONF_TEMPLATE"); fi
if [ -n "${KUBELET_PKI_DIR:-}" ]; then
  args+=(--tls-cert-file "$KUBELET_PKI_DIR/kubelet.crt" --tls-private-key-file "$KUBELET_PKI_DIR/kubelet.key"
    --client-ca-file "$KUBELET_PKI_DIR/ca.crt")
fi
if [ -n "${BACKOFF_BASE_MS:-}" ]; then args+=(--backoff-base-ms "$BACKOFF_BASE_MS"); fi
skiff "${args[@]}"
