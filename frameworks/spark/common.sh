# shellcheck shell=bash
# Spark installation and configuration shared by the master's and the slaves' installers.

SPARK_EVENTS="${DISCO_NODE_ROOT%/}/var/lib/spark/events"
SPARK_CONF_DIR="${DISCO_NODE_ROOT%/}/etc/spark"
SPARK_LOG_DIR="$DISCO_LOG_DIR/spark"
MASTER_URL="spark://${DISCO_MASTER_ADDR:?}:7077"

# Installs Spark on a VM (a downloaded release); a local node uses the machine's. Then
# spark_locate.
spark_install() {
    if [ "$DISCO_PROFILE" = cloud ]; then
        disco_install_packages openjdk-17-jre-headless python3 curl
        disco_install_release spark "${DISCO_SPARK_VERSION:?}" "${DISCO_SPARK_DOWNLOAD_URL:?}" \
            "${DISCO_SPARK_SHA256:?}" bin/spark-class
    fi
    spark_locate
}

# Sets SPARK_HOME and PYSPARK_PYTHON (hooks use the Spark the installer installed).
spark_locate() {
    case "$DISCO_PROFILE" in
        cloud)
            SPARK_HOME="${DISCO_NODE_ROOT%/}/opt/spark-${DISCO_SPARK_VERSION:?}"
            PYSPARK_PYTHON=python3
            ;;
        local)
            SPARK_HOME="${DISCO_LOCAL_SPARK_HOME:?the local check found no Spark}"
            PYSPARK_PYTHON="${DISCO_LOCAL_PYSPARK_PYTHON:-python3}"
            ;;
    esac
    disco_require_tools java
    export SPARK_HOME PYSPARK_PYTHON
}

# Whether Spark jobs go to YARN: when hadoop is part of the cluster.
spark_on_yarn() {
    disco_chosen hadoop
}

