# shellcheck shell=bash
# For local-check scripts: disco_local_require_java17 NAME prints why the machine cannot run
# NAME (no Java, or one older than 17) and fails, or succeeds silently.
disco_local_require_java17() {
    if ! command -v java > /dev/null 2>&1; then
        echo "Java 17 or newer is not installed (e.g. apt-get install openjdk-17-jre-headless)"
        return 1
    fi
    local major
    major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)
    if [ -z "$major" ] || [ "$major" -lt 17 ]; then
        echo "$1 needs Java 17 or newer; this machine has ${major:-an unknown} version"
        return 1
    fi
}
