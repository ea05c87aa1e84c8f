#!/usr/bin/env bash
# The dashboard in a real browser: builds disco, starts two servers with the local backend
# (auth.mode = none, and static with a short session), and runs tests/browser/*.test.mjs
# with Debian's chromium through playwright-core. Screenshots land in target/screenshots/.
# Needs: chromium, node >= 20 and npm (`npm ci` here installs playwright-core), sshd, ssh.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

if [ ! -d tests/browser/node_modules/playwright-core ]; then
    (cd tests/browser && npm ci --no-audit --no-fund --silent)
fi
cargo build --quiet --bin disco
disco="$root/target/debug/disco"

work=$(mktemp -d /tmp/disco-browser.XXXXXX)
pids=()
# shellcheck disable=SC2317  # called by the trap below
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2> /dev/null || true
    done
    # The servers' clusters (sshd, log servers, services) name the work directory.
    sleep 0.5
    for pid in $(pgrep -f -- "$work" || true); do
        kill -9 "$pid" 2> /dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

# start NAME RANGE EXTRA-CONFIG: a server; prints its URL.
start() {
    local name=$1 range=$2 extra=$3 dir="$work/$1"
    mkdir -p "$dir"
    cat > "$dir/sm.cfg" << EOF
[server]
bind = 127.0.0.1:0
workers = 2
[store]
data_dir = $dir/var
[limits]
max_slavecount = 4
max_clusters_per_tenant = 100
[lifecycle]
tick_ms = 50
stop_grace_secs = 2
[local]
address_range = $range
[frameworks]
dir = $root/frameworks
[openstack]
templates_dir = $root/templates/heat
$extra
EOF
    (cd "$dir" && exec "$disco" serve --config "$dir/sm.cfg" > "$dir/stdout" 2> "$dir/server.log") &
    pids+=($!)
    for _ in $(seq 1 100); do
        if grep -q 'listening on http://' "$dir/stdout" 2> /dev/null; then
            sed -n 's/.*listening on \(http:\/\/[^ ]*\).*/\1/p' "$dir/stdout" | head -n 1
            return
        fi
        sleep 0.1
    done
    echo "disco ($name) did not start:" >&2
    cat "$dir/server.log" >&2
    exit 1
}

password="correct horse battery"
hash=$(printf '%s' "$password" | "$disco" hash-password)
mkdir -p "$work"
printf 'alice research %s\n' "$hash" > "$work/users"

session_secs=3
DISCO_URL=$(start open 127.88.1.0/24 "")
DISCO_STATIC_URL=$(start static 127.88.2.0/24 "[auth]
mode = static
users_file = $work/users
[dashboard]
session_secs = $session_secs")
export DISCO_URL DISCO_STATIC_URL
export DISCO_STATIC_PASSWORD="$password" DISCO_STATIC_SESSION_SECS="$session_secs"
export DISCO_SCREENSHOTS="$root/target/screenshots"
mkdir -p "$DISCO_SCREENSHOTS"

status=0
(cd tests/browser && node --test --test-concurrency=1 "$@" dashboard.test.mjs) || status=$?
if [ "$status" != 0 ]; then
    echo "== server logs (last lines)" >&2
    tail -n 30 "$work/open/server.log" "$work/static/server.log" >&2 || true
fi
echo "screenshots: $DISCO_SCREENSHOTS"
exit "$status"
