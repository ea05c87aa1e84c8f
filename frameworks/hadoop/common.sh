# shellcheck shell=bash
# Hadoop installation and configuration shared by the master's and the slaves' installers.
#
# HDFS: the NameNode on the master, DataNodes on the slaves (on the master when there are none).
# YARN: the ResourceManager on the master, a NodeManager wherever a DataNode runs.
# Every daemon binds its own node's address; no host names are needed anywhere.

HADOOP_CONF_DIR="${DISCO_NODE_ROOT%/}/etc/hadoop"
HADOOP_DATA="${DISCO_NODE_ROOT%/}/var/lib/hadoop"
HADOOP_LOG_DIR="$DISCO_LOG_DIR/hadoop"
HADOOP_USER=hadoop
NAMENODE_URL="hdfs://${DISCO_MASTER_ADDR:?}:9000"
# How long a node waits for daemons of the master: the master downloads Hadoop too.
HADOOP_WAIT=900

# The addresses of the nodes that run a DataNode and a NodeManager: the slaves, or the master
# when there are none.
read -r -a HADOOP_WORKERS <<< "${DISCO_SLAVE_ADDRS:-}"
[ "${#HADOOP_WORKERS[@]}" != 0 ] || HADOOP_WORKERS=("$DISCO_MASTER_ADDR")

# The nodes that are leaving the cluster: the NameNode decommissions those in dfs.exclude, the
# ResourceManager refuses NodeManagers of those in yarn.exclude (one address a line).
HADOOP_DFS_EXCLUDE="$HADOOP_CONF_DIR/dfs.exclude"
HADOOP_YARN_EXCLUDE="$HADOOP_CONF_DIR/yarn.exclude"

# Whether this node runs a DataNode and a NodeManager.
hadoop_is_worker() {
    [ "${DISCO_ROLE:-}" = slave ] || [ -z "${DISCO_SLAVE_ADDRS:-}" ]
}

# The user the daemons run as on a VM, created once.
hadoop_ensure_user() {
    getent passwd "$HADOOP_USER" > /dev/null 2>&1 && return 0
    useradd --system --user-group --home-dir "$HADOOP_DATA" --no-create-home \
        --shell /usr/sbin/nologin "$HADOOP_USER" \
        || disco_fail "cannot create the $HADOOP_USER user"
    disco_log "created the $HADOOP_USER user"
}

# Installs Hadoop on a VM (a downloaded release, the daemons' user); a local node uses the
# machine's. Then hadoop_locate.
hadoop_install() {
    if [ "$DISCO_PROFILE" = cloud ]; then
        disco_install_packages openjdk-17-jre-headless python3 curl
        hadoop_ensure_user
        disco_install_release hadoop "${DISCO_HADOOP_VERSION:?}" \
            "${DISCO_HADOOP_DOWNLOAD_URL:?}" "${DISCO_HADOOP_CHECKSUM:?}" bin/hdfs
    fi
    hadoop_locate
}

# Sets HADOOP_HOME and JAVA_HOME (hooks use the Hadoop the installer installed).
hadoop_locate() {
    case "$DISCO_PROFILE" in
        cloud)
            HADOOP_HOME="${DISCO_NODE_ROOT%/}/opt/hadoop-${DISCO_HADOOP_VERSION:?}"
            local java
            java=$(command -v java) || disco_fail "java is not installed"
            java=$(readlink -f "$java")
            JAVA_HOME="${java%/bin/java}"
            ;;
        local)
            HADOOP_HOME="${DISCO_LOCAL_HADOOP_HOME:?the local check found no Hadoop}"
            JAVA_HOME="${DISCO_LOCAL_JAVA_HOME:?the local check found no Java}"
            ;;
    esac
    disco_require_tools java python3 curl
    export HADOOP_HOME JAVA_HOME HADOOP_CONF_DIR HADOOP_LOG_DIR
}