# Writes the configuration and makes it part of users' shells.
spark_configure() {
    mkdir -p "$SPARK_CONF_DIR" "$SPARK_EVENTS" "$SPARK_LOG_DIR"
    if [ "$DISCO_PROFILE" = cloud ]; then
        # Every user who submits a job on a VM writes its event log here (as in /tmp).
        chmod 1777 "$SPARK_EVENTS"
    fi
    local master="$MASTER_URL"
    spark_on_yarn && master=yarn
    # The file holds the cluster's Spark secret: only its owner reads it (the daemons run as
    # root on a VM, the image's login user submits jobs).
    : > "$SPARK_CONF_DIR/spark-defaults.conf"
    chmod 600 "$SPARK_CONF_DIR/spark-defaults.conf"
    if [ "$DISCO_PROFILE" = cloud ] && [ -n "${DISCO_LOGIN_USER:-}" ]; then
        chown "$DISCO_LOGIN_USER" "$SPARK_CONF_DIR/spark-defaults.conf" \
            || disco_fail "cannot give spark-defaults.conf to $DISCO_LOGIN_USER"
    fi
    {
        printf 'spark.master                    %s\n' "$master"
        printf 'spark.eventLog.enabled          true\n'
        printf 'spark.eventLog.dir              file://%s\n' "$SPARK_EVENTS"
        printf 'spark.history.fs.logDirectory   file://%s\n' "$SPARK_EVENTS"
        printf 'spark.history.ui.port           18080\n'
        printf 'spark.pyspark.python            %s\n' "$PYSPARK_PYTHON"
        # Executors as large as a worker offers: a smaller worker would otherwise never get one.
        printf 'spark.executor.memory           %s\n' "${DISCO_SPARK_WORKER_MEMORY:-1g}"
        if [ -n "${DISCO_UI_PREFIX:-}" ]; then
            case "$DISCO_UI_PREFIX" in
                /*[!A-Za-z0-9/_-]* | [!/]*) disco_fail "DISCO_UI_PREFIX is not a gateway path" ;;
            esac
            # Reached through disco's UI gateway: the master's UI proxies the workers' and the
            # applications' UIs, and writes its links below the gateway's path for it.
            printf 'spark.ui.reverseProxy           true\n'
            printf 'spark.ui.reverseProxyUrl        %s/spark-master\n' "$DISCO_UI_PREFIX"
        fi
        # RPC authentication: masters, workers and drivers without the secret are refused.
        # A builtin printf writes it: it never appears on a command line.
        if [ -n "${DISCO_SPARK_SECRET:-}" ]; then
            printf 'spark.authenticate              true\n'
            printf 'spark.authenticate.secret       %s\n' "$DISCO_SPARK_SECRET"
        fi
    } >> "$SPARK_CONF_DIR/spark-defaults.conf"
    if [ -z "${DISCO_SPARK_SECRET:-}" ]; then
        disco_log "no Spark secret (a cluster made before disco generated one): Spark runs without authentication"
    fi
    disco_export SPARK_HOME "$SPARK_HOME"
    disco_export SPARK_CONF_DIR "$SPARK_CONF_DIR"
    disco_export SPARK_LOCAL_IP "${DISCO_NODE_ADDR:?}"
    disco_export SPARK_MASTER_URL "$master"
    disco_export PYSPARK_PYTHON "$PYSPARK_PYTHON"
    if spark_on_yarn; then
        disco_export HADOOP_CONF_DIR "${DISCO_NODE_ROOT%/}/etc/hadoop"
    fi
    disco_export_path "$SPARK_HOME/bin"
}

# spark_start NAME CLASS [ARGS...]: runs a Spark daemon as a disco service.
spark_start() {
    local name=$1 class=$2
    shift 2
    disco_start_service "spark-$name" env \
        SPARK_HOME="$SPARK_HOME" SPARK_CONF_DIR="$SPARK_CONF_DIR" SPARK_LOG_DIR="$SPARK_LOG_DIR" \
        SPARK_LOCAL_IP="$DISCO_NODE_ADDR" PYSPARK_PYTHON="$PYSPARK_PYTHON" \
        "$SPARK_HOME/bin/spark-class" "$class" "$@"
}

# Starts a worker on this node and waits until the master lists it as alive.
spark_start_worker() {
    local args=(--host "$DISCO_NODE_ADDR" --webui-port 8081 --memory "${DISCO_SPARK_WORKER_MEMORY:-1g}")
    if [ "${DISCO_SPARK_WORKER_CORES:-0}" != 0 ]; then
        args+=(--cores "$DISCO_SPARK_WORKER_CORES")
    fi
    disco_wait_port "$DISCO_MASTER_ADDR" 7077 300 \
        || disco_fail "the Spark master at $MASTER_URL did not come up"
    spark_start worker org.apache.spark.deploy.worker.Worker "${args[@]}" "$MASTER_URL"
    spark_wait_worker_alive
}

# spark_alive_workers [ADDRESS...]: prints the hosts of the workers the master lists as ALIVE,
# one a line, except those at the given addresses.
# shellcheck disable=SC2120 # the leave hook passes addresses
spark_alive_workers() {
    # shellcheck disable=SC2016 # Python code, not shell
    curl -fsS --max-time 10 "http://$DISCO_MASTER_ADDR:8080/json/" 2> /dev/null | python3 -c '
import json, sys
for w in json.load(sys.stdin).get("workers", []):
    if w.get("state") == "ALIVE" and w.get("host") not in sys.argv[1:]:
        print(w.get("host"))
' "$@"
}

# Waits until the master lists this node's worker as ALIVE (after its start, or a resume).
spark_wait_worker_alive() {
    local deadline=$((SECONDS + 300)) alive
    # shellcheck disable=SC2119 # no address is left out
    until alive=$(spark_alive_workers) && grep -qxF -e "$DISCO_NODE_ADDR" <<< "$alive"; do
        [ "$SECONDS" -lt "$deadline" ] || disco_fail "the worker on $DISCO_NODE_ADDR did not register with $MASTER_URL"
        sleep 1
    done
    disco_log "worker on $DISCO_NODE_ADDR registered with $MASTER_URL"
}
