#!/usr/bin/env bash
# The service proxy of one node. Env: NODE_NAME, PROXY_KUBECONFIG, PROXY_MODE (nftables|userspace).
source "$(dirname "$0")/env.sh"
: "${NODE_NAME:?}" "${PROXY_KUBECONFIG:?}"
skiff proxy --kubeconfig "$PROXY_KUBECONFIG" --node-name "$NODE_NAME" --mode "${PROXY_MODE:-nftables}"
