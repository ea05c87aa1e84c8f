# shellcheck shell=bash
# What Hadoop's hooks share: the exclude and workers lists, decommissioning. Sourced after
# ../common.sh.

# hadoop_refresh dfs|yarn...: makes the NameNode (dfs) or the ResourceManager (yarn) read its
# exclude file again.
hadoop_refresh() {
    local which
    for which in "$@"; do
        case "$which" in
            dfs)
                hadoop_run "$HADOOP_HOME/bin/hdfs" dfsadmin -refreshNodes \
                    || disco_fail "hdfs dfsadmin -refreshNodes failed (see hadoop.log)"
                ;;
            yarn)
                hadoop_run "$HADOOP_HOME/bin/yarn" rmadmin -refreshNodes \
                    || disco_fail "yarn rmadmin -refreshNodes failed (see hadoop.log)"
                ;;
        esac
    done
}

# hadoop_listed WORD WORD...: whether the first word is among the others.
hadoop_listed() {
    local word=$1 other
    shift
    for other in "$@"; do
        [ "$other" != "$word" ] || return 0
    done
    return 1
}

# hadoop_edit_list FILE add|remove ADDRESS...: adds addresses to a one-a-line list (workers, an
# exclude file), or removes them from it, keeping the others and their order.
hadoop_edit_list() {
    local file=$1 action=$2 address old=() new=()
    shift 2
    [ ! -s "$file" ] || mapfile -t old < "$file"
    for address in "${old[@]}"; do
        [ -n "$address" ] || continue
        if [ "$action" = remove ] && hadoop_listed "$address" "$@"; then
            continue
        fi
        new+=("$address")
    done
    if [ "$action" = add ]; then
        for address in "$@"; do
            hadoop_listed "$address" "${new[@]}" || new+=("$address")
        done
    fi
    if [ "${#new[@]}" = 0 ]; then
        : > "$file.tmp"
    else
        printf '%s\n' "${new[@]}" > "$file.tmp"
    fi
    mv -f "$file.tmp" "$file"
}

# hadoop_not_decommissioned REPORT ADDRESS...: of the DataNodes at these addresses, prints
# "address (state)" for each that `hdfs dfsadmin -report` (REPORT) lists as not Decommissioned
# yet. A DataNode the NameNode does not know has nothing to hand over.
hadoop_not_decommissioned() {
    local report=$1 line address="" pending=()
    declare -A state=()
    shift
    while IFS= read -r line; do
        case "$line" in
            "Name: "*)
                address=${line#Name: }
                address=${address%%:*}
                ;;
            "Decommission Status : "*) [ -z "$address" ] || state[$address]=${line#Decommission Status : } ;;
        esac
    done <<< "$report"
    for address in "$@"; do
        if [ -n "${state[$address]:-}" ] && [ "${state[$address]}" != Decommissioned ]; then
            pending+=("$address (${state[$address]})")
        fi
    done
    printf '%s' "${pending[*]}"
}

# hadoop_wait_decommissioned SECONDS ADDRESS...: waits until the NameNode reports the DataNodes at
# these addresses as Decommissioned: their blocks have copies elsewhere.
hadoop_wait_decommissioned() {
    local seconds=$1 deadline report pending
    shift
    deadline=$((SECONDS + seconds))
    while :; do
        if report=$(hadoop_run "$HADOOP_HOME/bin/hdfs" dfsadmin -report) && [ -n "$report" ]; then
            pending=$(hadoop_not_decommissioned "$report" "$@")
            [ -n "$pending" ] || return 0
        else
            pending="hdfs dfsadmin -report failed"
        fi
        [ "$SECONDS" -lt "$deadline" ] \
            || disco_fail "HDFS did not finish decommissioning within $seconds s (the hadoop parameter decommission_timeout): $pending"
        disco_log "waiting for HDFS to decommission: $pending"
        sleep 2
    done
}
