#!/usr/bin/env bash
# Hadoop on a slave: an HDFS DataNode and a YARN NodeManager, registered with the master.
set -euo pipefail
# shellcheck source=frameworks/lib/runtime.sh
source "$DISCO_LIB/runtime.sh"
# shellcheck source=frameworks/hadoop/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

hadoop_install
hadoop_configure
hadoop_start_worker
