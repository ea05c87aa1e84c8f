#!/usr/bin/env bash
# Installs this node's frameworks in order and reports progress in status.json.
#
# One instance per node (a lock), resumable: steps that finished are remembered in
# run/disco/done/ and skipped when the driver is started again after a crash.
#
# Environment: DISCO_STEPS ("framework:installer …", in install order), DISCO_FRAMEWORKS_DIR,
# the node's DISCO_* variables and each framework's parameters.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=frameworks/lib/runtime.sh
source "$here/runtime.sh"
export DISCO_LIB="$here"
DISCO_STEP_KIND=installer
DISCO_STEP_STARTED="installing {}"
DISCO_STEP_FINISHED="{} installed"

mkdir -p "$DISCO_RUN_DIR/done"
disco_driver_lock "$DISCO_RUN_DIR/deploy"

read -r -a steps <<< "${DISCO_STEPS:-}"
disco_log "deployment of ${#steps[@]} step(s) on ${DISCO_NODE_NAME:-node} started"
if ! (disco_start_agent) 9>&-; then
    reason="could not start disco's agent on ${DISCO_NODE_NAME:-node} (see deployment.log)"
    disco_write_progress "$DISCO_LOG_DIR/status.json" failed agent "$reason"
    disco_signal FAILURE "$reason"
    exit 1
fi
if ! disco_run_steps "$DISCO_LOG_DIR/status.json" installing "$DISCO_RUN_DIR/done" "${steps[@]}"; then
    disco_signal FAILURE "$DISCO_STEP_FAILED failed on ${DISCO_NODE_NAME:-node}: $DISCO_STEP_REASON"
    exit 1
fi
disco_write_progress "$DISCO_LOG_DIR/status.json" ready "" "" "${DISCO_STEPS_DONE[@]}"
disco_log "deployment finished: the node is ready"
disco_signal SUCCESS "${DISCO_NODE_NAME:-node} is ready"
