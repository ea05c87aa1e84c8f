#!/usr/bin/env bash
# MongoDB, on a slave that leaves (after the master removed it from the replica set): stops
# mongod for good.
set -euo pipefail
# shellcheck source=frameworks/lib/hooks/runtime.sh
source "$DISCO_LIB/hooks/runtime.sh"
# shellcheck source=frameworks/mongodb/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

case "$DISCO_PROFILE" in
    cloud) systemctl disable --now mongod || disco_fail "could not stop mongod" ;;
    local) disco_stop_service mongod ;;
esac
disco_log "mongod stopped"
