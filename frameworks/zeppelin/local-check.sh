#!/usr/bin/env bash
# Can this machine run Zeppelin for the local backend? Prints DISCO_LOCAL_* settings for the
# installer, or one sentence saying what is missing (and exits 1).
set -u

# shellcheck source=frameworks/lib/local-java.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/local-java.sh"
disco_local_require_java17 Zeppelin || exit 1
zeppelin_home="${ZEPPELIN_HOME:-}"
if [ -z "$zeppelin_home" ] || { [ ! -x "$zeppelin_home/bin/zeppelin.sh" ] \
    && [ ! -x "$zeppelin_home/bin/zeppelin-daemon.sh" ]; }; then
    echo "no Zeppelin distribution found: set ZEPPELIN_HOME for disco to an unpacked Zeppelin binary release"
    exit 1
fi
echo "DISCO_LOCAL_ZEPPELIN_HOME=$zeppelin_home"
