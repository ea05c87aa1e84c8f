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
