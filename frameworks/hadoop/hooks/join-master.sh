#!/usr/bin/env bash
# Hadoop, when slaves joined (on the master): their DataNodes and NodeManagers registered while
# installing. Their addresses leave the exclude files (a new slave may have the address of one
# that left: it is back in service) and join the workers list; the configuration follows the
# new number of DataNodes (dfs.replication, up to 3).
set -euo pipefail
# shellcheck source=frameworks/lib/hooks/runtime.sh
source "$DISCO_LIB/hooks/runtime.sh"
# shellcheck source=frameworks/hadoop/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
# shellcheck source=frameworks/hadoop/hooks/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

disco_hook_nodes
hadoop_locate
hadoop_edit_list "$HADOOP_DFS_EXCLUDE" remove "${DISCO_HOOK_ADDRS[@]}"
hadoop_edit_list "$HADOOP_YARN_EXCLUDE" remove "${DISCO_HOOK_ADDRS[@]}"
hadoop_edit_list "$HADOOP_CONF_DIR/workers" add "${DISCO_HOOK_ADDRS[@]}"
mapfile -t HADOOP_WORKERS < "$HADOOP_CONF_DIR/workers"
hadoop_configure
hadoop_refresh dfs yarn
disco_log "DataNodes and NodeManagers of ${DISCO_HOOK_ADDRS[*]} are in service; workers: ${HADOOP_WORKERS[*]}"
