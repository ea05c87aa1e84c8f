# shellcheck shell=bash
# The framework runtime: sourced by every installer and by the drivers (deploy.sh, and
# hooks/driver.sh through hooks/runtime.sh).
#
# Profiles (DISCO_PROFILE):
#   cloud  a Debian 12 or Ubuntu 24.04 VM: packages from apt, services under systemd, files under /.
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
# Where disco_fail writes why the current step failed (the driver reads it).
DISCO_FAILURE_FILE="${DISCO_FAILURE_FILE:-$DISCO_RUN_DIR/failure-reason}"
export DISCO_PROFILE DISCO_NODE_ROOT DISCO_LOG_DIR DISCO_RUN_DIR DISCO_FRAMEWORK DISCO_FAILURE_FILE

mkdir -p "$DISCO_LOG_DIR" "$DISCO_RUN_DIR"

# Appends a timestamped line to deployment.log and to the current framework's log.
disco_log() {
    local line
    line="$(date -u +%Y-%m-%dT%H:%M:%SZ) [${DISCO_NODE_NAME:-node}] [$DISCO_FRAMEWORK] $*"
    printf '%s\n' "$line" >> "$DISCO_LOG_DIR/deployment.log"
    printf '%s\n' "$line" >> "$DISCO_LOG_DIR/$DISCO_FRAMEWORK.log"
}

# Records why the current step failed (read by the driver, deploy.sh or hooks/driver.sh, into its
# status file) and stops.
disco_fail() {
    disco_log "ERROR: $*"
    printf '%s\n' "$*" > "$DISCO_FAILURE_FILE"
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

# Fails unless every named tool is on PATH.
disco_require_tools() {
    local tool missing=()
    for tool in "$@"; do
        command -v "$tool" > /dev/null 2>&1 || missing+=("$tool")
    done
    [ "${#missing[@]}" = 0 ] || disco_fail "missing tools on this node: ${missing[*]}"
}

# disco_apt STEP ARGS: apt-get ARGS; waits for the dpkg lock, retries, fails naming STEP.
disco_apt() {
    local step=$1 out="$DISCO_RUN_DIR/apt.out" n=1 delay="${DISCO_APT_BACKOFF_SECS:-5}" rc
    local deadline=$((SECONDS + ${DISCO_APT_LOCK_WAIT_SECS:-900})) waited="" holder errors
    shift
    while :; do
        rc=0
        DEBIAN_FRONTEND=noninteractive apt-get -q -y "$@" > "$out" 2>&1 < /dev/null || rc=$?
        cat "$out"
        if [ "$rc" = 0 ]; then
            [ -z "$waited" ] || disco_log "$step: got the dpkg lock after waiting $((SECONDS - waited)) s"
            return 0
        fi
        holder=$(grep -m 1 -oE '(Could not get lock|Unable to lock|Unable to acquire).*|is locked by another process' "$out") || holder=""
        if [ -n "$holder" ]; then
            [ "$SECONDS" -lt "$deadline" ] || disco_fail "$step: the dpkg lock is still held after ${DISCO_APT_LOCK_WAIT_SECS:-900} s ($holder)"
            [ -n "$waited" ] || { waited=$SECONDS; disco_log "$step: waiting for the dpkg lock ($holder)"; }
            sleep 2
            continue
        fi
        errors=$(grep -E '^(E|Err):' "$out" | tail -n 3 | tr '\n' ' ') || errors=""
        errors="${errors% }"
        [ -n "$errors" ] || errors="apt-get exited with status $rc: $(tail -n 1 "$out")"
        ! grep -qE "Unable to locate package|has no installation candidate" "$out" || disco_fail "$step: $errors"
        [ "$n" -lt "${DISCO_APT_ATTEMPTS:-4}" ] || disco_fail "$step failed $n times: $errors"
        disco_log "$step failed (attempt $n of ${DISCO_APT_ATTEMPTS:-4}), again in $delay s: $errors"
        sleep "$delay"
        n=$((n + 1)) delay=$((delay * 2))
    done
}

# Installs Debian packages on a VM (Debian 12, Ubuntu 24.04); a local node has its tools.
disco_install_packages() {
    case "$DISCO_PROFILE" in
        cloud)
            if [ ! -e "$DISCO_RUN_DIR/apt-lists-refreshed" ]; then
                disco_log "refreshing the package lists (apt-get update)"
                disco_apt "refreshing the package lists (apt-get update)" update --error-on=any
                touch "$DISCO_RUN_DIR/apt-lists-refreshed"
            fi
            disco_log "installing packages $*"
            disco_apt "installing packages $*" install "$@"
            ;;
        local)
            disco_log "local profile: not installing packages ($*), relying on the machine's tools"
            ;;
    esac
}

