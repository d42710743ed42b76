#!/usr/bin/env bash
source "$(dirname "$0")/env.sh"
skiff scheduler --kubeconfig "$STATE_DIR/scheduler.kubeconfig"
