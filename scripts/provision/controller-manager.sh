#!/usr/bin/env bash
# Controllers. Env: CLUSTER_CIDR (10.244.0.0/16), LB_POOL (198.18.0.200-198.18.0.250).
source "$(dirname "$0")/env.sh"
skiff controller-manager --kubeconfig "$STATE_DIR/controller-manager.kubeconfig" \
  --cluster-cidr "${CLUSTER_CIDR:-10.244.0.0/16}" --lb-pool "${LB_POOL:-198.18.0.200-198.18.0.250}"
