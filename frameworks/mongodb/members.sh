#!/usr/bin/env bash
# MongoDB, on the master when slaves joined or are about to leave (DISCO_HOOK join or leave):
# adds the joining slaves' mongod to the replica set (without a vote beyond 7 voting members)
# and waits until each is SECONDARY (member_timeout), or removes the leaving ones (a leaving
# primary steps down first).
set -euo pipefail
# shellcheck source=frameworks/lib/runtime.sh
source "$DISCO_LIB/runtime.sh"
# shellcheck source=frameworks/mongodb/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

hosts=$(mongodb_hook_members)
case "${DISCO_HOOK:-}" in
    join) mongodb_change_members "$hosts" "" ;;
    leave) mongodb_change_members "" "$hosts" ;;
    *) disco_fail "members.sh runs when slaves join or leave, not on \"${DISCO_HOOK:-}\"" ;;
esac
disco_log "replica set $MONGODB_REPLICA_SET: ${DISCO_HOOK}: $hosts"
