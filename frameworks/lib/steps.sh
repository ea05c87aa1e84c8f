# shellcheck shell=bash
# What the node's drivers share (deploy.sh installs the frameworks, hooks.sh runs their hooks
# when the cluster changes): running framework scripts as steps, resumably, each with only its
# own framework's secrets, and reporting progress in a JSON file. Sourced after runtime.sh.

# Where a step's disco_fail writes why it failed.
DISCO_FAILURE_FILE="${DISCO_FAILURE_FILE:-$DISCO_RUN_DIR/failure-reason}"
# What the steps are, for failure reasons (installer, hook), and how they are logged.
DISCO_STEP_KIND="${DISCO_STEP_KIND:-script}"
DISCO_STEP_STARTED="${DISCO_STEP_STARTED:-running {\}}"
DISCO_STEP_FINISHED="${DISCO_STEP_FINISHED:-{\} finished}"
export DISCO_FAILURE_FILE

# disco_driver_lock PATH: one driver at a time: takes PATH.lock (on fd 9, which steps and the
# services they start do not inherit), or exits when another driver holds it; writes PATH.pid.
disco_driver_lock() {
    exec 9> "$1.lock"
    flock -n 9 || exit 0
    echo "$$" > "$1.pid"
}

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

# disco_run_steps FILE STATE DONE_DIR STEP...: runs each "framework:script" step in order,
# skipping those DONE_DIR marks as done (a driver started again after a crash resumes), with
# progress in FILE: STATE and the current framework while a step runs, `failed` and the reason
# when one fails; then this returns 1 with DISCO_STEP_FAILED (the framework) and
# DISCO_STEP_REASON set. The frameworks done so far are in the array DISCO_STEPS_DONE. Each step
# is logged with DISCO_STEP_STARTED and DISCO_STEP_FINISHED, where {} stands for the framework.
# shellcheck disable=SC2034 # DISCO_STEP_FAILED is for the drivers
disco_run_steps() {
    local file=$1 state=$2 done_dir=$3 step framework script
    shift 3
    DISCO_STEPS_DONE=()
    DISCO_STEP_FAILED=""
    mkdir -p "$done_dir"
    for step in "$@"; do
        framework=${step%%:*}
        script=${step#*:}
        if [[ ! "$step" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*:[A-Za-z0-9][A-Za-z0-9_.-]*$ ]]; then
            DISCO_STEP_REASON="\"$step\" is not a step (framework:script)"
            framework=""
        elif [ -e "$done_dir/$framework" ]; then
            DISCO_STEPS_DONE+=("$framework")
            continue
        else
            disco_write_progress "$file" "$state" "$framework" "" "${DISCO_STEPS_DONE[@]}"
            DISCO_FRAMEWORK="$framework" disco_log "${DISCO_STEP_STARTED//\{\}/$framework}"
            if disco_run_step "$framework" "$script"; then
                touch "$done_dir/$framework"
                DISCO_STEPS_DONE+=("$framework")
                DISCO_FRAMEWORK="$framework" disco_log "${DISCO_STEP_FINISHED//\{\}/$framework}"
                continue
            fi
        fi
        DISCO_STEP_FAILED=$framework
        DISCO_FRAMEWORK="${framework:-$DISCO_FRAMEWORK}" disco_log "FAILED: $DISCO_STEP_REASON"
        disco_write_progress "$file" failed "$framework" "$DISCO_STEP_REASON" "${DISCO_STEPS_DONE[@]}"
        return 1
    done
}