# disco_checksum_ok FILE CHECKSUM: whether FILE has that checksum: SHA-256 hex, or
# `sha512:` and SHA-512 hex (some projects publish only SHA-512).
disco_checksum_ok() {
    [ -f "$1" ] || return 1
    case "$2" in
        sha512:*) [ "$(sha512sum "$1" | cut -d ' ' -f 1)" = "${2#sha512:}" ] ;;
        *) [ "$(sha256sum "$1" | cut -d ' ' -f 1)" = "$2" ] ;;
    esac
}

# disco_fetch URL FILE: download with timeouts and curl's retries; DISCO_FETCH_ERROR says why not.
disco_fetch() {
    local code err="$DISCO_RUN_DIR/curl.err"
    code=$(curl -fsSL --connect-timeout "${DISCO_DOWNLOAD_CONNECT_SECS:-20}" --max-time "${DISCO_DOWNLOAD_MAX_SECS:-1800}" \
        --retry "${DISCO_DOWNLOAD_RETRIES:-3}" --retry-connrefused -w '%{http_code}' -o "$2" "$1" 2> "$err") && return 0
    DISCO_FETCH_ERROR="cannot download $1: $(tr '\n' ' ' < "$err" | head -c 300)"
    DISCO_FETCH_ERROR="${DISCO_FETCH_ERROR% }${code:+ (HTTP $code)}"
    return 1
}

# disco_download URL CHECKSUM DEST: fetches an artifact once and verifies its checksum.
# DISCO_MIRROR (a base URL) replaces URL's location, for clouds without internet: the file is
# then fetched as $DISCO_MIRROR/<file name>. On a local node, DISCO_ARTIFACT_CACHE is looked in
# first and filled after a download.
disco_download() {
    local url=$1 sha256=$2 dest=$3 name cached=""
    name=${url##*/}
    [ -n "${DISCO_MIRROR:-}" ] && url="${DISCO_MIRROR%/}/$name"
    if disco_checksum_ok "$dest" "$sha256"; then
        disco_log "$name is already there"
        return 0
    fi
    mkdir -p "$(dirname "$dest")"
    if [ "$DISCO_PROFILE" = local ] && [ -n "${DISCO_ARTIFACT_CACHE:-}" ]; then
        cached="$DISCO_ARTIFACT_CACHE/$name"
        if disco_checksum_ok "$cached" "$sha256"; then
            cp "$cached" "$dest"
            disco_log "$name taken from the artifact cache"
            return 0
        fi
    fi
    disco_log "downloading $url"
    disco_fetch "$url" "$dest.part" || disco_fail "$DISCO_FETCH_ERROR"
    disco_checksum_ok "$dest.part" "$sha256" || {
        rm -f "$dest.part"
        disco_fail "$name from $url does not have the expected checksum ($sha256)"
    }
    mv -f "$dest.part" "$dest"
    if [ -n "$cached" ]; then
        mkdir -p "$DISCO_ARTIFACT_CACHE" && cp "$dest" "$cached"
    fi
}

# disco_install_release NAME VERSION URL CHECKSUM PROBE: downloads, verifies and unpacks a
# release tarball once into ${DISCO_NODE_ROOT}/opt/NAME-VERSION and sets DISCO_RELEASE_HOME to
# that directory. {version} in URL stands for VERSION; PROBE is a path the release must contain.
disco_install_release() {
    local name=$1 version=$2 url=$3 checksum=$4 probe=$5 extension=.tgz tarball
    url="${url//\{version\}/$version}"
    DISCO_RELEASE_HOME="${DISCO_NODE_ROOT%/}/opt/$name-$version"
    [ -e "$DISCO_RELEASE_HOME/$probe" ] && return 0
    case "$url" in *.tar.gz) extension=.tar.gz ;; esac
    tarball="${DISCO_NODE_ROOT%/}/opt/disco/downloads/$name-$version$extension"
    disco_download "$url" "$checksum" "$tarball"
    mkdir -p "$DISCO_RELEASE_HOME"
    tar -xzf "$tarball" -C "$DISCO_RELEASE_HOME" --strip-components 1 --no-same-owner \
        || disco_fail "cannot unpack $tarball"
    [ -e "$DISCO_RELEASE_HOME/$probe" ] \
        || disco_fail "$tarball is not a $name release: it has no $probe"
}

