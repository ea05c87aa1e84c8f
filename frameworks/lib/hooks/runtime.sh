# shellcheck shell=bash
# The runtime of hooks (scripts run when a built cluster changes, see driver.sh): the framework
# runtime and what only a change needs. Sourced by the hook driver and by every hook script.
# Kept out of runtime.sh, like all of hooks/: a VM's boot user data has no room for it.

# shellcheck source=frameworks/lib/runtime.sh
source "$(dirname "${BASH_SOURCE[0]}")/../runtime.sh"

# Starts every service this node recorded that is not running, in the order they were first
# started (after a suspend killed them). On a VM that is systemctl start of the disco-* units.
disco_restart_services() {
    local name names=()
    [ -s "$DISCO_SERVICES_DIR/order" ] || return 0
    mapfile -t names < "$DISCO_SERVICES_DIR/order"
    for name in "${names[@]}"; do
        disco_check_service_name "$name"
        disco_service_running "$name" && continue
        case "$DISCO_PROFILE" in
            cloud) systemctl start "disco-$name" || disco_fail "could not restart $name" ;;
            local)
                [ -d "$DISCO_SERVICES_DIR/$name" ] \
                    || disco_fail "cannot restart $name: its record $DISCO_SERVICES_DIR/$name is missing"
                disco_launch_service "$name"
                ;;
        esac
        disco_log "restarted $name"
    done
}

# disco_stop_service NAME: stops a service disco_start_service started and forgets it, so that
# no resume starts it again. local: SIGTERM to its process group, SIGKILL after
# DISCO_STOP_GRACE seconds (10). cloud: systemctl disable --now.
disco_stop_service() {
    local name=$1 pid grace=${DISCO_STOP_GRACE:-10} deadline order="$DISCO_SERVICES_DIR/order"
    disco_check_service_name "$name"
    [[ "$grace" =~ ^[0-9]+$ ]] || grace=10
    # Forgotten first: after a crash in between, a resume must not start it again.
    if disco_service_recorded "$name"; then
        { grep -vxF -e "$name" "$order" || true; } > "$order.tmp"
        mv -f "$order.tmp" "$order"
    fi
    rm -rf "${DISCO_SERVICES_DIR:?}/$name"
    case "$DISCO_PROFILE" in
        cloud)
            if [ -e "${DISCO_NODE_ROOT%/}/etc/systemd/system/disco-$name.service" ]; then
                systemctl disable --now "disco-$name" || disco_fail "could not stop $name"
                disco_log "stopped $name"
            fi
            ;;
        local)
            if disco_service_running "$name"; then
                pid=$(cat "$DISCO_RUN_DIR/$name.pid")
                kill -TERM -- "-$pid" 2> /dev/null || true
                deadline=$((SECONDS + grace))
                while kill -0 -- "-$pid" 2> /dev/null && [ "$SECONDS" -lt "$deadline" ]; do
                    sleep 0.1
                done
                if kill -0 -- "-$pid" 2> /dev/null; then
                    disco_log "$name did not stop within $grace s: killing it"
                    kill -KILL -- "-$pid" 2> /dev/null || true
                fi
                disco_log "stopped $name"
            fi
            rm -f "$DISCO_RUN_DIR/$name.pid"
            ;;
    esac
}

# disco_hook_nodes: reads DISCO_HOOK_NODES (name=address pairs separated by white space: the
# nodes a hook is about) into the arrays DISCO_HOOK_NAMES and DISCO_HOOK_ADDRS. Fails on
# anything else: the addresses go into configuration files.
disco_hook_nodes() {
    local pairs pair
    DISCO_HOOK_NAMES=()
    DISCO_HOOK_ADDRS=()
    read -r -d '' -a pairs <<< "${DISCO_HOOK_NODES:-}" || true
    for pair in "${pairs[@]}"; do
        [[ "$pair" == ?*=* && "${pair##*=}" =~ ^[0-9A-Fa-f][0-9A-Fa-f.:]*$ ]] \
            || disco_fail "DISCO_HOOK_NODES has \"$pair\", which is not name=address"
        DISCO_HOOK_NAMES+=("${pair%=*}")
        DISCO_HOOK_ADDRS+=("${pair##*=}")
    done
}

# disco_seconds VALUE WHAT: prints VALUE, a number of seconds, or fails saying WHAT is wrong.
disco_seconds() {
    [[ "$1" =~ ^[0-9]{1,9}$ ]] || disco_fail "$2 must be a number of seconds, not \"$1\""
    printf '%s' "$1"
}
