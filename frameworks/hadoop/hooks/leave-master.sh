#!/usr/bin/env bash
# Hadoop, before slaves leave (on the master): decommissions their DataNodes (their blocks are
# copied to the remaining ones first) and NodeManagers, and takes them off the workers list.
#
# When no DataNode would remain, the master runs one (and a NodeManager) first, as in a cluster
# built without slaves. With fewer than 3 remaining, files are set to that many copies: HDFS
# cannot decommission a node while it holds a copy that has nowhere else to go.
# The leaving addresses stay in dfs.exclude until a new slave has one of them again; the
# ResourceManager keeps refusing their NodeManagers until each leaving slave stopped its own
# (leave-slave.sh refreshes it then).
set -euo pipefail
# shellcheck source=frameworks/lib/hooks/runtime.sh
source "$DISCO_LIB/hooks/runtime.sh"
# shellcheck source=frameworks/hadoop/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
# shellcheck source=frameworks/hadoop/hooks/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

timeout=$(disco_seconds "${DISCO_HADOOP_DECOMMISSION_TIMEOUT:-3600}" "hadoop's decommission_timeout")
disco_hook_nodes
leaving=("${DISCO_HOOK_ADDRS[@]}")
hadoop_locate

hadoop_edit_list "$HADOOP_CONF_DIR/workers" remove "${leaving[@]}"
mapfile -t HADOOP_WORKERS < "$HADOOP_CONF_DIR/workers"
if [ "${#HADOOP_WORKERS[@]}" = 0 ]; then
    disco_log "no DataNode would remain: the master runs a DataNode and a NodeManager"
    HADOOP_WORKERS=("$DISCO_MASTER_ADDR")
    hadoop_configure
    hadoop_start_worker
else
    hadoop_configure
fi
if [ "${#HADOOP_WORKERS[@]}" -lt 3 ]; then
    hadoop_run "$HADOOP_HOME/bin/hdfs" dfs -setrep -R "${#HADOOP_WORKERS[@]}" / \
        || disco_fail "cannot set HDFS files to ${#HADOOP_WORKERS[@]} copies, as many as DataNodes remain"
fi

hadoop_edit_list "$HADOOP_DFS_EXCLUDE" add "${leaving[@]}"
hadoop_edit_list "$HADOOP_YARN_EXCLUDE" add "${leaving[@]}"
hadoop_refresh
disco_log "decommissioning the DataNodes and NodeManagers of ${leaving[*]}"
hadoop_wait_decommissioned "$timeout" "${leaving[@]}"
# The ResourceManager keeps them excluded until the next refresh: leave-slave.sh's, once the
# slave's NodeManager stopped. Then a new slave may have the address again.
hadoop_edit_list "$HADOOP_YARN_EXCLUDE" remove "${leaving[@]}"
disco_log "${leaving[*]} decommissioned; workers: ${HADOOP_WORKERS[*]}"
