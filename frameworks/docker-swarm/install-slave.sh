#!/usr/bin/env bash
# Docker Swarm on a slave: joins the master's swarm as a worker.
#
# The worker join token comes from the master through disco_fetch_shared (the cluster secret
# travels as a header read from a file). It is handed to the Docker daemon through its API on
# the local socket, with the request body on curl's stdin, so it appears on no command line
# (`docker swarm join --token` would show it in ps) and in no log.
set -euo pipefail
# shellcheck source=frameworks/lib/runtime.sh
source "$DISCO_LIB/runtime.sh"
# shellcheck source=frameworks/docker-swarm/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

master="${DISCO_MASTER_ADDR:?}"
me="${DISCO_NODE_ADDR:?}"
socket="${DISCO_NODE_ROOT%/}/var/run/docker.sock"
swarm_install_docker
state=$(swarm_state)
case "$state" in
    "active "*)
        disco_log "this node is already part of the swarm"
        exit 0
        ;;
    "inactive "*) ;;
    *)
        disco_fail "docker reports the swarm state \"$state\" on this node; expected inactive or active"
        ;;
esac

token=$(disco_fetch_shared swarm-worker-token "${DISCO_DOCKER_SWARM_JOIN_TIMEOUT:-600}")
[[ "$token" =~ ^SWMTKN-[A-Za-z0-9-]+$ ]] \
    || disco_fail "what the master shared as swarm-worker-token is not a swarm join token"
disco_wait_port "$master" 2377 300 || disco_fail "the swarm manager at $master:2377 does not answer"

body=$(printf '{"ListenAddr":"0.0.0.0:2377","AdvertiseAddr":%s,"RemoteAddrs":[%s],"JoinToken":%s}' \
    "$(disco_json_string "$me")" "$(disco_json_string "$master:2377")" "$(disco_json_string "$token")")
answer=$(printf '%s' "$body" | curl -sS --max-time 300 --unix-socket "$socket" \
    -H 'Content-Type: application/json' --data-binary @- -w '\n%{http_code}' \
    http://localhost/swarm/join) || disco_fail "cannot reach the Docker daemon at $socket to join the swarm"
code=${answer##*$'\n'}
if [ "$code" != 200 ]; then
    message=${answer%$'\n'*}
    message=${message//"$token"/<token>}
    disco_fail "joining the swarm at $master:2377 failed (HTTP $code from the Docker daemon): $message"
fi
disco_log "joined the swarm at $master:2377 as a worker (advertised on $me)"
