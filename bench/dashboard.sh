#!/usr/bin/env bash
# The dashboard's speed (run on demand, not in CI): the list page of 100 clusters on the server,
# and how long a state change takes to appear in a page open in chromium. Medians.
# The 100 clusters are real records on a server whose local.sshd_path is /bin/false, so each
# build fails at once with a reason (every field of a row is filled, no machine is loaded by
# 100 clusters' services); the live numbers come from a second server with real nodes.
# Needs: chromium, node >= 20, curl, sshd; tests/browser/node_modules (npm ci there).
# Usage: bench/dashboard.sh [runs] [cycles]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
runs="${1:-50}"
cycles="${2:-10}"
work=$(mktemp -d /tmp/disco-bench-dashboard.XXXXXX)
pids=()
# shellcheck disable=SC2317  # called by the trap below
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2> /dev/null || true
    done
    sleep 0.5
    for pid in $(pgrep -f -- "$work" || true); do
        kill -9 "$pid" 2> /dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

if [ ! -d tests/browser/node_modules/playwright-core ]; then
    (cd tests/browser && npm ci --no-audit --no-fund --silent)
fi
# DISCO_BENCH_PROFILE=debug measures a debug build (quicker to build, slower to run).
if [ "${DISCO_BENCH_PROFILE:-release}" = debug ]; then
    cargo build --quiet --bin disco
    disco="$root/target/debug/disco"
else
    cargo build --release --quiet --bin disco
    disco="$root/target/release/disco"
fi

# start NAME EXTRA-CONFIG: a server on a free port; prints its URL.
start() {
    local dir="$work/$1"
    mkdir -p "$dir"
    cat > "$dir/sm.cfg" << EOF
[server]
bind = 127.0.0.1:0
[store]
data_dir = $dir/var
[limits]
max_clusters_per_tenant = 100
[lifecycle]
tick_ms = 20
[frameworks]
dir = $root/frameworks
[logging]
format = json
$2
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
    cat "$dir/server.log" >&2
    exit 1
}

list_url=$(start list "[local]
address_range = 127.97.0.0/16
sshd_path = /bin/false")
live_url=$(start live "[local]
address_range = 127.98.0.0/24")

kind='Category: disco; scheme="http://schemas.cloudcomplab.ch/occi/sm#"; class="kind";'
for i in $(seq 1 100); do
    curl -sf -o /dev/null -X POST "$list_url/disco/" -H "$kind" -H 'X-Tenant-Name: bench' \
        -H "X-OCCI-Attribute: icclab.disco.components.heat.slavecount=\"$((i % 4))\", occi.core.title=\"bench cluster $i\", icclab.disco.lifetime=\"7d\", icclab.disco.dependencies.inject=\"{'shell': ''}\""
done
# Let the reconciler finish with them, so that it does not share the CPU with the measurement.
for _ in $(seq 1 600); do
    busy=$(curl -s "$list_url/disco/" -H 'X-Tenant-Name: bench' -H 'Accept: text/uri-list' |
        while read -r url; do curl -s "$url" -H 'X-Tenant-Name: bench'; done |
        grep -c 'icclab.disco.state="\(pending\|building\)"' || true)
    [ "$busy" = 0 ] && break
    sleep 0.5
done

DISCO_LIST_URL="$list_url" DISCO_LIST_LOG="$work/list/server.log" DISCO_LIVE_URL="$live_url" \
    RUNS="$runs" CYCLES="$cycles" node bench/dashboard.mjs
