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

mkdir -p "$DISCO_RUN_DIR/done"
exec 9> "$DISCO_RUN_DIR/deploy.lock"
flock -n 9 || exit 0
echo "$$" > "$DISCO_RUN_DIR/deploy.pid"

read -r -a steps <<< "${DISCO_STEPS:-}"
done_list=()
disco_log "deployment of ${#steps[@]} step(s) on ${DISCO_NODE_NAME:-node} started"
for step in "${steps[@]}"; do
    framework=${step%%:*}
    installer=${step#*:}
    if [ -e "$DISCO_RUN_DIR/done/$framework" ]; then
        done_list+=("$framework")
        continue
    fi
    disco_write_status installing "$framework" "" "${done_list[@]}"
    rm -f "$DISCO_RUN_DIR/failure-reason"
    DISCO_FRAMEWORK="$framework" disco_log "installing $framework"
    if (
        # Each installer sees only its own framework's secrets.
        for entry in ${DISCO_SECRET_VARS:-}; do
            [ "${entry#*:}" = "$framework" ] || unset "${entry%%:*}"
        done
        DISCO_FRAMEWORK="$framework" exec bash "$DISCO_FRAMEWORKS_DIR/$framework/$installer"
    ) >> "$DISCO_LOG_DIR/$framework.log" 2>&1 9>&-; then
        touch "$DISCO_RUN_DIR/done/$framework"
        done_list+=("$framework")
        DISCO_FRAMEWORK="$framework" disco_log "$framework installed"
    else
        status=$?
        reason=""
        [ -s "$DISCO_RUN_DIR/failure-reason" ] && reason=$(head -c 2000 "$DISCO_RUN_DIR/failure-reason")
        [ -n "$reason" ] || reason="installer exited with status $status: $(tail -n 1 "$DISCO_LOG_DIR/$framework.log" | head -c 500)"
        DISCO_FRAMEWORK="$framework" disco_log "FAILED: $reason"
        disco_write_status failed "$framework" "$reason" "${done_list[@]}"
        disco_signal FAILURE "$framework failed on ${DISCO_NODE_NAME:-node}: $reason"
        exit 1
    fi
done
disco_write_status ready "" "" "${done_list[@]}"
disco_log "deployment finished: the node is ready"
disco_signal SUCCESS "${DISCO_NODE_NAME:-node} is ready"
