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
# Its output goes where this installer's goes (shell.log, via deploy.sh), straight, so that
# anything it leaves running keeps writing there; its last lines are read back from there.
log_file="$DISCO_LOG_DIR/${DISCO_FRAMEWORK:-shell}.log"
start=$(stat -c %s "$log_file" 2> /dev/null) || start=0
status=0
bash -c "$DISCO_SHELL_COMMAND" < /dev/null || status=$?
if [ "$status" != 0 ]; then
    last=$(tail -c +"$((start + 1))" "$log_file" 2> /dev/null | tail -n 5 | cut -c 1-200 \
        | tr '\n' '\r' | sed 's/\r$//; s/\r/ | /g') || last=""
    disco_fail "the command exited with status $status on ${DISCO_NODE_NAME:-this node}${last:+; its last output: $last}"
fi
disco_log "the command finished"
