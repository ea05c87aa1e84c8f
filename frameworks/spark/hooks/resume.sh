#!/usr/bin/env bash
# Spark, after a resume restarted this node's services: on the master, waits until the Spark
# master accepts workers again (before the slaves' workers restart: they register at once
# instead of after a retry); then waits until this node's worker (a slave's, or the master's
# when the cluster has no slaves) is ALIVE on the master.
set -euo pipefail
# shellcheck source=frameworks/lib/hooks/runtime.sh
source "$DISCO_LIB/hooks/runtime.sh"
# shellcheck source=frameworks/spark/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

if spark_on_yarn; then
    exit 0
fi
if disco_service_recorded spark-master; then
    disco_wait_port "$DISCO_NODE_ADDR" 7077 300 \
        || disco_fail "the Spark master does not listen on $DISCO_NODE_ADDR:7077 after the resume"
    disco_log "the Spark master at $MASTER_URL is back"
fi
if ! disco_service_recorded spark-worker; then
    disco_log "no Spark worker on this node"
    exit 0
fi
spark_wait_worker_alive
