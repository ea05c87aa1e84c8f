#!/usr/bin/env bash
# Can this machine run Hadoop for the local backend? Prints DISCO_LOCAL_* settings for the
# installers, or one sentence saying what is missing (and exits 1).
set -u

# shellcheck source=frameworks/lib/local-java.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/local-java.sh"
disco_local_require_java17 Hadoop || exit 1
java_home="${JAVA_HOME:-}"
if [ -z "$java_home" ] || [ ! -x "$java_home/bin/java" ]; then
    java_bin=$(readlink -f "$(command -v java)")
    java_home="${java_bin%/bin/java}"
fi

hadoop_home="${HADOOP_HOME:-}"
if [ -z "$hadoop_home" ] || [ ! -x "$hadoop_home/bin/hdfs" ] || [ ! -x "$hadoop_home/bin/yarn" ]; then
    echo "no Hadoop distribution found: set HADOOP_HOME for disco"
    exit 1
fi
echo "DISCO_LOCAL_HADOOP_HOME=$hadoop_home"
echo "DISCO_LOCAL_JAVA_HOME=$java_home"
