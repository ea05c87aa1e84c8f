#!/usr/bin/env bash
# Zeppelin on the master: notebooks on port 8070 of the master's address, whose Spark
# interpreter submits to the cluster's Spark master (to YARN when hadoop is part of the cluster).
set -euo pipefail
# shellcheck source=frameworks/lib/runtime.sh
source "$DISCO_LIB/runtime.sh"

ZEPPELIN_CONF_DIR="${DISCO_NODE_ROOT%/}/etc/zeppelin"
ZEPPELIN_DATA="${DISCO_NODE_ROOT%/}/var/lib/zeppelin"
ZEPPELIN_LOG_DIR="$DISCO_LOG_DIR/zeppelin"
ZEPPELIN_USER=zeppelin
# DISCO's Zeppelin port: 8080 is Spark's master UI.
ZEPPELIN_PORT=8070
address="${DISCO_MASTER_ADDR:?}"

# Escapes a value for XML text.
xml_escape() {
    local s=$1
    s=${s//'&'/'&amp;'}
    s=${s//'<'/'&lt;'}
    s=${s//'>'/'&gt;'}
    s=${s//'"'/'&quot;'}
    printf '%s' "$s"
}

case "$DISCO_PROFILE" in
    cloud)
        disco_install_packages openjdk-17-jre-headless python3 curl
        if ! getent passwd "$ZEPPELIN_USER" > /dev/null 2>&1; then
            useradd --system --user-group --home-dir "$ZEPPELIN_DATA" --no-create-home \
                --shell /usr/sbin/nologin "$ZEPPELIN_USER" \
                || disco_fail "cannot create the $ZEPPELIN_USER user"
            disco_log "created the $ZEPPELIN_USER user"
        fi
        disco_install_release zeppelin "${DISCO_ZEPPELIN_VERSION:?}" \
            "${DISCO_ZEPPELIN_DOWNLOAD_URL:?}" "${DISCO_ZEPPELIN_CHECKSUM:?}" bin/zeppelin.sh
        ZEPPELIN_HOME=$DISCO_RELEASE_HOME
        # Where spark/common.sh unpacks Spark on a VM.
        SPARK_HOME="${DISCO_NODE_ROOT%/}/opt/spark-${DISCO_SPARK_VERSION:?}"
        ;;
    local)
        ZEPPELIN_HOME="${DISCO_LOCAL_ZEPPELIN_HOME:?the local check found no Zeppelin}"
        SPARK_HOME="${DISCO_LOCAL_SPARK_HOME:?the local check found no Spark}"
        ;;
esac
disco_require_tools java

# The Spark installer ran first and exported its SPARK_HOME: Zeppelin must use the same one.
profile="${DISCO_NODE_ROOT%/}/etc/profile.d/disco.sh"
exported=""
if [ -f "$profile" ]; then
    exported=$(sed -n 's/^export SPARK_HOME=//p' "$profile" | tail -n 1)
fi
if [ -n "$exported" ] && [ "$exported" != "$(printf '%q' "$SPARK_HOME")" ]; then
    disco_fail "Spark is installed at $exported, not at $SPARK_HOME where Zeppelin looks for it"
fi
if disco_chosen hadoop; then
    spark_master=yarn
else
    spark_master="spark://$address:7077"
fi

mkdir -p "$ZEPPELIN_CONF_DIR" "$ZEPPELIN_LOG_DIR" "$ZEPPELIN_DATA/notebook" "$ZEPPELIN_DATA/run" \
    "$ZEPPELIN_DATA/webapps" "$ZEPPELIN_DATA/local-repo"
# The release's defaults (log4j2.properties, interpreter list, ...) once; disco's own files
# below replace theirs.
if [ ! -e "$ZEPPELIN_CONF_DIR/.disco-defaults" ] && [ -d "$ZEPPELIN_HOME/conf" ]; then
    cp -R "$ZEPPELIN_HOME/conf/." "$ZEPPELIN_CONF_DIR/" \
        || disco_fail "cannot copy Zeppelin's default configuration to $ZEPPELIN_CONF_DIR"
    touch "$ZEPPELIN_CONF_DIR/.disco-defaults"
fi

# Spark's configuration holds the cluster's Spark secret (mode 0600, for its owner): Zeppelin's
# Spark interpreter reads its own copy, which becomes the zeppelin user's below.
spark_conf="${DISCO_NODE_ROOT%/}/etc/spark"
mkdir -p "$ZEPPELIN_CONF_DIR/spark"
if [ -f "$spark_conf/spark-defaults.conf" ]; then
    (umask 077 && cp "$spark_conf/spark-defaults.conf" "$ZEPPELIN_CONF_DIR/spark/spark-defaults.conf") \
        || disco_fail "cannot copy Spark's configuration for Zeppelin"
fi

# Zeppelin's login (Apache Shiro): the user admin with the cluster's generated password; no
# anonymous access. Written by builtins into a file only its owner reads.
if [ -n "${DISCO_ZEPPELIN_PASSWORD:-}" ]; then
    # shellcheck disable=SC2016 # $sessionManager is Shiro's syntax
    (
        umask 077
        {
            printf '# Written by disco; a new deployment replaces it.\n[users]\n'
            printf 'admin = %s, admin\n' "$DISCO_ZEPPELIN_PASSWORD"
            printf '[main]\n'
            printf 'sessionManager = org.apache.shiro.web.session.mgt.DefaultWebSessionManager\n'
            printf 'securityManager.sessionManager = $sessionManager\n'
            printf 'securityManager.sessionManager.globalSessionTimeout = 86400000\n'
            printf 'shiro.loginUrl = /api/login\n'
            printf '[roles]\nadmin = *\n'
            printf '[urls]\n/api/version = anon\n/** = authc\n'
        } > "$ZEPPELIN_CONF_DIR/shiro.ini"
    ) || disco_fail "cannot write Zeppelin's shiro.ini"
    chmod 600 "$ZEPPELIN_CONF_DIR/shiro.ini"
else
    disco_log "no Zeppelin password (a cluster made before disco generated one): Zeppelin has no login"
fi

# Sourced by Zeppelin's scripts: every value is shell-quoted. MASTER is the Spark interpreter's
# spark.master in older releases, SPARK_MASTER in newer ones.
{
    printf '# Written by disco; a new deployment replaces it.\n'
    printf 'export ZEPPELIN_ADDR=%q\n' "$address"
    printf 'export ZEPPELIN_PORT=%q\n' "$ZEPPELIN_PORT"
    printf 'export ZEPPELIN_LOG_DIR=%q\n' "$ZEPPELIN_LOG_DIR"
    printf 'export ZEPPELIN_PID_DIR=%q\n' "$ZEPPELIN_DATA/run"
    printf 'export ZEPPELIN_NOTEBOOK_DIR=%q\n' "$ZEPPELIN_DATA/notebook"
    printf 'export SPARK_HOME=%q\n' "$SPARK_HOME"
    printf 'export SPARK_CONF_DIR=%q\n' "$ZEPPELIN_CONF_DIR/spark"
    printf 'export MASTER=%q\n' "$spark_master"
    printf 'export SPARK_MASTER=%q\n' "$spark_master"
    printf 'export PYSPARK_PYTHON=%q\n' "${DISCO_LOCAL_PYSPARK_PYTHON:-python3}"
    if disco_chosen hadoop; then
        printf 'export HADOOP_CONF_DIR=%q\n' "${DISCO_NODE_ROOT%/}/etc/hadoop"
    fi
} > "$ZEPPELIN_CONF_DIR/zeppelin-env.sh"

{
    printf '<?xml version="1.0" encoding="UTF-8"?>\n<!-- Written by disco; a new deployment replaces it. -->\n<configuration>\n'
    for pair in \
        "zeppelin.server.addr=$address" \
        "zeppelin.server.port=$ZEPPELIN_PORT" \
        "zeppelin.notebook.dir=$ZEPPELIN_DATA/notebook" \
        "zeppelin.war.tempdir=$ZEPPELIN_DATA/webapps" \
        "zeppelin.interpreter.localRepo=$ZEPPELIN_DATA/local-repo" \
        "zeppelin.server.context.path=${DISCO_UI_PREFIX:+$DISCO_UI_PREFIX/zeppelin}"; do
        # An empty value (no gateway) leaves Zeppelin's default.
        [ -n "${pair#*=}" ] || continue
        printf '  <property>\n    <name>%s</name>\n    <value>%s</value>\n  </property>\n' \
            "$(xml_escape "${pair%%=*}")" "$(xml_escape "${pair#*=}")"
    done
    printf '</configuration>\n'
} > "$ZEPPELIN_CONF_DIR/zeppelin-site.xml"

if [ "$DISCO_PROFILE" = cloud ]; then
    # Zeppelin writes into its own tree (interpreter settings, caches): all of it is its user's.
    chown -R "$ZEPPELIN_USER:$ZEPPELIN_USER" "$ZEPPELIN_HOME" "$ZEPPELIN_CONF_DIR" \
        "$ZEPPELIN_DATA" "$ZEPPELIN_LOG_DIR" \
        || disco_fail "cannot give Zeppelin's directories to the $ZEPPELIN_USER user"
    # Spark drivers started by Zeppelin run as its user and write Spark's event log.
    events="${DISCO_NODE_ROOT%/}/var/lib/spark/events"
    [ ! -d "$events" ] || chmod 1777 "$events"
fi

runner=("$ZEPPELIN_HOME/bin/zeppelin.sh")
if [ ! -x "${runner[0]}" ] && [ -x "$ZEPPELIN_HOME/bin/zeppelin-daemon.sh" ]; then
    # `upstart` runs the server in the foreground.
    runner=("$ZEPPELIN_HOME/bin/zeppelin-daemon.sh" upstart)
fi
DISCO_SERVICE_USER="$ZEPPELIN_USER" disco_start_service zeppelin env \
    ZEPPELIN_HOME="$ZEPPELIN_HOME" ZEPPELIN_CONF_DIR="$ZEPPELIN_CONF_DIR" HOME="$ZEPPELIN_DATA" \
    "${runner[@]}"
disco_wait_port "$address" "$ZEPPELIN_PORT" 300 \
    || disco_fail "Zeppelin does not listen on $address:$ZEPPELIN_PORT"
disco_export ZEPPELIN_HOME "$ZEPPELIN_HOME"
disco_export ZEPPELIN_CONF_DIR "$ZEPPELIN_CONF_DIR"
disco_log "Zeppelin on http://$address:$ZEPPELIN_PORT/, its Spark interpreter submits to $spark_master"
