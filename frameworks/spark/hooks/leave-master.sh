#!/usr/bin/env bash
# Spark, before slaves leave (on the master): when no worker would remain, the master runs one
# again, as in a cluster built without slaves. The leaving workers stop on their own nodes.
set -euo pipefail
# shellcheck source=frameworks/lib/hooks/runtime.sh
source "$DISCO_LIB/hooks/runtime.sh"
# shellcheck source=frameworks/spark/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

if spark_on_yarn; then
    exit 0
fi
disco_hook_nodes
remaining=$(spark_alive_workers "${DISCO_HOOK_ADDRS[@]}") \
    || disco_fail "cannot read the workers of the Spark master at http://$DISCO_MASTER_ADDR:8080/json/"
if [ -n "$remaining" ]; then
    disco_log "workers that remain: ${remaining//$'\n'/ }"
    exit 0
fi
disco_log "no worker would remain: the master runs one"
spark_locate
spark_start_worker
