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
# Its output goes straight to shell.log; a failure quotes its last lines from there.
start=$(stat -c %s "$DISCO_LOG_DIR/shell.log" 2> /dev/null) || start=0
status=0
bash -c "$DISCO_SHELL_COMMAND" < /dev/null || status=$?
if [ "$status" != 0 ]; then
    last=$(tail -c +$((start + 1)) "$DISCO_LOG_DIR/shell.log" | tail -n 5 | cut -c 1-200 | tr '\n' '\r' | sed 's/\r$//; s/\r/ | /g') || last=""
    disco_fail "the command exited with status $status on ${DISCO_NODE_NAME:-this node}; its last output: $last"
fi
disco_log "the command finished"