# Escapes a value for XML text.
hadoop_xml_escape() {
    local s=$1
    s=${s//'&'/'&amp;'}
    s=${s//'<'/'&lt;'}
    s=${s//'>'/'&gt;'}
    s=${s//'"'/'&quot;'}
    printf '%s' "$s"
}

# hadoop_site FILE NAME VALUE [NAME VALUE...]: writes a Hadoop *-site.xml.
hadoop_site() {
    local file=$1
    shift
    {
        printf '<?xml version="1.0" encoding="UTF-8"?>\n<!-- Written by disco; a new deployment replaces it. -->\n<configuration>\n'
        while [ "$#" -ge 2 ]; do
            printf '  <property>\n    <name>%s</name>\n    <value>%s</value>\n  </property>\n' \
                "$(hadoop_xml_escape "$1")" "$(hadoop_xml_escape "$2")"
            shift 2
        done
        printf '</configuration>\n'
    } > "$file.tmp"
    mv -f "$file.tmp" "$file"
}

# Writes the configuration (the same on every node except for the node's own addresses) and
# makes it part of users' shells.
hadoop_configure() {
    local node="${DISCO_NODE_ADDR:?}" master="$DISCO_MASTER_ADDR" replication
    mkdir -p "$HADOOP_CONF_DIR" "$HADOOP_DATA/dfs/name" "$HADOOP_DATA/dfs/data" \
        "$HADOOP_DATA/tmp" "$HADOOP_DATA/yarn/local" "$HADOOP_DATA/yarn/logs" "$HADOOP_LOG_DIR"
    # The release's defaults (log4j.properties, capacity-scheduler.xml, ...) once; disco's own
    # files below replace theirs.
    if [ ! -e "$HADOOP_CONF_DIR/.disco-defaults" ] && [ -d "$HADOOP_HOME/etc/hadoop" ]; then
        cp -R "$HADOOP_HOME/etc/hadoop/." "$HADOOP_CONF_DIR/" \
            || disco_fail "cannot copy Hadoop's default configuration to $HADOOP_CONF_DIR"
        touch "$HADOOP_CONF_DIR/.disco-defaults"
    fi

    # As many copies of each block as there are DataNodes, up to HDFS's usual 3.
    replication=${#HADOOP_WORKERS[@]}
    [ "$replication" -le 3 ] || replication=3
    printf '%s\n' "${HADOOP_WORKERS[@]}" > "$HADOOP_CONF_DIR/workers"
    # Kept across deployments: the hooks add and remove leaving nodes.
    [ -e "$HADOOP_DFS_EXCLUDE" ] || : > "$HADOOP_DFS_EXCLUDE"
    [ -e "$HADOOP_YARN_EXCLUDE" ] || : > "$HADOOP_YARN_EXCLUDE"

    hadoop_site "$HADOOP_CONF_DIR/core-site.xml" \
        fs.defaultFS "$NAMENODE_URL" \
        hadoop.tmp.dir "$HADOOP_DATA/tmp"
    hadoop_site "$HADOOP_CONF_DIR/hdfs-site.xml" \
        dfs.replication "$replication" \
        dfs.namenode.name.dir "$HADOOP_DATA/dfs/name" \
        dfs.datanode.data.dir "$HADOOP_DATA/dfs/data" \
        dfs.namenode.http-address "$master:9870" \
        dfs.namenode.datanode.registration.ip-hostname-check false \
        dfs.permissions.superusergroup "$HADOOP_USER" \
        dfs.datanode.address "$node:9866" \
        dfs.datanode.ipc.address "$node:9867" \
        dfs.datanode.http.address "$node:9864" \
        dfs.datanode.hostname "$node" \
        dfs.client.use.datanode.hostname true \
        dfs.datanode.use.datanode.hostname true \
        dfs.hosts.exclude "$HADOOP_DFS_EXCLUDE"

    local whitelist=JAVA_HOME,HADOOP_COMMON_HOME,HADOOP_HDFS_HOME,HADOOP_CONF_DIR,CLASSPATH_PREPEND_DISTCACHE,HADOOP_YARN_HOME,HADOOP_HOME,PATH,LANG,TZ,HADOOP_MAPRED_HOME
    local yarn=(
        yarn.resourcemanager.hostname "$master"
        yarn.resourcemanager.nodes.exclude-path "$HADOOP_YARN_EXCLUDE"
        yarn.nodemanager.hostname "$node"
        yarn.nodemanager.address "$node:8041"
        yarn.nodemanager.local-dirs "$HADOOP_DATA/yarn/local"
        # Applications' logs are theirs: not under the log directory port 8084 serves.
        yarn.nodemanager.log-dirs "$HADOOP_DATA/yarn/logs"
        yarn.nodemanager.vmem-check-enabled false
        yarn.nodemanager.env-whitelist "$whitelist"
    )
    if [ "${DISCO_HADOOP_NODEMANAGER_MEMORY_MB:-0}" = 0 ] || [ "${DISCO_HADOOP_NODEMANAGER_VCORES:-0}" = 0 ]; then
        yarn+=(yarn.nodemanager.resource.detect-hardware-capabilities true)
    fi
    [ "${DISCO_HADOOP_NODEMANAGER_MEMORY_MB:-0}" = 0 ] \
        || yarn+=(yarn.nodemanager.resource.memory-mb "$DISCO_HADOOP_NODEMANAGER_MEMORY_MB")
    [ "${DISCO_HADOOP_NODEMANAGER_VCORES:-0}" = 0 ] \
        || yarn+=(yarn.nodemanager.resource.cpu-vcores "$DISCO_HADOOP_NODEMANAGER_VCORES")
    if [ "$DISCO_PROFILE" = cloud ]; then
        # The shuffle service binds a fixed port on every address: one per machine, so VMs only.
        yarn+=(yarn.nodemanager.aux-services mapreduce_shuffle)
    fi
    hadoop_site "$HADOOP_CONF_DIR/yarn-site.xml" "${yarn[@]}"

    hadoop_site "$HADOOP_CONF_DIR/mapred-site.xml" \
        mapreduce.framework.name yarn \
        yarn.app.mapreduce.am.env "HADOOP_MAPRED_HOME=$HADOOP_HOME" \
        mapreduce.map.env "HADOOP_MAPRED_HOME=$HADOOP_HOME" \
        mapreduce.reduce.env "HADOOP_MAPRED_HOME=$HADOOP_HOME"

    # Sourced by Hadoop's scripts: every value is shell-quoted.
    {
        printf '# Written by disco; a new deployment replaces it.\n'
        printf 'export JAVA_HOME=%q\n' "$JAVA_HOME"
        printf 'export HADOOP_LOG_DIR=%q\n' "$HADOOP_LOG_DIR"
        printf 'export HADOOP_MAPRED_HOME=%q\n' "$HADOOP_HOME"
        # Java 17 hides JDK internals that Hadoop 3 still reaches into.
        local open opens=""
        for open in java.lang java.lang.reflect java.io java.net java.nio java.util \
            java.util.concurrent java.util.concurrent.atomic sun.nio.ch sun.net.dns sun.net.util; do
            opens+=" --add-opens=java.base/$open=ALL-UNNAMED"
        done
        # shellcheck disable=SC2016 # $HADOOP_OPTS is expanded when Hadoop sources the file
        printf 'export HADOOP_OPTS="${HADOOP_OPTS:-}%s"\n' "$opens"
    } > "$HADOOP_CONF_DIR/hadoop-env.sh"

    if [ "$DISCO_PROFILE" = cloud ]; then
        chown -R "$HADOOP_USER:$HADOOP_USER" "$HADOOP_DATA" "$HADOOP_LOG_DIR" \
            || disco_fail "cannot give $HADOOP_DATA to the $HADOOP_USER user"
    fi
    disco_export HADOOP_HOME "$HADOOP_HOME"
    disco_export HADOOP_CONF_DIR "$HADOOP_CONF_DIR"
    disco_export_path "$HADOOP_HOME/bin"
}

# hadoop_run COMMAND [ARGS...]: a Hadoop client command with the node's configuration, as the
# daemons' user on a VM.
hadoop_run() {
    local env=(env JAVA_HOME="$JAVA_HOME" HADOOP_HOME="$HADOOP_HOME"
        HADOOP_CONF_DIR="$HADOOP_CONF_DIR" HADOOP_LOG_DIR="$HADOOP_LOG_DIR")
    if [ "$DISCO_PROFILE" = cloud ]; then
        runuser -u "$HADOOP_USER" -- "${env[@]}" "$@"
    else
        "${env[@]}" "$@"
    fi
}

# hadoop_start NAME SCRIPT DAEMON: runs `bin/SCRIPT DAEMON` in the foreground as a disco service.
hadoop_start() {
    local name=$1 script=$2 daemon=$3
    DISCO_SERVICE_USER="$HADOOP_USER" disco_start_service "hadoop-$name" env \
        JAVA_HOME="$JAVA_HOME" HADOOP_HOME="$HADOOP_HOME" HADOOP_CONF_DIR="$HADOOP_CONF_DIR" \
        HADOOP_LOG_DIR="$HADOOP_LOG_DIR" "$HADOOP_HOME/bin/$script" "$daemon"
}

# hadoop_wait_master PORT WHAT: waits for a daemon of the master.
hadoop_wait_master() {
    disco_wait_port "$DISCO_MASTER_ADDR" "$1" "$HADOOP_WAIT" \
        || disco_fail "the $2 on $DISCO_MASTER_ADDR:$1 did not come up within $HADOOP_WAIT s"
}

# hadoop_wait_registered WHAT URL PYTHON: polls URL until the Python check (reading the JSON
# answer on stdin, this node's address in argv[1]) succeeds.
hadoop_wait_registered() {
    local what=$1 url=$2 check=$3 deadline=$((SECONDS + 300))
    until curl -fsS --max-time 10 "$url" 2> /dev/null | python3 -c "$check" "$DISCO_NODE_ADDR"; do
        [ "$SECONDS" -lt "$deadline" ] \
            || disco_fail "the $what on $DISCO_NODE_ADDR did not register with the master within 300 s"
        sleep 1
    done
    disco_log "the $what on $DISCO_NODE_ADDR registered with the master"
}

# Starts a DataNode and a NodeManager on this node and waits until the master lists both.
hadoop_start_worker() {
    hadoop_wait_master 9000 "HDFS NameNode"
    hadoop_start datanode hdfs datanode
    hadoop_wait_master 8031 "YARN ResourceManager"
    hadoop_start nodemanager yarn nodemanager
    hadoop_wait_worker_registered
}

# Waits until the master lists this node's DataNode and NodeManager (after their start, or a
# resume).
hadoop_wait_worker_registered() {
    # shellcheck disable=SC2016 # Python code, not shell
    hadoop_wait_registered DataNode \
        "http://$DISCO_MASTER_ADDR:9870/jmx?qry=Hadoop:service=NameNode,name=NameNodeInfo" '
import json, sys
me = sys.argv[1] + ":"
beans = json.load(sys.stdin).get("beans") or [{}]
live = json.loads(beans[0].get("LiveNodes") or "{}")
sys.exit(0 if any(k.startswith(me) or str(v.get("xferaddr", "")).startswith(me) for k, v in live.items()) else 1)
'
    # shellcheck disable=SC2016 # Python code, not shell
    hadoop_wait_registered NodeManager "http://$DISCO_MASTER_ADDR:8088/ws/v1/cluster/nodes" '
import json, sys
nodes = ((json.load(sys.stdin).get("nodes") or {}).get("node")) or []
sys.exit(0 if any(n.get("nodeHostName") == sys.argv[1] and n.get("state") == "RUNNING" for n in nodes) else 1)
'
}
