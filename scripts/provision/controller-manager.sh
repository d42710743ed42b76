#!/usr/bin/env bash
# Controllers. Env: CLUSTER_CIDR (10.244.0.0/16), LB_POOL (198.18.0.200-198.18.0.250),
# NODE_MONITOR_GRACE_MS (40000) and POD_EVICTION_TIMEOUT_MS (60000): how fast a silent node's pods move.
source "$(dirname "$0")/env.sh"
skiff controller-manager --kubeconfig "$STATE_DIR/controller-manager.kubeconfig" \
  --cluster-cidr "${CLUSTER_CIDR:-10.244.0.0/16}" --lb-pool "${LB_POOL:-198.18.0.200-198.18.0.250}" \
  --node-monitor-grace-period "${NODE_MONITOR_GRACE_MS:-40000}ms" --pod-eviction-timeout "${POD_EVICTION_TIMEOUT_MS:-60000}ms"
