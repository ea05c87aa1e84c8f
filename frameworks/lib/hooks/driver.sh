#!/usr/bin/env bash
# Runs the frameworks' hooks on this node when the cluster changes (manifest.toml's [hooks.*],
# scripts in each framework's hooks/ directory), and reports progress in
# run/disco/hooks/<run>.json.
#
# Environment: the node's variables, as deploy.sh gets them, plus
#   DISCO_HOOK        join, leave or resume
#   DISCO_HOOK_RUN    this run's name, unique per cluster change and node ([a-z0-9-])
#   DISCO_HOOK_STEPS  "framework:script …" in the order to run them
#   DISCO_HOOK_NODES  the nodes concerned, "name=address …"
# One instance per run (a lock), resumable like deploy.sh: finished steps are marked in
# run/disco/hooks/<run>.done/ and skipped, and a finished run does nothing again. On resume, the
# node's services are restarted first (disco_restart_services).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=frameworks/lib/hooks/runtime.sh
source "$here/hooks/runtime.sh"
export DISCO_LIB="$here"

case "${DISCO_HOOK:-}" in
    join | leave | resume) ;;
    *)
        echo "hook driver: DISCO_HOOK must be join, leave or resume" >&2
        exit 2
        ;;
esac
if [[ ! "${DISCO_HOOK_RUN:-}" =~ ^[a-z0-9][a-z0-9-]*$ ]]; then
    echo "hook driver: DISCO_HOOK_RUN must be made of a-z, 0-9 and -" >&2
    exit 2
fi
hooks="$DISCO_RUN_DIR/hooks"
run="$hooks/$DISCO_HOOK_RUN"
export DISCO_HOOK DISCO_HOOK_NODES="${DISCO_HOOK_NODES:-}"
export DISCO_FAILURE_FILE="$run.failure-reason"
DISCO_STEP_KIND=hook
DISCO_STEP_DIR=hooks/
DISCO_STEP_STARTED="running the $DISCO_HOOK hook of {}"
DISCO_STEP_FINISHED="the $DISCO_HOOK hook of {} finished"

mkdir -p "$hooks"
disco_driver_lock "$run"
[ ! -e "$run.done/.finished" ] || exit 0

read -r -a steps <<< "${DISCO_HOOK_STEPS:-}"
disco_log "$DISCO_HOOK hooks ($DISCO_HOOK_RUN): ${#steps[@]} step(s) on ${DISCO_NODE_NAME:-node}"
disco_write_progress "$run.json" running "" ""
if [ "$DISCO_HOOK" = resume ]; then
    rm -f "$DISCO_FAILURE_FILE"
    if ! (disco_restart_services) 9>&-; then
        reason=$(DISCO_STEP_KIND="restarting the services" disco_failure_reason 1 "$DISCO_LOG_DIR/deploy.log")
        disco_log "FAILED: $reason"
        disco_write_progress "$run.json" failed "" "$reason"
        exit 1
    fi
fi
disco_run_steps "$run.json" running "$run.done" "${steps[@]}" || exit 1
touch "$run.done/.finished"
disco_write_progress "$run.json" "done" "" "" "${DISCO_STEPS_DONE[@]}"
disco_log "$DISCO_HOOK hooks ($DISCO_HOOK_RUN) finished"
