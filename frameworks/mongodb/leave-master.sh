#!/usr/bin/env bash
# MongoDB, before slaves leave (on the master): removes their mongod from the replica set (a
# leaving primary steps down first).
set -euo pipefail
# shellcheck source=frameworks/lib/runtime.sh
source "$DISCO_LIB/runtime.sh"
# shellcheck source=frameworks/mongodb/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

hosts=$(mongodb_hook_members)
mongodb_change_members "" "$hosts"
disco_log "removed $hosts from replica set $MONGODB_REPLICA_SET"
