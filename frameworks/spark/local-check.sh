#!/usr/bin/env bash
# Can this machine run Spark for the local backend? Prints DISCO_LOCAL_* settings for the
# installers, or one sentence saying what is missing (and exits 1).
set -u

# shellcheck source=frameworks/lib/local-java.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/local-java.sh"
disco_local_require_java17 Spark || exit 1

spark_home="${SPARK_HOME:-}"
python=""
for candidate in python3 python; do
    command -v "$candidate" > /dev/null 2>&1 || continue
    # shellcheck disable=SC2016 # Python code, not shell
    found=$("$candidate" -c 'import os, sys, pyspark; print(sys.executable); print(os.path.dirname(pyspark.__file__))' 2> /dev/null) || continue
    python=$(printf '%s\n' "$found" | sed -n 1p)
    [ -n "$spark_home" ] || spark_home=$(printf '%s\n' "$found" | sed -n 2p)
    break
done

if [ -z "$spark_home" ] || [ ! -x "$spark_home/bin/spark-class" ]; then
    echo "no Spark distribution found: set SPARK_HOME for disco, or pip install pyspark"
    exit 1
fi
echo "DISCO_LOCAL_SPARK_HOME=$spark_home"
echo "DISCO_LOCAL_PYSPARK_PYTHON=${python:-python3}"