# disco_export NAME VALUE: makes a variable part of users' shells on this node (login shells on
# a VM via /etc/profile.d; on a local node the sshd sessions read the same file via BASH_ENV).
disco_export() {
    local file="${DISCO_NODE_ROOT%/}/etc/profile.d/disco.sh" tmp
    mkdir -p "$(dirname "$file")"
    tmp="$file.tmp"
    { grep -v "^export $1=" "$file" 2> /dev/null || true; } > "$tmp"
    printf 'export %s=%q\n' "$1" "$2" >> "$tmp"
    mv -f "$tmp" "$file"
}

# disco_export_path DIR: puts DIR on users' PATH on this node (see disco_export).
disco_export_path() {
    local file="${DISCO_NODE_ROOT%/}/etc/profile.d/disco.sh" tmp dirs
    mkdir -p "$(dirname "$file")"
    tmp="$file.tmp"
    dirs=$(sed -n 's/^# disco path: //p' "$file" 2> /dev/null || true)
    case ":$dirs:" in *":$1:"*) return 0 ;; esac
    dirs="${dirs:+$dirs:}$1"
    { grep -v -e '^# disco path: ' -e '^export PATH=' "$file" 2> /dev/null || true; } > "$tmp"
    # shellcheck disable=SC2016 # $PATH is expanded by the user's shell, later
    printf '# disco path: %s\nexport PATH=%q:"$PATH"\n' "$dirs" "$dirs" >> "$tmp"
    mv -f "$tmp" "$file"
}

# disco_chosen FRAMEWORK: whether FRAMEWORK is part of this cluster.
disco_chosen() {
    case " ${DISCO_FRAMEWORKS:-} " in *" $1 "*) return 0 ;; *) return 1 ;; esac
}

# disco_systemd_quote ARG: one argument in systemd's ExecStart syntax.
disco_systemd_quote() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//\$/\$\$}
    s=${s//%/%%}
    printf '"%s"' "$s"
}

# disco_signal SUCCESS|FAILURE REASON: tells the orchestrator (Heat's wait condition on a VM)
# how this node's deployment ended. Does nothing where no signal URL was given.
disco_signal() {
    [ -n "${DISCO_SIGNAL_URL:-}" ] || return 0
    local body
    body=$(printf '{"status":%s,"reason":%s,"id":%s}' "$(disco_json_string "$1")" \
        "$(disco_json_string "$2")" "$(disco_json_string "${DISCO_NODE_NAME:-node}")")
    local headers=(-H "Content-Type: application/json")
    [ -n "${DISCO_SIGNAL_TOKEN_FILE:-}" ] && headers+=(-H "@$DISCO_SIGNAL_TOKEN_FILE")
    local err="$DISCO_RUN_DIR/signal.err"
    curl -fsS --connect-timeout 10 --max-time 60 --retry 5 --retry-connrefused --retry-delay 3 \
        -X POST "${headers[@]}" --data-binary "$body" "$DISCO_SIGNAL_URL" > /dev/null 2> "$err" \
        || disco_log "could not signal $1 to the orchestrator: $(tr '\n' ' ' < "$err" | head -c 300)"
}

# Values shared inside the cluster (e.g. a join token): the master publishes, the others fetch.
# Local nodes share a directory only the cluster can read; on VMs the master's agent
# (lib/agent.py, port DISCO_AGENT_PORT of its cluster-internal address) serves them to
# requests that carry the cluster secret.
disco_share_dir() {
    if [ "$DISCO_PROFILE" = local ]; then
        printf '%s' "${DISCO_CLUSTER_SHARE:?DISCO_CLUSTER_SHARE is not set}"
    else
        printf '%s' "${DISCO_NODE_ROOT%/}/var/lib/disco/share"
    fi
}

# disco_share NAME VALUE (on the master).
disco_share() {
    local dir
    dir=$(disco_share_dir)
    mkdir -p "$dir" && chmod 700 "$dir"
    (umask 077 && printf '%s' "$2" > "$dir/$1.tmp") && mv -f "$dir/$1.tmp" "$dir/$1"
}

# On a VM: starts the node's agent (shared values, hook runs), before the installers.
disco_start_agent() {
    [ "$DISCO_PROFILE" = cloud ] || return 0
    disco_start_service agent python3 "$DISCO_LIB/agent.py" \
        "${DISCO_NODE_ADDR:?}" "${DISCO_AGENT_PORT:-8085}"
}

