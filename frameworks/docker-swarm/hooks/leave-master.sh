#!/usr/bin/env bash
# Docker Swarm, before slaves leave (on the manager): drains each leaving worker, found by its
# address, so that the swarm moves its tasks to the other nodes, waits until none runs there any
# more (drain_timeout), then removes it from the swarm.
set -euo pipefail
# shellcheck source=frameworks/lib/hooks/runtime.sh
source "$DISCO_LIB/hooks/runtime.sh"
# shellcheck source=frameworks/docker-swarm/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

# swarm_nodes_at ADDRESS: prints the IDs of the swarm's nodes whose address is ADDRESS (on the
# manager), one a line: none once it was removed.
swarm_nodes_at() {
    local ids id address nodes
    ids=$(docker node ls -q) || disco_fail "docker node ls failed: cannot list the swarm's nodes"
    [ -n "$ids" ] || return 0
    mapfile -t ids <<< "$ids"
    nodes=$(docker node inspect --format '{{.ID}} {{.Status.Addr}}' "${ids[@]}") \
        || disco_fail "docker node inspect failed: cannot tell the swarm's nodes' addresses"
    while read -r id address; do
        [ "$address" != "$1" ] || printf '%s\n' "$id"
    done <<< "$nodes"
}

# swarm_busy_tasks NODE: prints the tasks on a swarm node that still run or are meant to.
swarm_busy_tasks() {
    local tasks desired current
    tasks=$(docker node ps --format '{{.DesiredState}} {{.CurrentState}}' "$1") \
        || disco_fail "docker node ps $1 failed: cannot tell whether its tasks moved"
    while read -r desired current; do
        case "$desired $current" in
            Running* | *" Running"* | *" Starting"* | *" Preparing"*) printf '%s %s\n' "$desired" "$current" ;;
        esac
    done <<< "$tasks"
}

timeout=$(disco_seconds "${DISCO_DOCKER_SWARM_DRAIN_TIMEOUT:-600}" "docker-swarm's drain_timeout")
disco_hook_nodes
for address in "${DISCO_HOOK_ADDRS[@]}"; do
    nodes=$(swarm_nodes_at "$address")
    if [ -z "$nodes" ]; then
        disco_log "no swarm node has the address $address: nothing to remove"
        continue
    fi
    mapfile -t nodes <<< "$nodes"
    for node in "${nodes[@]}"; do
        docker node update --availability drain "$node" > /dev/null \
            || disco_fail "docker node update --availability drain $node ($address) failed"
        disco_log "draining swarm node $node ($address)"
        deadline=$((SECONDS + timeout))
        while :; do
            busy=$(swarm_busy_tasks "$node")
            [ -n "$busy" ] || break
            [ "$SECONDS" -lt "$deadline" ] \
                || disco_fail "tasks still run on swarm node $node ($address) after $timeout s of draining (the docker-swarm parameter drain_timeout): ${busy//$'\n'/; }"
            sleep 2
        done
        docker node rm --force "$node" > /dev/null \
            || disco_fail "docker node rm --force $node ($address) failed"
        disco_log "swarm node $node ($address) drained and removed"
    done
done
