#!/usr/bin/env bash
# disco's performance numbers, measured on this machine (run on demand, not in CI):
#   1. POST /disco/ accept latency (201: the cluster is on disk; the build runs in the
#      background) for 40 creates sent one after the other, against the FAKE cloud of
#      bench/fake_cloud.rs (openstack backend, no added latency), so that no local nodes compete
#      for the CPU;
#   2. GET /disco/<id> requests per second at 64 connections (wrk -t2 -c64), next to a bare
#      actix-web handler, back to back, three times: the median of the three ratios counts;
#      then p99 latency at 64 connections (wrk -t1 -c64 --latency) of both: with the default
#      workers, and (the figure that counts) with each server at one worker on CPU 0 and wrk on
#      CPU 1, the median of five runs;
#   3. time from POST to `ready` for a 1 master + 2 slaves shell cluster (local backend).
# Needs: curl, wrk, python3, openssh-server (see .ci/run). Usage: bench/run.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
work=$(mktemp -d)
disco_port=18888
bare_port=18889
one_port=18890
one_bare_port=18891
cleanup() {
    kill "${disco_pid:-}" "${bare_pid:-}" "${one_pid:-}" "${one_bare_pid:-}" 2> /dev/null || true
    wait 2> /dev/null || true
    pkill -9 -f "$work" 2> /dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --quiet --bin disco --example bare_actix --example scale
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m}'; }
p90() { sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int(NR*0.9+0.5)]}'; }
# The "steal" ticks of /proc/stat (1/100 s each, all CPUs).
steal_ticks() { awk '$1 == "cpu" {print $9}' /proc/stat; }
# wrk's p99 line (e.g. "99%    1.23ms") in milliseconds.
wrk_p99() { awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/, "", v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/, "", v)} else if (v ~ /s$/) {sub(/s$/, "", v); v*=1000}; printf "%.2f", v}'; }

echo "== 1. POST accept latency against the fake cloud"
./target/release/examples/scale --post ./target/release/disco 40

# start_disco NAME PORT WORKERS RANGE: a disco on PORT with its own data dir and node addresses.
start_disco() {
    cat > "$work/$1.cfg" << CFG
[server]
bind = 127.0.0.1:$2
workers = $3
[store]
data_dir = $work/$1
[limits]
max_clusters_per_tenant = 1000
[local]
address_range = $4
[logging]
level = warn
CFG
    ./target/release/disco serve --config "$work/$1.cfg" > "$work/$1.out" 2> "$work/$1.log" &
}
# wait_for URL...: until every URL answers.
wait_for() {
    for _ in $(seq 1 100); do
        local all=1
        for url in "$@"; do curl -s -o /dev/null "$url" || all=0; done
        [ "$all" = 1 ] && return 0
        sleep 0.1
    done
    echo "servers did not start: $*" >&2
    return 1
}
start_disco disco "$disco_port" 0 127.99.0.0/16
disco_pid=$!
./target/release/examples/bare_actix "127.0.0.1:$bare_port" > /dev/null 2>&1 &
bare_pid=$!
wait_for "http://127.0.0.1:$disco_port/-/" "http://127.0.0.1:$bare_port/disco/x"