# disco_fetch_shared NAME SECONDS: prints a value the master shared, waiting for it.
disco_fetch_shared() {
    local name=$1 deadline=$((SECONDS + $2)) dir
    dir=$(disco_share_dir)
    while :; do
        if [ "$DISCO_PROFILE" = local ]; then
            [ -s "$dir/$name" ] && { cat "$dir/$name"; return 0; }
        else
            # The secret travels in a header read from a file, never on a command line.
            curl -fsS --connect-timeout 5 --max-time 30 \
                -H "@${DISCO_CLUSTER_SECRET_HEADER_FILE:?}" \
                "http://${DISCO_MASTER_ADDR:?}:${DISCO_AGENT_PORT:-8085}/$name" && return 0
        fi
        [ "$SECONDS" -lt "$deadline" ] || disco_fail "the master did not share $name within $2 s"
        sleep 1
    done
}

# Services. disco_start_service starts a long-running service once and remembers it, so that
# disco_restart_services (hooks/runtime.sh) brings it back after a suspend, in the order services
# were first started, and disco_stop_service stops and forgets it (a node leaving a cluster).
#   cloud  a systemd unit disco-NAME (DISCO_SERVICE_USER names its user, root when unset).
#   local  a process in its own session (so its whole process group can be stopped), PID in
#          run/NAME.pid, output in NAME.out next to the logs. Its argv, environment (both
#          NUL-separated), working directory and niceness are recorded under run/services/NAME/,
#          mode 0600 (the environment holds the framework's secrets): a restart is exactly the
#          first start.
# run/services/order lists the services in the order they were first started, on both profiles.

DISCO_SERVICES_DIR="$DISCO_RUN_DIR/services"

# Starts a recorded local service (see above) and waits for its PID file. The starter is Python
# so that the service gets exactly the recorded environment, none of it on a command line.
# shellcheck disable=SC2016 # Python code, not shell
DISCO_SERVICE_STARTER='
import os, sys
pid_file, record = sys.argv[1], sys.argv[2]
def fields(name):
    with open(os.path.join(record, name), "rb") as f:
        return f.read().split(b"\0")[:-1]
argv = fields("argv")
env = dict(entry.split(b"=", 1) for entry in fields("env") if b"=" in entry)
os.chdir(fields("cwd")[0])
try:
    os.setpriority(os.PRIO_PROCESS, 0, int(fields("nice")[0]))
except (OSError, IndexError, ValueError):
    pass
with open(pid_file + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename(pid_file + ".tmp", pid_file)
os.execvpe(argv[0], argv, env)
'

# Fails unless NAME can name a service (it becomes part of file and unit names).
disco_check_service_name() {
    [[ "$1" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || disco_fail "\"$1\" is not a valid service name"
}

# disco_service_recorded NAME: whether this node started NAME and has not stopped it since.
disco_service_recorded() {
    grep -qxF -e "$1" "$DISCO_SERVICES_DIR/order" 2> /dev/null
}

# disco_pid_leads_session PID: whether PID is a live (not zombie) process leading its own session,
# as every local service does: a stale PID file naming a reused PID is not taken for the service.
disco_pid_leads_session() {
    local stat fields
    stat=$(cat "/proc/$1/stat" 2> /dev/null) || return 1
    read -r -a fields <<< "${stat##*) }"
    [ "${fields[3]:-}" = "$1" ] && [ "${fields[0]:-}" != Z ]
}

# Succeeds when the named service started by disco_start_service is running.
disco_service_running() {
    local name=$1 pid
    case "$DISCO_PROFILE" in
        cloud) systemctl is-active --quiet "disco-$name" ;;
        local)
            [ -s "$DISCO_RUN_DIR/$name.pid" ] || return 1
            pid=$(cat "$DISCO_RUN_DIR/$name.pid")
            [[ "$pid" =~ ^[0-9]+$ ]] && disco_pid_leads_session "$pid"
            ;;
    esac
}

# Starts the local service NAME from its record and waits for its PID file.
disco_launch_service() {
    local name=$1 pidfile="$DISCO_RUN_DIR/$1.pid"
    rm -f "$pidfile"
    setsid python3 -c "$DISCO_SERVICE_STARTER" "$pidfile" "$DISCO_SERVICES_DIR/$name" \
        >> "$DISCO_LOG_DIR/$name.out" 2>&1 < /dev/null 9>&- &
    for _ in $(seq 1 200); do
        [ -s "$pidfile" ] && return 0
        sleep 0.05
    done
    disco_fail "$name did not start (waited 10 s for its PID file)"
}

# disco_start_service NAME COMMAND [ARGS...]: starts a long-running service once (see above).
disco_start_service() {
    local name=$1
    shift
    disco_check_service_name "$name"
    if disco_service_running "$name"; then
        disco_log "$name is already running"
        return 0
    fi
    mkdir -p "$DISCO_SERVICES_DIR"
    case "$DISCO_PROFILE" in
        cloud)
            local unit="${DISCO_NODE_ROOT%/}/etc/systemd/system/disco-$name.service" exec="" arg
            for arg in "$@"; do
                exec+="${exec:+ }$(disco_systemd_quote "$arg")"
            done
            mkdir -p "$(dirname "$unit")"
            {
                printf '[Unit]\nDescription=disco %s\nAfter=network-online.target\n\n' "$name"
                printf '[Service]\nExecStart=%s\nRestart=on-failure\n' "$exec"
                [ -z "${DISCO_SERVICE_USER:-}" ] || printf 'User=%s\n' "$DISCO_SERVICE_USER"
                printf '\n[Install]\nWantedBy=multi-user.target\n'
            } > "$unit"
            { systemctl daemon-reload && systemctl enable --now "disco-$name"; } \
                || disco_fail "could not start $name"
            ;;
        local)
            local record="$DISCO_SERVICES_DIR/$name"
            rm -rf "$record.new"
            (
                umask 077
                mkdir -p "$record.new"
                printf '%s\0' "$@" > "$record.new/argv"
                env -0 > "$record.new/env"
                printf '%s\0' "$PWD" > "$record.new/cwd"
                printf '%s\0' "$(nice)" > "$record.new/nice"
            ) || disco_fail "cannot record the service $name in $record"
            rm -rf "$record"
            mv "$record.new" "$record"
            ;;
    esac
    disco_service_recorded "$name" || printf '%s\n' "$name" >> "$DISCO_SERVICES_DIR/order"
    [ "$DISCO_PROFILE" = cloud ] || disco_launch_service "$name"
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

