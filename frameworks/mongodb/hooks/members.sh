#!/usr/bin/env bash
# MongoDB, on the master when slaves joined or are about to leave (DISCO_HOOK join or leave):
# adds the joining slaves' mongod to the replica set (without a vote beyond 7 voting members)
# and waits until each is SECONDARY (member_timeout), or removes the leaving ones (a leaving
# primary steps down first).
set -euo pipefail
# shellcheck source=frameworks/lib/hooks/runtime.sh
source "$DISCO_LIB/hooks/runtime.sh"
# shellcheck source=frameworks/mongodb/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

# mongodb_change_members ADD REMOVE: adds the members (host:port, space-separated) to the replica
# set and removes the others, as admin, through the replica set's primary; change-members.js
# gets every value from its environment. The password is in mongosh's environment only.
mongodb_change_members() {
    local timeout
    timeout=$(disco_seconds "${DISCO_MONGODB_MEMBER_TIMEOUT:-3600}" "mongodb's member_timeout")
    DISCO_MONGODB_ADMIN_PASSWORD="$MONGODB_ADMIN_PASSWORD" \
        DISCO_MONGODB_ADD="$1" DISCO_MONGODB_REMOVE="$2" DISCO_MONGODB_MEMBER_TIMEOUT="$timeout" \
        mongosh --quiet --norc \
        "mongodb://$DISCO_MASTER_ADDR:$MONGODB_PORT/admin?replicaSet=$MONGODB_REPLICA_SET" \
        --file "$(dirname "${BASH_SOURCE[0]}")/change-members.js" \
        || disco_fail "changing the members of replica set $MONGODB_REPLICA_SET failed (mongosh's output is in mongodb.log)"
}

# mongodb_hook_members: the members DISCO_HOOK_NODES names, as host:port.
mongodb_hook_members() {
    local address members=()
    disco_hook_nodes
    for address in "${DISCO_HOOK_ADDRS[@]}"; do
        members+=("$address:$MONGODB_PORT")
    done
    printf '%s' "${members[*]}"
}

hosts=$(mongodb_hook_members)
case "${DISCO_HOOK:-}" in
    join) mongodb_change_members "$hosts" "" ;;
    leave) mongodb_change_members "" "$hosts" ;;
    *) disco_fail "members.sh runs when slaves join or leave, not on \"${DISCO_HOOK:-}\"" ;;
esac
disco_log "replica set $MONGODB_REPLICA_SET: ${DISCO_HOOK}: $hosts"
