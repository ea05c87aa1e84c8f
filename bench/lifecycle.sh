#!/usr/bin/env bash
# The lifecycle's speed on a local shell cluster (run on demand, not in CI): adding 2 slaves,
# removing them, suspend, resume, each to its settled state; and how soon an event reaches a
# client of the live event stream. Prints medians. Needs: python3, openssh-server (see .ci/run).
# Usage: bench/lifecycle.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-10}"
work=$(mktemp -d)
port=18890
cleanup() {
    kill "${disco_pid:-}" 2> /dev/null || true
    wait 2> /dev/null || true
    pkill -9 -f "$work" 2> /dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --quiet --bin disco
cat > "$work/sm.cfg" << CFG
[server]
bind = 127.0.0.1:$port
[store]
data_dir = $work/var
[lifecycle]
tick_ms = 20
[local]
address_range = 127.98.0.0/16
[logging]
level = warn
CFG
./target/release/disco serve --config "$work/sm.cfg" > "$work/disco.out" 2> "$work/disco.log" &
disco_pid=$!
for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/-/" && break
    sleep 0.1
done
python3 bench/lifecycle.py "http://127.0.0.1:$port" "$runs"
