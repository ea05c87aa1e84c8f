#!/usr/bin/env bash
# Docker Swarm, on a slave that leaves (after the manager drained and removed it): leaves the
# swarm, so that its Docker engine forgets it.
set -euo pipefail
# shellcheck source=frameworks/lib/hooks/runtime.sh
source "$DISCO_LIB/hooks/runtime.sh"
# shellcheck source=frameworks/docker-swarm/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

state=$(swarm_state)
if [[ "$state" == "inactive "* ]]; then
    disco_log "this node is in no swarm"
    exit 0
fi
docker swarm leave --force > /dev/null || disco_fail "docker swarm leave --force failed"
disco_log "left the swarm"
