#!/usr/bin/env bash
# disco's performance numbers, measured on this machine (run on demand, not in CI):
#   1. POST /disco/ accept latency (201: the cluster is on disk; the build runs in the
#      background) for 40 creates sent one after the other, against the FAKE cloud of
#      bench/fake_cloud.rs (openstack backend, no added latency), so that no local nodes compete
#      for the CPU;
#   2. GET /disco/<id> requests per second at 64 connections (wrk -t2 -c64), next to a bare
#      actix-web handler, back to back, three times: the median of the three ratios counts;
#      then p99 latency at 64 connections (wrk -t1 -c64 --latency) of both, also with the
#      servers and wrk on separate CPUs;
#   3. time from POST to `ready` for a 1 master + 2 slaves shell cluster (local backend).
# Needs: curl, wrk, python3, openssh-server (see .ci/run). Usage: bench/run.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
work=$(mktemp -d)
disco_port=18888
bare_port=18889
cleanup() {
    kill "${disco_pid:-}" "${bare_pid:-}" 2> /dev/null || true
    wait 2> /dev/null || true
    pkill -9 -f "$work" 2> /dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --quiet --bin disco --example bare_actix --example scale
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m}'; }
p90() { sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int(NR*0.9+0.5)]}'; }
# wrk's p99 line (e.g. "99%    1.23ms") in milliseconds.
wrk_p99() { awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/, "", v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/, "", v)} else if (v ~ /s$/) {sub(/s$/, "", v); v*=1000}; printf "%.2f", v}'; }

echo "== 1. POST accept latency against the fake cloud"
./target/release/examples/scale --post ./target/release/disco 40

cat > "$work/sm.cfg" << CFG
[server]
bind = 127.0.0.1:$disco_port
[store]
data_dir = $work/var
[limits]
max_clusters_per_tenant = 1000
[local]
address_range = 127.99.0.0/16
[logging]
level = warn
CFG
./target/release/disco serve --config "$work/sm.cfg" > "$work/disco.out" 2> "$work/disco.log" &
disco_pid=$!
./target/release/examples/bare_actix "127.0.0.1:$bare_port" > /dev/null 2>&1 &
bare_pid=$!
for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$disco_port/-/" && curl -s -o /dev/null "http://127.0.0.1:$bare_port/disco/x" && break
    sleep 0.1
done

kind='Category: disco; scheme="http://schemas.cloudcomplab.ch/occi/sm#"; class="kind";'
echo "== 2. GET /disco/<id> at 64 connections (wrk -t2 -c64 -d${duration}s, 3 rounds)"
location=$(curl -s -D - -o /dev/null -X POST "http://127.0.0.1:$disco_port/disco/" -H "$kind" \
    -H 'X-Tenant-Name: bench-get' -H 'X-OCCI-Attribute: icclab.disco.components.heat.slavecount="0"' \
    | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
until curl -s "$location" -H 'X-Tenant-Name: bench-get' | grep -q 'icclab.disco.state="ready"'; do
    sleep 0.1
done
: > "$work/ratios"
for round in 1 2 3; do
    disco_rps=$(wrk -t2 -c64 -d"${duration}s" -H 'X-Tenant-Name: bench-get' "$location" | awk '/Requests\/sec/ {print $2}')
    bare_rps=$(wrk -t2 -c64 -d"${duration}s" "http://127.0.0.1:$bare_port/disco/x" | awk '/Requests\/sec/ {print $2}')
    ratio=$(awk -v a="$disco_rps" -v b="$bare_rps" 'BEGIN {printf "%.2f", a/b}')
    echo "round $round: disco $disco_rps req/s, bare actix $bare_rps req/s, ratio $ratio"
    echo "$ratio" >> "$work/ratios"
done
echo "ratio disco/bare: $(median < "$work/ratios")"
disco_p99=$(wrk -t1 -c64 -d"${duration}s" --latency -H 'X-Tenant-Name: bench-get' "$location" | wrk_p99)
bare_p99=$(wrk -t1 -c64 -d"${duration}s" --latency "http://127.0.0.1:$bare_port/disco/x" | wrk_p99)
echo "GET p99 at 64 connections (wrk -t1): disco $disco_p99 ms, bare actix $bare_p99 ms"
# The same with the servers on CPU 0 and wrk on CPU 1, so that the tail is the server's own
# rather than the scheduler sharing two cores between wrk and the server.
if command -v taskset > /dev/null && [ "$(nproc)" -ge 2 ]; then
    taskset -a -p -c 0 "$disco_pid" > /dev/null
    taskset -a -p -c 0 "$bare_pid" > /dev/null
    disco_p99=$(taskset -c 1 wrk -t1 -c64 -d"${duration}s" --latency -H 'X-Tenant-Name: bench-get' "$location" | wrk_p99)
    bare_p99=$(taskset -c 1 wrk -t1 -c64 -d"${duration}s" --latency "http://127.0.0.1:$bare_port/disco/x" | wrk_p99)
    echo "GET p99, servers on CPU 0 and wrk on CPU 1: disco $disco_p99 ms, bare actix $bare_p99 ms"
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
