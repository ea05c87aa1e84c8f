#!/usr/bin/env bash
# Hadoop, on a slave that leaves (after the master decommissioned it): stops its NodeManager and
# DataNode for good, then has the ResourceManager read its exclude file again, which no longer
# names this node, so that a new slave may have this address.
set -euo pipefail
# shellcheck source=frameworks/lib/hooks/runtime.sh
source "$DISCO_LIB/hooks/runtime.sh"
# shellcheck source=frameworks/hadoop/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
# shellcheck source=frameworks/hadoop/hooks/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

hadoop_locate
disco_stop_service hadoop-nodemanager
disco_stop_service hadoop-datanode
hadoop_refresh yarn
