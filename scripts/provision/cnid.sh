#!/usr/bin/env bash
# The resident CNI helper of one node (skiff-cnid, docs/cni.md): skiff's plugins relay their calls to it
# instead of starting Node per call. Run it in the node's network namespace, from the first directory of
# CNI_BIN_DIR (the build the kubelet invokes; it only serves plugins of its own build).
# Env: CNI_BIN_DIR, CNI_SOCKET (per node: the kubelet gets the same path via --cni-socket).
source "$(dirname "$0")/env.sh"
: "${CNI_BIN_DIR:?}" "${CNI_SOCKET:?}"
daemon="${CNI_BIN_DIR%%:*}/skiff-cnid"
[ -x "$daemon" ] || { echo "cnid.sh: $daemon is missing (run node scripts/build.mjs)" >&2; exit 1; }
exec "$NODE" "$daemon" --socket "$CNI_SOCKET"
