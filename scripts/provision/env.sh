# Shared by every component script (sourced). Parameters come from the environment, so the Vagrant VMs
# (systemd units with an EnvironmentFile) and `skiff up` (inside lab namespaces) run the same scripts:
#   SKIFF_JS    path to dist/skiff.mjs              NODE   node binary (default: node)
#   STATE_DIR   component state / credentials dir   LOG_LEVEL (default info)
set -euo pipefail
: "${SKIFF_JS:?SKIFF_JS must point to dist/skiff.mjs}"
: "${STATE_DIR:?STATE_DIR must be set}"
NODE="${NODE:-node}"
export SKIFF_LOG_LEVEL="${LOG_LEVEL:-info}"
skiff() { exec "$NODE" "$SKIFF_JS" "$@"; }
