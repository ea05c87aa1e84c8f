# shellcheck shell=bash
# MongoDB installation and configuration shared by the master's and the slaves' installers.
#
# Every node runs one mongod of the replica set, with access control on and keyfile
# authentication between members. The keyfile is derived from the cluster's generated admin
# password (which every node receives), so all members hold the same one without another
# secret travelling.

MONGODB_PORT="${DISCO_MONGODB_PORT:-27017}"
MONGODB_REPLICA_SET="${DISCO_MONGODB_REPLICA_SET:-rs0}"
MONGODB_CONF="${DISCO_NODE_ROOT%/}/etc/mongod.conf"
MONGODB_KEYFILE="${DISCO_NODE_ROOT%/}/etc/mongodb/keyfile"
MONGODB_DB_PATH="${DISCO_NODE_ROOT%/}/var/lib/mongodb"
MONGODB_LOG_PATH="${DISCO_NODE_ROOT%/}/var/log/mongodb/mongod.log"
# Whether mongod's configuration or keyfile changed in this run (a running mongod restarts).
MONGODB_CHANGED=0

[[ "$MONGODB_REPLICA_SET" =~ ^[A-Za-z0-9_-]{1,64}$ ]] \
    || disco_fail "the replica set name must be 1 to 64 letters, digits, _ or -"
[ -n "${DISCO_MONGODB_ADMIN_PASSWORD:-}" ] \
    || disco_fail "the cluster's generated MongoDB admin password (DISCO_MONGODB_ADMIN_PASSWORD) is missing"
# Kept in this shell only: of the commands run from here, only mongosh, given it explicitly,
# has the password in its environment.
MONGODB_ADMIN_PASSWORD=$DISCO_MONGODB_ADMIN_PASSWORD
unset DISCO_MONGODB_ADMIN_PASSWORD

# mongodb_replace FILE MODE: moves FILE.tmp over FILE unless both are the same.
mongodb_replace() {
    if cmp -s "$1.tmp" "$1"; then
        rm -f "$1.tmp"
        return 0
    fi
    chmod "$2" "$1.tmp"
    if [ "$DISCO_PROFILE" = cloud ]; then
        chown mongodb:mongodb "$1.tmp" || disco_fail "cannot give $1 to the user mongodb"
    fi
    mv -f "$1.tmp" "$1"
    MONGODB_CHANGED=1
    disco_log "wrote $1"
}

# Adds MongoDB's apt repository, trusting only the signing key with the configured fingerprint.
mongodb_apt_source() {
    local root="${DISCO_NODE_ROOT%/}" series="${DISCO_MONGODB_SERIES:-8.0}"
    local repo="${DISCO_MONGODB_APT_REPOSITORY:?}" key_url="${DISCO_MONGODB_SIGNING_KEY_URL:?}"
    local fingerprint="${DISCO_MONGODB_SIGNING_KEY_FINGERPRINT:?}"
    local codename="${DISCO_MONGODB_UBUNTU_CODENAME:-}" keyring list line gnupg component=multiverse
    if [ -z "$codename" ]; then
        codename=$(sed -n 's/^VERSION_CODENAME=["'\'']\{0,1\}\([a-z]*\).*/\1/p' "$root/etc/os-release" 2> /dev/null | head -n 1) || codename=""
    fi
    [[ "$codename" =~ ^[a-z]+$ ]] \
        || disco_fail "cannot tell this VM's Ubuntu release from $root/etc/os-release; set the mongodb parameter ubuntu_codename"
    # Debian's: .../apt/debian, main.
    if grep -qx 'ID="\{0,1\}debian"\{0,1\}' "$root/etc/os-release" 2> /dev/null; then
        component=main
        repo="${repo%/}"
        [ "${repo##*/}" = ubuntu ] && repo="${repo%/ubuntu}/debian"
    fi
    keyring="$root/etc/apt/keyrings/mongodb-server-$series.gpg"
    list="$root/etc/apt/sources.list.d/mongodb-org-$series.list"
    line="deb [ arch=amd64,arm64 signed-by=$keyring ] ${repo%/} $codename/mongodb-org/$series $component"
    if [ -s "$keyring" ] && [ "$(cat "$list" 2> /dev/null)" = "$line" ]; then
        disco_log "the MongoDB $series apt repository is already set up"
        return 0
    fi
    mkdir -p "$root/var/lib/disco" "$(dirname "$keyring")" "$(dirname "$list")"
    gnupg=$(mktemp -d "$root/var/lib/disco/mongodb-key.XXXXXX")
    MONGODB_GNUPG_DIR=$gnupg
    trap 'rm -rf -- "$MONGODB_GNUPG_DIR"' EXIT
    disco_log "fetching MongoDB's signing key from $key_url"
    disco_fetch "$key_url" "$gnupg/key.asc" \
        || disco_fail "cannot download MongoDB's signing key: $DISCO_FETCH_ERROR"
    gpg --batch --quiet --homedir "$gnupg" --import "$gnupg/key.asc" \
        || disco_fail "$key_url is not an OpenPGP key"
    # Only the key with the expected fingerprint goes into the keyring apt trusts.
    gpg --batch --quiet --homedir "$gnupg" --export "$fingerprint" > "$gnupg/keyring.gpg" \
        || disco_fail "cannot export MongoDB's signing key"
    gpgconf --homedir "$gnupg" --kill all > /dev/null 2>&1 || true
    [ -s "$gnupg/keyring.gpg" ] \
        || disco_fail "the key at $key_url is not the one with fingerprint $fingerprint"
    chmod 644 "$gnupg/keyring.gpg"
    mv -f "$gnupg/keyring.gpg" "$keyring"
    rm -rf "$gnupg"
    printf '%s\n' "$line" > "$list.tmp" && mv -f "$list.tmp" "$list"
    if ! (disco_apt "refreshing the package lists with MongoDB's repository $repo" update --error-on=any); then
        rm -f "$list"
        disco_fail "$(cat "$DISCO_RUN_DIR/failure-reason" 2> /dev/null || echo "apt-get update failed with MongoDB's repository $repo")"
    fi
    disco_log "MongoDB $series apt repository added: $repo ($codename), key $fingerprint"
}

