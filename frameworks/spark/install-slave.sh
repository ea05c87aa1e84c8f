#!/usr/bin/env bash
# Spark on a slave: a worker registered with the master (unless jobs go to YARN).
set -euo pipefail
# shellcheck source=frameworks/lib/runtime.sh
source "$DISCO_LIB/runtime.sh"
# shellcheck source=frameworks/spark/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

spark_install
spark_configure
if spark_on_yarn; then
    disco_log "hadoop is part of this cluster: YARN's NodeManager runs Spark's executors here"
    exit 0
fi
spark_start_worker
