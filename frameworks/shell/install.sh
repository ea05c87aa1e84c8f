#!/usr/bin/env bash
# Runs the user's command (DISCO_SHELL_COMMAND) on the nodes chosen by DISCO_SHELL_ROLES.
# The command is the user's program: it is passed to bash as one argument, never spliced into
# this script.
set -euo pipefail
# shellcheck source=frameworks/lib/runtime.sh
source "$DISCO_LIB/runtime.sh"

roles="${DISCO_SHELL_ROLES:-all}"
case "$roles:${DISCO_ROLE:-}" in
    all:* | master:master | slaves:slave) ;;
    *)
        disco_log "not run on ${DISCO_NODE_NAME:-this node} (roles=$roles)"
        exit 0
        ;;
esac

if [ -z "${DISCO_SHELL_COMMAND:-}" ]; then
    disco_log "no command given; nothing to run"
    exit 0
fi

cd "$DISCO_NODE_ROOT"
disco_log "running the command on ${DISCO_NODE_NAME:-this node}"
status=0
bash -c "$DISCO_SHELL_COMMAND" || status=$?
if [ "$status" != 0 ]; then
    disco_fail "the command exited with status $status on ${DISCO_NODE_NAME:-this node}"
fi
disco_log "the command finished"
