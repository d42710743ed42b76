#!/usr/bin/env bash
# Routes from the control plane to every node's pod CIDR via its InternalIP (CNI=bridge; `skiff pod-routes`).
# Env: STATE_DIR (the control plane's: its controller-manager kubeconfig lists Nodes).
source "$(dirname "$0")/env.sh"
skiff pod-routes --kubeconfig "$STATE_DIR/controller-manager.kubeconfig"