# The drivers' steps (deploy.sh installs the frameworks, hooks/driver.sh runs hooks when the
# cluster changes): framework scripts run resumably, each with only its own framework's secrets.
# DISCO_STEP_KIND (installer, hook) names them in failure reasons, DISCO_STEP_DIR is where they
# are in a framework's directory, DISCO_STEP_STARTED and DISCO_STEP_FINISHED log them ({} stands
# for the framework).
DISCO_STEP_KIND="${DISCO_STEP_KIND:-script}"
DISCO_STEP_DIR="${DISCO_STEP_DIR:-}"
DISCO_STEP_STARTED="${DISCO_STEP_STARTED:-running {\}}"
DISCO_STEP_FINISHED="${DISCO_STEP_FINISHED:-{\} finished}"

# disco_driver_lock PATH: one driver at a time: takes PATH.lock (on fd 9, which steps and the
# services they start do not inherit), or exits when another driver holds it; writes PATH.pid.
disco_driver_lock() {
    exec 9> "$1.lock"
    flock -n 9 || exit 0
    echo "$$" > "$1.pid"
}

# disco_failure_reason STATUS LOG: why a step failed: what it gave disco_fail, or else its exit
# status and the last line of its log.
disco_failure_reason() {
    local reason=""
    [ -s "$DISCO_FAILURE_FILE" ] && reason=$(head -c 2000 "$DISCO_FAILURE_FILE")
    [ -n "$reason" ] || reason="$DISCO_STEP_KIND exited with status $1: $(tail -n 1 "$2" | head -c 500)"
    printf '%s' "$reason"
}

# disco_run_step FRAMEWORK SCRIPT: runs a step with only its framework's secrets
# (DISCO_SECRET_VARS: "VARIABLE:framework …"), output appended to <framework>.log. On failure it
# sets DISCO_STEP_REASON and returns non-zero.
disco_run_step() {
    local framework=$1 script=$2 status=0
    DISCO_STEP_REASON=""
    rm -f "$DISCO_FAILURE_FILE"
    (
        read -r -a entries <<< "${DISCO_SECRET_VARS:-}"
        for entry in "${entries[@]}"; do
            [ "${entry#*:}" = "$framework" ] || unset "${entry%%:*}"
        done
        DISCO_FRAMEWORK="$framework" exec bash "$DISCO_FRAMEWORKS_DIR/$framework/$DISCO_STEP_DIR$script"
    ) >> "$DISCO_LOG_DIR/$framework.log" 2>&1 9>&- || status=$?
    [ "$status" != 0 ] || return 0
    DISCO_STEP_REASON=$(disco_failure_reason "$status" "$DISCO_LOG_DIR/$framework.log")
    return "$status"
}

# disco_run_steps FILE STATE DONE_DIR STEP...: runs each "framework:script" step in order,
# skipping those marked done in DONE_DIR (a driver started again after a crash resumes), with
# progress in FILE: STATE and the current framework while a step runs, `failed` and the reason
# when one fails; then it returns 1 with DISCO_STEP_FAILED and DISCO_STEP_REASON set. The
# frameworks done so far are in the array DISCO_STEPS_DONE.
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
