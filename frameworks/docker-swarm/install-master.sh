#!/usr/bin/env bash
# Docker Swarm on the master: initialises the swarm with this node as its manager, advertised on
# the master's address, and shares the worker join token with the slaves (through
# disco_share: on a VM the master's agent (lib/agent.py) answers only requests carrying the
# cluster secret). The token is never logged nor put on a command line.
set -euo pipefail
# shellcheck source=frameworks/lib/runtime.sh
source "$DISCO_LIB/runtime.sh"
# shellcheck source=frameworks/docker-swarm/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

master="${DISCO_MASTER_ADDR:?}"
swarm_install_docker
state=$(swarm_state)
case "$state" in
    "active true")
        disco_log "this node already manages a swarm: not initialising again"
        ;;
    "inactive "*)
        # Its output names the worker join command, token included: not for the log.
        docker swarm init --advertise-addr "$master" > /dev/null \
            || disco_fail "docker swarm init --advertise-addr $master failed"
        disco_log "swarm initialised; manager advertised on $master:2377"
        ;;
    "active "*)
        disco_fail "this node is already a worker of another swarm; run docker swarm leave --force on it and deploy again"
        ;;
    *)
        disco_fail "docker reports the swarm state \"$state\" on this node; expected inactive or an active manager"
        ;;
esac
disco_wait_port "$master" 2377 120 || disco_fail "the swarm manager does not listen on $master:2377"

# Captured from docker's output into a variable: never printed, never an argument.
token=$(docker swarm join-token -q worker) || disco_fail "docker swarm join-token worker failed"
[ -n "$token" ] || disco_fail "docker printed no worker join token"
disco_share swarm-worker-token "$token"
disco_log "worker join token shared with the cluster's nodes"
