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
# shellcheck source=frameworks/lib/steps.sh
source "$here/steps.sh"
export DISCO_LIB="$here"
DISCO_STEP_KIND=installer

mkdir -p "$DISCO_RUN_DIR/done"
exec 9> "$DISCO_RUN_DIR/deploy.lock"
flock -n 9 || exit 0
echo "$$" > "$DISCO_RUN_DIR/deploy.pid"

# disco_run_steps' REPORT: status.json, the logs and, on failure, the orchestrator's signal.
report() {
    case "$1" in
        started)
            disco_write_progress "$DISCO_LOG_DIR/status.json" installing "$2" "" "${DISCO_STEPS_DONE[@]}"
            DISCO_FRAMEWORK="$2" disco_log "installing $2"
            ;;
        finished) DISCO_FRAMEWORK="$2" disco_log "$2 installed" ;;
        failed)
            disco_write_progress "$DISCO_LOG_DIR/status.json" failed "$2" "$3" "${DISCO_STEPS_DONE[@]}"
            disco_signal FAILURE "$2 failed on ${DISCO_NODE_NAME:-node}: $3"
            ;;
    esac
}

read -r -a steps <<< "${DISCO_STEPS:-}"
disco_log "deployment of ${#steps[@]} step(s) on ${DISCO_NODE_NAME:-node} started"
disco_run_steps report "$DISCO_RUN_DIR/done" "${steps[@]}" || exit 1
disco_write_progress "$DISCO_LOG_DIR/status.json" ready "" "" "${DISCO_STEPS_DONE[@]}"
disco_log "deployment finished: the node is ready"
disco_signal SUCCESS "${DISCO_NODE_NAME:-node} is ready"
