#!/usr/bin/env bash
# Serves the node's log directory read-only on DISCO_LOG_PORT (8084) of the node's address:
# logserver.py serves only that directory and never follows a symbolic link out of it.
set -euo pipefail
# shellcheck source=frameworks/lib/runtime.sh
source "$DISCO_LIB/runtime.sh"

port="${DISCO_LOG_PORT:-8084}"
address="${DISCO_NODE_ADDR:-0.0.0.0}"
disco_install_packages python3
disco_require_tools python3

# Read-only and unprivileged on a VM (the security group limits who may reach it).
DISCO_SERVICE_USER=nobody disco_start_service logserver \
    python3 "$DISCO_FRAMEWORKS_DIR/base/logserver.py" "$port" --bind "$address" \
    --directory "$DISCO_LOG_DIR"
disco_wait_port "$address" "$port" 20 || disco_fail "the log server does not answer on $address:$port"
disco_log "deployment log served on http://$address:$port/"
