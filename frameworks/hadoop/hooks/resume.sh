#!/usr/bin/env bash
# Hadoop, after a resume restarted this node's services: waits until this node's DataNode and
# NodeManager (a slave's, or the master's when the cluster has no slaves) registered again.
set -euo pipefail
# shellcheck source=frameworks/lib/hooks/runtime.sh
source "$DISCO_LIB/hooks/runtime.sh"
# shellcheck source=frameworks/hadoop/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

if ! disco_service_recorded hadoop-datanode; then
    disco_log "no DataNode on this node"
    exit 0
fi
hadoop_wait_worker_registered
