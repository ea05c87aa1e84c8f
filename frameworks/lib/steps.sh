# shellcheck shell=bash
# What the node's drivers share (deploy.sh installs the frameworks, hooks.sh runs their hooks
# when the cluster changes): running framework scripts as steps, resumably, each with only its
# own framework's secrets, and reporting progress in a JSON file. Sourced after runtime.sh.

# Where a step's disco_fail writes why it failed.
DISCO_FAILURE_FILE="${DISCO_FAILURE_FILE:-$DISCO_RUN_DIR/failure-reason}"
# What the steps are, for failure reasons: installer, hook.
DISCO_STEP_KIND="${DISCO_STEP_KIND:-script}"
export DISCO_FAILURE_FILE

# disco_write_progress FILE STATE CURRENT REASON DONE...: replaces FILE atomically with
# {"node","role","state","current","reason","done","updated_at"}.
disco_write_progress() {
    local file=$1 state=$2 current=$3 reason=$4
    shift 4
    local tmp
    tmp="$(dirname "$file")/.$(basename "$file").tmp"
    printf '{"node":%s,"role":%s,"state":%s,"current":%s,"reason":%s,"done":%s,"updated_at":%s}\n' \
        "$(disco_json_string "${DISCO_NODE_NAME:-node}")" \
        "$(disco_json_string "${DISCO_ROLE:-}")" \
        "$(disco_json_string "$state")" \
        "$(disco_json_string "$current")" \
        "$(disco_json_string "$reason")" \
        "$(disco_json_array "$@")" \
        "$(disco_json_string "$(date -u +%Y-%m-%dT%H:%M:%SZ)")" > "$tmp"
    mv -f "$tmp" "$file"
}

# disco_failure_reason STATUS LOG: why a step failed: what it gave disco_fail, or else its exit
# status and the last line of its log.
disco_failure_reason() {
    local reason=""
    [ -s "$DISCO_FAILURE_FILE" ] && reason=$(head -c 2000 "$DISCO_FAILURE_FILE")
    [ -n "$reason" ] || reason="$DISCO_STEP_KIND exited with status $1: $(tail -n 1 "$2" | head -c 500)"
    printf '%s' "$reason"
}

# disco_run_step FRAMEWORK SCRIPT: runs one of a framework's scripts with only that framework's
# secrets (DISCO_SECRET_VARS: "VARIABLE:framework …"), its output appended to <framework>.log.
# On failure it sets DISCO_STEP_REASON and returns non-zero.
disco_run_step() {
    local framework=$1 script=$2 status=0
    DISCO_STEP_REASON=""
    rm -f "$DISCO_FAILURE_FILE"
    (
        read -r -a entries <<< "${DISCO_SECRET_VARS:-}"
        for entry in "${entries[@]}"; do
            [ "${entry#*:}" = "$framework" ] || unset "${entry%%:*}"
        done
        DISCO_FRAMEWORK="$framework" exec bash "$DISCO_FRAMEWORKS_DIR/$framework/$script"
    ) >> "$DISCO_LOG_DIR/$framework.log" 2>&1 9>&- || status=$?
    [ "$status" != 0 ] || return 0
    DISCO_STEP_REASON=$(disco_failure_reason "$status" "$DISCO_LOG_DIR/$framework.log")
    return "$status"
}

# disco_run_steps REPORT DONE_DIR STEP...: runs each "framework:script" step in order, skipping
# those DONE_DIR marks as done (a driver started again after a crash resumes). The frameworks
# done so far are in the array DISCO_STEPS_DONE. REPORT is called as `REPORT started FRAMEWORK`
# before a step, `REPORT finished FRAMEWORK` after it, and `REPORT failed FRAMEWORK REASON`
# when it fails; then this returns 1.
disco_run_steps() {
    local report=$1 done_dir=$2 step framework script
    shift 2
    DISCO_STEPS_DONE=()
    mkdir -p "$done_dir"
    for step in "$@"; do
        framework=${step%%:*}
        script=${step#*:}
        if [[ "$step" != *:* || -z "$framework" || -z "$script" || "$step" == */* ]]; then
            disco_log "FAILED: \"$step\" is not a step (framework:script)"
            "$report" failed "$framework" "\"$step\" is not a step (framework:script)"
            return 1
        fi
        if [ -e "$done_dir/$framework" ]; then
            DISCO_STEPS_DONE+=("$framework")
            continue
        fi
        "$report" started "$framework"
        if disco_run_step "$framework" "$script"; then
            touch "$done_dir/$framework"
            DISCO_STEPS_DONE+=("$framework")
            "$report" finished "$framework"
        else
            DISCO_FRAMEWORK="$framework" disco_log "FAILED: $DISCO_STEP_REASON"
            "$report" failed "$framework" "$DISCO_STEP_REASON"
            return 1
        fi
    done
}
