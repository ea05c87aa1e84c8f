#!/usr/bin/env bash
# Hadoop, before slaves leave (on the master): decommissions their DataNodes (their blocks are
# copied to the remaining ones first), then excludes their NodeManagers, and takes them off the
# workers list.
#
# When no DataNode would remain, the master runs one (and a NodeManager) first, as in a cluster
# built without slaves. With fewer than 3 remaining, files are set to that many copies: HDFS
# cannot decommission a node while it holds a copy that has nowhere else to go.
# When decommissioning takes longer than decommission_timeout, the hook fails and the DataNodes
# stay excluded: run again, it continues where HDFS is. The leaving addresses stay in
# dfs.exclude until a new slave has one of them again; the ResourceManager keeps refusing their
# NodeManagers until each leaving slave stopped its own (leave-slave.sh refreshes it then).
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
workers=()
[ ! -s "$HADOOP_CONF_DIR/workers" ] || mapfile -t workers < "$HADOOP_CONF_DIR/workers"
remaining=()
for worker in "${workers[@]}"; do
    [ -z "$worker" ] || hadoop_listed "$worker" "${leaving[@]}" || remaining+=("$worker")
done
if [ "${#remaining[@]}" = 0 ]; then
    disco_log "no DataNode would remain: the master runs a DataNode and a NodeManager"
    hadoop_start_worker
    remaining=("$DISCO_MASTER_ADDR")
fi
if [ "${#remaining[@]}" -lt 3 ]; then
    hadoop_run "$HADOOP_HOME/bin/hdfs" dfs -setrep -R "${#remaining[@]}" / \
        || disco_fail "cannot set HDFS files to ${#remaining[@]} copies, as many as DataNodes remain"
fi

hadoop_edit_list "$HADOOP_DFS_EXCLUDE" add "${leaving[@]}"
hadoop_refresh dfs
disco_log "decommissioning the DataNodes of ${leaving[*]}"
hadoop_wait_decommissioned "$timeout" "${leaving[@]}"
hadoop_edit_list "$HADOOP_YARN_EXCLUDE" add "${leaving[@]}"
hadoop_refresh yarn
# The ResourceManager keeps them excluded until the next refresh: leave-slave.sh's, once the
# slave's NodeManager stopped. Then a new slave may have the address again.
hadoop_edit_list "$HADOOP_YARN_EXCLUDE" remove "${leaving[@]}"
HADOOP_WORKERS=("${remaining[@]}")
hadoop_configure
disco_log "${leaving[*]} decommissioned; workers: ${HADOOP_WORKERS[*]}"
