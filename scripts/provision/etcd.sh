#!/usr/bin/env bash
# etcd for STORE=etcd, on loopback of the control plane only.
set -euo pipefail
: "${STATE_DIR:?}"
exec etcd --name skiff --data-dir "$STATE_DIR/etcd" \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster skiff=http://127.0.0.1:2380
