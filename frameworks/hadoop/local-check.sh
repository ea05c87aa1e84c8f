#!/usr/bin/env bash
# Can this machine run Hadoop for the local backend? Prints DISCO_LOCAL_* settings for the
# installers, or one sentence saying what is missing (and exits 1).
set -u

if ! command -v java > /dev/null 2>&1; then
    echo "Java 17 or newer is not installed (e.g. apt-get install openjdk-17-jre-headless)"
    exit 1
fi
java_major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)
if [ -z "$java_major" ] || [ "$java_major" -lt 17 ]; then
    echo "Hadoop needs Java 17 or newer here; this machine has ${java_major:-an unknown} version"
    exit 1
fi
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
