#!/usr/bin/env bash
# Spark, on a slave that leaves: its worker stops (SIGTERM first: the master sees it go) and is
# not started again on resume.
set -euo pipefail
# shellcheck source=frameworks/lib/hooks/runtime.sh
source "$DISCO_LIB/hooks/runtime.sh"

disco_stop_service spark-worker
