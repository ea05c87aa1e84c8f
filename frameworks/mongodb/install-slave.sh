#!/usr/bin/env bash
# MongoDB on a slave: mongod as a member of the replica set. The master adds it to the set once
# it listens.
set -euo pipefail
# shellcheck source=frameworks/lib/runtime.sh
source "$DISCO_LIB/runtime.sh"
# shellcheck source=frameworks/mongodb/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

mongodb_install
mongodb_configure
mongodb_start
disco_log "the master adds $DISCO_NODE_ADDR:$MONGODB_PORT to replica set $MONGODB_REPLICA_SET"
