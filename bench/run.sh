#!/usr/bin/env bash
# disco's performance numbers, measured on this machine (run on demand, not in CI):
#   1. POST /disco/ accept latency (create answered with 201; the build runs in the background),
#      next to a GET on a bare actix-web handler, both with curl, sequentially;
#   2. GET /disco/<id> requests per second at 64 connections with wrk, next to the bare handler
#      measured in the same run;
#   3. time from POST to `ready` for a 1 master + 2 slaves shell cluster.
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

cargo build --release --quiet --bin disco --example bare_actix
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
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m}'; }
p90() { sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int(NR*0.9+0.5)]}'; }

echo "== 1. POST accept latency (ms; slavecount 0)"
create_latency() {
    curl -s -o /dev/null -w '%{time_total}\n' -X POST "http://127.0.0.1:$disco_port/disco/" \
        -H "$kind" -H "X-Tenant-Name: $1" \
        -H 'X-OCCI-Attribute: icclab.disco.components.heat.slavecount="0"' | awk '{print $1*1000}'
}
: > "$work/bare.ms"
for _ in $(seq 1 40); do
    curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$bare_port/disco/x" | awk '{print $1*1000}' >> "$work/bare.ms"
done
: > "$work/post-idle.ms"
for _ in $(seq 1 20); do
    create_latency bench-idle >> "$work/post-idle.ms"
    sleep 0.5 # the previous cluster is built before the next request
done
: > "$work/post-burst.ms"
for _ in $(seq 1 40); do
    create_latency bench-burst >> "$work/post-burst.ms"
done
echo "disco POST, one at a time (20):      median $(median < "$work/post-idle.ms") ms, p90 $(p90 < "$work/post-idle.ms") ms"
echo "disco POST, 40 back to back:         median $(median < "$work/post-burst.ms") ms, p90 $(p90 < "$work/post-burst.ms") ms"
echo "bare actix GET with curl (40):       median $(median < "$work/bare.ms") ms, p90 $(p90 < "$work/bare.ms") ms"
sleep 5 # let the burst's clusters finish building before measuring GET throughput

echo "== 2. GET /disco/<id> at 64 connections (wrk -t2 -c64 -d${duration}s)"
location=$(curl -s -D - -o /dev/null -X POST "http://127.0.0.1:$disco_port/disco/" -H "$kind" \
    -H 'X-Tenant-Name: bench-get' -H 'X-OCCI-Attribute: icclab.disco.components.heat.slavecount="0"' \
    | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
sleep 2
disco_rps=$(wrk -t2 -c64 -d"${duration}s" -H 'X-Tenant-Name: bench-get' "$location" | awk '/Requests\/sec/ {print $2}')
bare_rps=$(wrk -t2 -c64 -d"${duration}s" "http://127.0.0.1:$bare_port/disco/x" | awk '/Requests\/sec/ {print $2}')
echo "disco GET /disco/<id>: $disco_rps req/s"
echo "bare actix handler:    $bare_rps req/s"
awk -v a="$disco_rps" -v b="$bare_rps" 'BEGIN {printf "ratio disco/bare: %.2f\n", a/b}'

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
