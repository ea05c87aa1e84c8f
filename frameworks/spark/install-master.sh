#!/usr/bin/env bash
# Spark on the master: the standalone master (7077, UI 8080), the history server (18080), and a
# worker too when the cluster has no slaves. With hadoop in the cluster, jobs go to YARN.
set -euo pipefail
# shellcheck source=frameworks/lib/runtime.sh
source "$DISCO_LIB/runtime.sh"
# shellcheck source=frameworks/spark/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

spark_install
spark_configure
if spark_on_yarn; then
    disco_log "hadoop is part of this cluster: Spark jobs run on YARN"
else
    spark_start master org.apache.spark.deploy.master.Master \
        --host "$DISCO_NODE_ADDR" --port 7077 --webui-port 8080
    disco_wait_port "$DISCO_NODE_ADDR" 7077 300 \
        || disco_fail "the Spark master does not listen on $DISCO_NODE_ADDR:7077"
    disco_log "Spark master at $MASTER_URL, web UI on http://$DISCO_NODE_ADDR:8080/"
    if [ -z "${DISCO_SLAVE_ADDRS:-}" ]; then
        disco_log "no slaves: the master runs a worker too"
        spark_start_worker
    fi
fi
if [ "${DISCO_SPARK_HISTORY_SERVER:-true}" = true ]; then
    spark_start history org.apache.spark.deploy.history.HistoryServer
    disco_wait_port "$DISCO_NODE_ADDR" 18080 300 \
        || disco_fail "the Spark history server does not listen on $DISCO_NODE_ADDR:18080"
    disco_log "Spark history server on http://$DISCO_NODE_ADDR:18080/"
fi
