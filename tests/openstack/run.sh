#!/usr/bin/env bash
# Runs the tests against real OpenStack code: installs Keystone and Heat from PyPI (once),
# starts them on loopback (tests/openstack/cloud.sh), and runs `cargo test --test openstack`
# with its ignored tests included. Leaves the services running unless --stop is given.
set -euo pipefail
cd "$(dirname "$0")/../.."

stop=false
[ "${1:-}" = --stop ] && stop=true

tests/openstack/install.sh > /dev/null
tests/openstack/cloud.sh start
status=0
cargo test --test openstack -- --ignored --test-threads 2 || status=$?
if $stop; then
    tests/openstack/cloud.sh stop
fi
exit "$status"
