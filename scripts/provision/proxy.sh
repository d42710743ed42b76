#!/usr/bin/env bash
# The service proxy of one node. Env: NODE_NAME, PROXY_KUBECONFIG, PROXY_MODE (nftables|userspace),
# PROXY_CLUSTER_CIDR and PROXY_SERVICE_CIDR (one CIDR per family, comma-separated; the service CIDRs are the
# families served).
source "$(dirname "$0")/env.sh"
: "${NODE_NAME:?}" "${PROXY_KUBECONFIG:?}"
skiff proxy --kubeconfig "$PROXY_KUBECONFIG" --node-name "$NODE_NAME" --mode "${PROXY_MODE:-nftables}" \
  --cluster-cidr "${PROXY_CLUSTER_CIDR:-10.244.0.0/16}" --service-cidr "${PROXY_SERVICE_CIDR:-10.96.0.0/12}"
