#!/usr/bin/env bash
# Spark, when slaves joined (on the master): their workers registered while installing. A master
# that ran a worker because the cluster had no slaves stops it, as a cluster built with slaves
# has none there: once another worker is alive.
set -euo pipefail
# shellcheck source=frameworks/lib/hooks/runtime.sh
source "$DISCO_LIB/hooks/runtime.sh"
# shellcheck source=frameworks/spark/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

if spark_on_yarn || ! disco_service_recorded spark-worker; then
    exit 0
fi
others=$(spark_alive_workers "$DISCO_NODE_ADDR") \
    || disco_fail "cannot read the workers of the Spark master at http://$DISCO_MASTER_ADDR:8080/json/"
if [ -z "$others" ]; then
    disco_log "no other worker is alive yet: the master keeps its own"
    exit 0
fi
disco_stop_service spark-worker
disco_log "slaves joined: the master's own worker stopped; workers run on ${others//$'\n'/ }"