kind='Category: disco; scheme="http://schemas.cloudcomplab.ch/occi/sm#"; class="kind";'
# ready_cluster PORT: creates a master-only cluster for tenant bench-get, prints its location
# once it is ready.
ready_cluster() {
    local location
    location=$(curl -s -D - -o /dev/null -X POST "http://127.0.0.1:$1/disco/" -H "$kind" \
        -H 'X-Tenant-Name: bench-get' -H 'X-OCCI-Attribute: icclab.disco.components.heat.slavecount="0"' \
        | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
    until curl -s "$location" -H 'X-Tenant-Name: bench-get' | grep -q 'icclab.disco.state="ready"'; do
        sleep 0.1
    done
    echo "$location"
}
p99_disco() { $pin wrk -t1 -c64 -d"${duration}s" --latency -H 'X-Tenant-Name: bench-get' "$1" | wrk_p99; }
p99_bare() { $pin wrk -t1 -c64 -d"${duration}s" --latency "http://127.0.0.1:$1/disco/x" | wrk_p99; }

echo "== 2. GET /disco/<id> at 64 connections (wrk -t2 -c64 -d${duration}s, 3 rounds)"
location=$(ready_cluster "$disco_port")
: > "$work/ratios"
for round in 1 2 3; do
    disco_rps=$(wrk -t2 -c64 -d"${duration}s" -H 'X-Tenant-Name: bench-get' "$location" | awk '/Requests\/sec/ {print $2}')
    bare_rps=$(wrk -t2 -c64 -d"${duration}s" "http://127.0.0.1:$bare_port/disco/x" | awk '/Requests\/sec/ {print $2}')
    ratio=$(awk -v a="$disco_rps" -v b="$bare_rps" 'BEGIN {printf "%.2f", a/b}')
    echo "round $round: disco $disco_rps req/s, bare actix $bare_rps req/s, ratio $ratio"
    echo "$ratio" >> "$work/ratios"
done
echo "ratio disco/bare: $(median < "$work/ratios")"
pin=""
echo "GET p99 at 64 connections (wrk -t1), default workers: disco $(p99_disco "$location") ms, bare actix $(p99_bare "$bare_port") ms"
# On 2 cores, wrk needs one core: servers with a worker per core then time-share with wrk, and
# the scheduler's slices (about 4 ms) become everyone's p99, a bare handler's too. The latency
# that counts is therefore measured with each server at one worker on CPU 0 and wrk on CPU 1.
if command -v taskset > /dev/null && [ "$(nproc)" -ge 2 ]; then
    kill "$bare_pid"
    start_disco one "$one_port" 1 127.98.0.0/16
    one_pid=$!
    ./target/release/examples/bare_actix "127.0.0.1:$one_bare_port" 1 > /dev/null 2>&1 &
    one_bare_pid=$!
    wait_for "http://127.0.0.1:$one_port/-/" "http://127.0.0.1:$one_bare_port/disco/x"
    one_location=$(ready_cluster "$one_port")
    taskset -a -p -c 0 "$disco_pid" > /dev/null
    taskset -a -p -c 0 "$one_pid" > /dev/null
    taskset -a -p -c 0 "$one_bare_pid" > /dev/null
    pin="taskset -c 1"
    : > "$work/p99.disco"
    : > "$work/p99.bare"
    steal_before=$(steal_ticks)
    rounds=5
    for _ in $(seq 1 "$rounds"); do
        p99_disco "$one_location" >> "$work/p99.disco"
        echo >> "$work/p99.disco"
        p99_bare "$one_bare_port" >> "$work/p99.bare"
        echo >> "$work/p99.bare"
    done
    # Time the hypervisor gave to others while the guest wanted its CPUs: it shows up as tail.
    steal=$(awk -v t="$(($(steal_ticks) - steal_before))" -v s="$((2 * rounds * duration))" -v n="$(nproc)" \
        'BEGIN {printf "%.1f", 100 * t / (100 * s * n)}')
    echo "GET p99 at 64 connections (wrk -t1 on CPU 1), one worker on CPU 0, median of $rounds: disco $(median < "$work/p99.disco") ms (runs: $(sort -n "$work/p99.disco" | tr '\n' ' ')), bare actix $(median < "$work/p99.bare") ms (runs: $(sort -n "$work/p99.bare" | tr '\n' ' ')), CPU stolen by the host ${steal} %"
    kill "$one_pid" "$one_bare_pid"
    taskset -a -p -c "0-$(($(nproc) - 1))" "$disco_pid" > /dev/null
fi

echo "== 3. POST to ready, 1 master + 2 slaves, shell (10 runs, polled every 10 ms)"
: > "$work/ready.ms"
for i in $(seq 1 10); do
    start=$(date +%s%N)
    location=$(curl -s -D - -o /dev/null -X POST "http://127.0.0.1:$disco_port/disco/" -H "$kind" \
        -H "X-Tenant-Name: bench-ready-$i" \
        -H "X-OCCI-Attribute: icclab.disco.components.heat.slavecount=\"2\", icclab.disco.dependencies.inject=\"{'shell': ''}\", icclab.disco.components.shell.command=\"echo hello\"" \
        | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
    until curl -s "$location" -H "X-Tenant-Name: bench-ready-$i" | grep -q 'icclab.disco.state="ready"'; do
        sleep 0.01
    done
    echo $((($(date +%s%N) - start) / 1000000)) >> "$work/ready.ms"
    curl -s -o /dev/null -X DELETE "$location" -H "X-Tenant-Name: bench-ready-$i"
done
echo "POST -> ready: median $(median < "$work/ready.ms") ms, p90 $(p90 < "$work/ready.ms") ms, max $(sort -n "$work/ready.ms" | tail -1) ms"
