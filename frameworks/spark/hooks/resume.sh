#!/usr/bin/env bash
# Spark, after a resume restarted this node's services: waits until this node's worker (a
# slave's, or the master's when the cluster has no slaves) is ALIVE on the master again.
set -euo pipefail
# shellcheck source=frameworks/lib/hooks/runtime.sh
source "$DISCO_LIB/hooks/runtime.sh"
# shellcheck source=frameworks/spark/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

if spark_on_yarn || ! disco_service_recorded spark-worker; then
    disco_log "no Spark worker on this node"
    exit 0
fi
spark_wait_worker_alive
