#!/usr/bin/env bash
# MongoDB, when slaves joined (on the master): adds each new slave's mongod to the replica set
# (without a vote beyond 7 voting members) and waits until it is SECONDARY (member_timeout).
set -euo pipefail
# shellcheck source=frameworks/lib/runtime.sh
source "$DISCO_LIB/runtime.sh"
# shellcheck source=frameworks/mongodb/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

hosts=$(mongodb_hook_members)
mongodb_change_members "$hosts" ""
disco_log "added $hosts to replica set $MONGODB_REPLICA_SET"
