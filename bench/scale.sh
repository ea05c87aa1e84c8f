#!/usr/bin/env bash
# disco at scale, against a FAKE Keystone + Heat (bench/fake_cloud.rs: every answer after 50 ms,
# stacks complete after a set delay, nothing runs): the real openstack backend and keystone auth.
#   1. the store: N clusters created through the API and left ready, then GET /disco/ (median
#      of 21), GET /disco/<id> p99 (wrk -t1 -c64 --latency on CPU 1, disco with its one HTTP
#      worker on CPU 0, as in bench/run.sh), the server's RSS and its CPU use over 30 s with no
#      request;
#   2. in flight: M creates at once, stacks that take D s; from each stack's CREATE_COMPLETE to
#      disco's `ready` (p99), and Heat calls per cluster and minute of building.
# Every cluster must become ready with the fake's address, never before its stack completed;
# anything else is an error and fails the run. Not run in CI (tests/api/scale_smoke.rs runs it
# at 100 clusters). Needs: wrk. Usage: bench/scale.sh [N=10000] [M=1000] [D=20]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin disco --example scale
ulimit -n 65536 2> /dev/null || true
exec ./target/release/examples/scale ./target/release/disco "${1:-10000}" "${2:-1000}" "${3:-20}"