# Installs mongod and mongosh: from MongoDB's repository on a VM; on a local node the
# machine's own (the local check made sure they are there).
mongodb_install() {
    if [ "$DISCO_PROFILE" = cloud ]; then
        disco_install_packages gnupg curl ca-certificates
        mongodb_apt_source
        disco_install_packages mongodb-org
    fi
    disco_require_tools mongod mongosh
}

# Writes the keyfile and mongod's configuration.
mongodb_configure() {
    local bind="${DISCO_NODE_ADDR:?}" dir
    mkdir -p "$(dirname "$MONGODB_KEYFILE")" "$MONGODB_DB_PATH" "$(dirname "$MONGODB_LOG_PATH")"
    if [ "$DISCO_PROFILE" = cloud ]; then
        # 127.0.0.1 for administration on the node itself (MongoDB's localhost exception).
        # Local nodes share this machine's 127.0.0.1, so they bind their own address only.
        bind="$bind,127.0.0.1"
        for dir in "$MONGODB_DB_PATH" "$(dirname "$MONGODB_LOG_PATH")"; do
            chown mongodb:mongodb "$dir" || disco_fail "cannot give $dir to the user mongodb"
        done
    fi

    # The password reaches sha256sum on its standard input, never as an argument.
    rm -f "$MONGODB_KEYFILE.tmp"
    (
        umask 077
        { printf 'disco mongodb keyfile\n' && printf '%s' "$MONGODB_ADMIN_PASSWORD"; } \
            | sha256sum | cut -d ' ' -f 1 > "$MONGODB_KEYFILE.tmp"
    ) || disco_fail "cannot write $MONGODB_KEYFILE"
    mongodb_replace "$MONGODB_KEYFILE" 400

    {
        printf '# Written by disco (framework mongodb); rewritten on every deployment.\n'
        printf 'storage:\n  dbPath: %s\n' "$(disco_json_string "$MONGODB_DB_PATH")"
        if [ "$DISCO_PROFILE" = local ]; then
            # Several nodes share this machine: keep each one's cache small.
            printf '  wiredTiger:\n    engineConfig:\n      cacheSizeGB: 0.25\n'
        fi
        printf 'systemLog:\n  destination: file\n  logAppend: true\n  path: %s\n' \
            "$(disco_json_string "$MONGODB_LOG_PATH")"
        printf 'net:\n  port: %s\n  bindIp: %s\n' "$MONGODB_PORT" "$(disco_json_string "$bind")"
        if [ "$DISCO_PROFILE" = local ]; then
            # /tmp/mongodb-<port>.sock would be the same for every node of this machine.
            printf '  unixDomainSocket:\n    enabled: false\n'
        else
            printf 'processManagement:\n  timeZoneInfo: /usr/share/zoneinfo\n'
        fi
        printf 'replication:\n  replSetName: %s\n' "$(disco_json_string "$MONGODB_REPLICA_SET")"
        printf 'security:\n  authorization: enabled\n  keyFile: %s\n' \
            "$(disco_json_string "$MONGODB_KEYFILE")"
    } > "$MONGODB_CONF.tmp"
    mongodb_replace "$MONGODB_CONF" 644
}

# Starts mongod (the package's systemd unit on a VM) and waits until it listens.
mongodb_start() {
    case "$DISCO_PROFILE" in
        cloud)
            if [ "$MONGODB_CHANGED" = 1 ] && systemctl is-active --quiet mongod; then
                disco_log "restarting mongod for its new configuration"
                systemctl restart mongod || disco_fail "could not restart mongod"
            fi
            systemctl enable --now mongod || disco_fail "could not start mongod"
            ;;
        local)
            disco_start_service mongod mongod --config "$MONGODB_CONF"
            ;;
    esac
    disco_wait_port "$DISCO_NODE_ADDR" "$MONGODB_PORT" 180 \
        || disco_fail "mongod does not listen on $DISCO_NODE_ADDR:$MONGODB_PORT (see $MONGODB_LOG_PATH)"
    disco_log "mongod of replica set $MONGODB_REPLICA_SET listens on $DISCO_NODE_ADDR:$MONGODB_PORT"
}
