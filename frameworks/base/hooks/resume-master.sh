#!/usr/bin/env bash
# base, after a resume restarted the master's services: the cluster is not ready again until
# the deployment log server answers, as after the first install.
set -euo pipefail
# shellcheck source=frameworks/lib/hooks/runtime.sh
source "$DISCO_LIB/hooks/runtime.sh"

port="${DISCO_LOG_PORT:-8084}"
address="${DISCO_NODE_ADDR:-0.0.0.0}"
disco_wait_port "$address" "$port" 60 \
    || disco_fail "the log server does not answer on $address:$port after the resume"
disco_log "deployment log served on http://$address:$port/ again"
