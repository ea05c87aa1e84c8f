# shellcheck shell=bash
# Docker Engine setup shared by the manager's and the workers' installers.

# Installs Docker from the distribution and waits until its daemon answers.
swarm_install_docker() {
    disco_install_packages docker.io curl
    systemctl enable --now docker || disco_fail "could not start the Docker daemon"
    local deadline=$((SECONDS + 120))
    until docker info > /dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || disco_fail "the Docker daemon did not answer within 120 s"
        sleep 1
    done
}

# Prints this node's swarm state as docker reports it: `inactive`, `active`, `pending`, …,
# followed by `true` when the node is a manager.
swarm_state() {
    docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}' \
        || disco_fail "docker info failed: cannot tell whether this node is in a swarm"
}

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
