#!/usr/bin/env bash
# Hadoop on the master: the HDFS NameNode (9000, web UI 9870) and the YARN ResourceManager
# (8030-8033, web UI 8088); a DataNode and a NodeManager too when the cluster has no slaves.
set -euo pipefail
# shellcheck source=frameworks/lib/runtime.sh
source "$DISCO_LIB/runtime.sh"
# shellcheck source=frameworks/hadoop/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

hadoop_install
hadoop_configure

# Formatting erases HDFS: only once, ever, for this node.
if [ -e "$HADOOP_DATA/.namenode-formatted" ] || [ -e "$HADOOP_DATA/dfs/name/current/VERSION" ]; then
    disco_log "the NameNode is already formatted"
else
    disco_log "formatting the HDFS NameNode"
    hadoop_run "$HADOOP_HOME/bin/hdfs" namenode -format -nonInteractive \
        || disco_fail "formatting the HDFS NameNode failed (see hadoop.log)"
fi
touch "$HADOOP_DATA/.namenode-formatted"

hadoop_start namenode hdfs namenode
disco_wait_port "$DISCO_MASTER_ADDR" 9000 300 \
    || disco_fail "the HDFS NameNode does not listen on $DISCO_MASTER_ADDR:9000"
disco_log "HDFS at $NAMENODE_URL, NameNode web UI on http://$DISCO_MASTER_ADDR:9870/"

# Directories every user may write to: /tmp, and /user for their home directories (Spark on
# YARN stages its files there).
if [ ! -e "$HADOOP_DATA/.hdfs-initialized" ]; then
    hadoop_run timeout 600 "$HADOOP_HOME/bin/hdfs" dfsadmin -safemode wait \
        || disco_fail "HDFS did not leave safe mode within 600 s"
    hadoop_run "$HADOOP_HOME/bin/hdfs" dfs -mkdir -p /tmp /user \
        || disco_fail "cannot create /tmp and /user in HDFS"
    hadoop_run "$HADOOP_HOME/bin/hdfs" dfs -chmod 1777 /tmp /user \
        || disco_fail "cannot open /tmp and /user in HDFS to every user"
    touch "$HADOOP_DATA/.hdfs-initialized"
fi

hadoop_start resourcemanager yarn resourcemanager
disco_wait_port "$DISCO_MASTER_ADDR" 8032 300 \
    || disco_fail "the YARN ResourceManager does not listen on $DISCO_MASTER_ADDR:8032"
disco_log "YARN ResourceManager at $DISCO_MASTER_ADDR:8032, web UI on http://$DISCO_MASTER_ADDR:8088/"

if hadoop_is_worker; then
    disco_log "no slaves: the master runs a DataNode and a NodeManager too"
    hadoop_start_worker
fi
