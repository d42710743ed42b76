#!/usr/bin/env bash
# The API server (control plane). Env: ADVERTISE_ADDRESS, API_PORT (6443), STORE (sqlite|etcd),
# ETCD_ENDPOINTS (with STORE=etcd), SERVICE_CIDR (10.96.0.0/12).
source "$(dirname "$0")/env.sh"
: "${ADVERTISE_ADDRESS:?}"
args=(apiserver --state-dir "$STATE_DIR" --port "${API_PORT:-6443}" --bind-address 0.0.0.0
  --advertise-address "$ADVERTISE_ADDRESS" --store "${STORE:-sqlite}"
  --service-cluster-ip-range "${SERVICE_CIDR:-10.96.0.0/12}")
if [ "${STORE:-sqlite}" = etcd ]; then args+=(--etcd-endpoints "${ETCD_ENDPOINTS:-http://127.0.0.1:2379}"); fi
skiff "${args[@]}"
