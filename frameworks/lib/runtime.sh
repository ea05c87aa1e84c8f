# shellcheck shell=bash
# The framework runtime: sourced by every installer and by deploy.sh.
#
# Profiles (DISCO_PROFILE):
#   cloud  an Ubuntu VM: packages from apt, services under systemd, files under /.
#   local  a node of disco's local backend: a directory as the node's root, tools must already
#          be installed, services are tracked processes bound to the node's loopback address.
#
# Every value a user chose arrives as an environment variable; nothing here splices it into
# code.

DISCO_PROFILE="${DISCO_PROFILE:-cloud}"
DISCO_NODE_ROOT="${DISCO_NODE_ROOT:-/}"
DISCO_LOG_DIR="${DISCO_LOG_DIR:-${DISCO_NODE_ROOT%/}/var/log/disco}"
DISCO_RUN_DIR="${DISCO_RUN_DIR:-${DISCO_NODE_ROOT%/}/run/disco}"
DISCO_FRAMEWORK="${DISCO_FRAMEWORK:-deploy}"
export DISCO_PROFILE DISCO_NODE_ROOT DISCO_LOG_DIR DISCO_RUN_DIR DISCO_FRAMEWORK

mkdir -p "$DISCO_LOG_DIR" "$DISCO_RUN_DIR"

# Appends a timestamped line to deployment.log and to the current framework's log.
disco_log() {
    local line
    line="$(date -u +%Y-%m-%dT%H:%M:%SZ) [${DISCO_NODE_NAME:-node}] [$DISCO_FRAMEWORK] $*"
    printf '%s\n' "$line" >> "$DISCO_LOG_DIR/deployment.log"
    printf '%s\n' "$line" >> "$DISCO_LOG_DIR/$DISCO_FRAMEWORK.log"
}

# Records why the current step failed (read by deploy.sh into status.json) and stops.
disco_fail() {
    disco_log "ERROR: $*"
    printf '%s\n' "$*" > "$DISCO_RUN_DIR/failure-reason"
    exit 1
}

# Prints its argument as a JSON string.
disco_json_string() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\n'/\\n}
    s=${s//$'\r'/\\r}
    s=${s//$'\t'/\\t}
    s=$(printf '%s' "$s" | tr -d '\000-\010\013\014\016-\037')
    printf '"%s"' "$s"
}

# Prints its arguments as a JSON array of strings.
disco_json_array() {
    local first=1 item
    printf '['
    for item in "$@"; do
        [ "$first" = 1 ] || printf ','
        first=0
        disco_json_string "$item"
    done
    printf ']'
}

# disco_write_status STATE CURRENT REASON DONE... : replaces status.json atomically.
disco_write_status() {
    local state=$1 current=$2 reason=$3
    shift 3
    local tmp="$DISCO_LOG_DIR/.status.json.tmp"
    {
        printf '{"node":%s,"role":%s,"state":%s,"current":%s,"reason":%s,"done":%s,"updated_at":%s}\n' \
            "$(disco_json_string "${DISCO_NODE_NAME:-node}")" \
            "$(disco_json_string "${DISCO_ROLE:-}")" \
            "$(disco_json_string "$state")" \
            "$(disco_json_string "$current")" \
            "$(disco_json_string "$reason")" \
            "$(disco_json_array "$@")" \
            "$(disco_json_string "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"
    } > "$tmp"
    mv -f "$tmp" "$DISCO_LOG_DIR/status.json"
}

# Fails unless every named tool is on PATH.
disco_require_tools() {
    local tool missing=()
    for tool in "$@"; do
        command -v "$tool" > /dev/null 2>&1 || missing+=("$tool")
    done
    [ "${#missing[@]}" = 0 ] || disco_fail "missing tools on this node: ${missing[*]}"
}

# Installs Debian packages on a VM; on a local node the tools must already be there.
disco_install_packages() {
    case "$DISCO_PROFILE" in
        cloud)
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" \
                || disco_fail "apt-get install $* failed"
            ;;
        local)
            disco_log "local profile: not installing packages ($*), relying on the machine's tools"
            ;;
    esac
}

# Succeeds when the named service started by disco_start_service is running.
disco_service_running() {
    local name=$1 pid
    case "$DISCO_PROFILE" in
        cloud) systemctl is-active --quiet "disco-$name" ;;
        local)
            [ -s "$DISCO_RUN_DIR/$name.pid" ] || return 1
            pid=$(cat "$DISCO_RUN_DIR/$name.pid")
            kill -0 "$pid" 2> /dev/null
            ;;
    esac
}

# disco_start_service NAME COMMAND [ARGS...]: starts a long-running service once.
# local: its own session (so the whole process group can be stopped), PID in run/NAME.pid,
# output in NAME.out next to the logs. cloud: a transient systemd unit disco-NAME.
disco_start_service() {
    local name=$1
    shift
    if disco_service_running "$name"; then
        disco_log "$name is already running"
        return 0
    fi
    case "$DISCO_PROFILE" in
        cloud)
            systemd-run --unit="disco-$name" --collect --property=Restart=on-failure "$@" \
                || disco_fail "could not start $name"
            ;;
        local)
            local pidfile="$DISCO_RUN_DIR/$name.pid"
            rm -f "$pidfile"
            # shellcheck disable=SC2016 # $$, $1 and $@ belong to the inner shell
            setsid bash -c 'echo "$$" > "$1"; shift; exec "$@"' disco-service "$pidfile" "$@" \
                >> "$DISCO_LOG_DIR/$name.out" 2>&1 < /dev/null 9>&- &
            for _ in $(seq 1 200); do
                [ -s "$pidfile" ] && break
                sleep 0.05
            done
            [ -s "$pidfile" ] || disco_fail "$name did not start (waited 10 s for its PID file)"
            ;;
    esac
    disco_log "started $name"
}

# disco_wait_port HOST PORT SECONDS: waits until something accepts connections there.
disco_wait_port() {
    local host=$1 port=$2 seconds=$3 deadline
    deadline=$((SECONDS + seconds))
    until (exec 3<> "/dev/tcp/$host/$port") 2> /dev/null; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}
