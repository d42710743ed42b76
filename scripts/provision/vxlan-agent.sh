#!/usr/bin/env bash
# The VXLAN overlay agent of one node (CNI=vxlan). Env: NODE_NAME, NODE_IP, KUBECONFIG_FILE.
source "$(dirname "$0")/env.sh"
: "${NODE_NAME:?}" "${NODE_IP:?}" "${KUBECONFIG_FILE:?}"
skiff vxlan-agent --kubeconfig "$KUBECONFIG_FILE" --node-name "$NODE_NAME" --underlay-ip "$NODE_IP" \
  --subnet-file "$STATE_DIR/subnet.env" --cluster-cidr "${CLUSTER_CIDR:-10.244.0.0/16}"
