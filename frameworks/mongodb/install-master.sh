#!/usr/bin/env bash
# MongoDB on the master: mongod as a member of the replica set, then, once every slave's mongod
# listens, the replica set initiated with every node and the user admin created (password: the
# cluster's generated admin_password). mongosh runs setup-replica-set.js, which reads the
# password and the members from its environment: they are never part of a command line or of
# JavaScript source.
set -euo pipefail
# shellcheck source=frameworks/lib/runtime.sh
source "$DISCO_LIB/runtime.sh"
here="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=frameworks/mongodb/common.sh
source "$here/common.sh"

mongodb_install
mongodb_configure
mongodb_start

members=("${DISCO_MASTER_ADDR:?}:$MONGODB_PORT")
read -r -a slaves <<< "${DISCO_SLAVE_ADDRS:-}"
for slave in "${slaves[@]}"; do
    members+=("$slave:$MONGODB_PORT")
done
for slave in "${slaves[@]}"; do
    disco_wait_port "$slave" "$MONGODB_PORT" 1200 \
        || disco_fail "mongod on the slave $slave did not listen on port $MONGODB_PORT within 20 minutes"
done

# The localhost exception needs a loopback connection: 127.0.0.1 on a VM; a local node's own
# address is a loopback address already.
admin_host=127.0.0.1
[ "$DISCO_PROFILE" = local ] && admin_host=$DISCO_NODE_ADDR
disco_log "setting up replica set $MONGODB_REPLICA_SET with ${members[*]}"
DISCO_MONGODB_ADMIN_PASSWORD="$MONGODB_ADMIN_PASSWORD" \
    DISCO_MONGODB_REPLICA_SET="$MONGODB_REPLICA_SET" \
    DISCO_MONGODB_MEMBERS="${members[*]}" \
    DISCO_MONGODB_SETUP_TIMEOUT=600 \
    mongosh --quiet --norc "mongodb://$admin_host:$MONGODB_PORT/admin?directConnection=true" \
    --file "$here/setup-replica-set.js" \
    || disco_fail "setting up replica set $MONGODB_REPLICA_SET failed (mongosh's output is in mongodb.log)"
hosts=$(IFS=,; printf '%s' "${members[*]}")
disco_log "replica set $MONGODB_REPLICA_SET ready; connect with: mongosh 'mongodb://admin@$hosts/?replicaSet=$MONGODB_REPLICA_SET&authSource=admin'"
