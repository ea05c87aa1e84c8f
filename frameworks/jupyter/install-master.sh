#!/usr/bin/env bash
# JupyterLab on the master's address. Never open: with a password it requires that password
# (kept only as a salted hash), otherwise the token disco generated for the cluster.
# Secrets travel in the environment, never on a command line, and are written only as JSON
# data by Python's json module.
set -euo pipefail
# shellcheck source=frameworks/lib/runtime.sh
source "$DISCO_LIB/runtime.sh"

JUPYTER_USER=jupyter
JUPYTER_DATA="${DISCO_NODE_ROOT%/}/var/lib/jupyter"
JUPYTER_CONFIG_DIR="${DISCO_NODE_ROOT%/}/etc/jupyter"
address="${DISCO_MASTER_ADDR:?}"
port="${DISCO_JUPYTER_PORT:-8888}"
# Below disco's UI gateway's path when there is one (Python reads it from the environment).
base_url="/"
[ -z "${DISCO_UI_PREFIX:-}" ] || base_url="$DISCO_UI_PREFIX/jupyter/"

if [ -z "${DISCO_JUPYTER_PASSWORD:-}" ] && [ -z "${DISCO_JUPYTER_TOKEN:-}" ]; then
    disco_fail "JupyterLab needs a password or the token disco generates; neither reached the installer, so it stays off rather than open"
fi

case "$DISCO_PROFILE" in
    cloud)
        disco_install_packages python3 python3-venv
        # A login shell, for JupyterLab's terminals; the account has no password.
        if ! getent passwd "$JUPYTER_USER" > /dev/null 2>&1; then
            useradd --system --user-group --home-dir "$JUPYTER_DATA" --no-create-home \
                --shell /bin/bash "$JUPYTER_USER" \
                || disco_fail "cannot create the $JUPYTER_USER user"
            disco_log "created the $JUPYTER_USER user"
        fi
        version="${DISCO_JUPYTER_VERSION:?}"
        venv="${DISCO_NODE_ROOT%/}/opt/jupyter"
        if [ ! -x "$venv/bin/pip" ]; then
            python3 -m venv "$venv" || disco_fail "cannot create a Python virtual environment in $venv"
        fi
        if [ ! -e "$venv/.disco-jupyterlab-$version" ]; then
            disco_log "installing jupyterlab $version with pip"
            "$venv/bin/pip" install --disable-pip-version-check --no-input "jupyterlab==$version" \
                || disco_fail "pip could not install jupyterlab $version (see jupyter.log)"
            touch "$venv/.disco-jupyterlab-$version"
        fi
        # Its user may pip install into it from a notebook.
        chown -R "$JUPYTER_USER:$JUPYTER_USER" "$venv" \
            || disco_fail "cannot give $venv to the $JUPYTER_USER user"
        jupyter=("$venv/bin/jupyter" lab)
        ;;
    local)
        disco_require_tools jupyter
        if command -v jupyter-lab > /dev/null 2>&1; then
            jupyter=("$(command -v jupyter)" lab)
        elif command -v jupyter-server > /dev/null 2>&1; then
            jupyter=("$(command -v jupyter)" server)
        else
            disco_fail "jupyter on this machine has neither JupyterLab nor Jupyter Server (pip install jupyterlab)"
        fi
        ;;
esac
disco_require_tools python3

mkdir -p "$JUPYTER_CONFIG_DIR" "$JUPYTER_DATA/notebooks" "$JUPYTER_DATA/runtime"
config="$JUPYTER_CONFIG_DIR/jupyter_server_config.json"
allow_root=false
if [ "$DISCO_PROFILE" = local ] && [ "$(id -u)" = 0 ]; then
    allow_root=true
fi
# The hash is jupyter_server's salted form `sha256:<salt>:<hex>` (passwd_check accepts any
# hashlib algorithm); an existing hash of the same password is kept, so a re-run changes nothing.
# shellcheck disable=SC2016 # Python code, not shell
JUPYTER_CONFIG_FILE="$config" JUPYTER_IP="$address" JUPYTER_PORT="$port" JUPYTER_BASE_URL="$base_url" \
    JUPYTER_ROOT_DIR="$JUPYTER_DATA/notebooks" JUPYTER_ALLOW_ROOT="$allow_root" python3 -c '
import hashlib, json, os, secrets

env = os.environ
path = env["JUPYTER_CONFIG_FILE"]
password = env.get("DISCO_JUPYTER_PASSWORD", "")
token = env.get("DISCO_JUPYTER_TOKEN", "")

def digest(salt):
    return hashlib.sha256(password.encode("utf-8") + salt.encode("ascii")).hexdigest()

hashed = ""
if password:
    try:
        with open(path, encoding="utf-8") as f:
            hashed = json.load(f)["PasswordIdentityProvider"]["hashed_password"]
        algorithm, salt, hexdigest = hashed.split(":", 2)
        if algorithm != "sha256" or not secrets.compare_digest(digest(salt), hexdigest):
            hashed = ""
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        hashed = ""
    if not hashed:
        salt = secrets.token_hex(6)
        hashed = ":".join(("sha256", salt, digest(salt)))
    token = ""

config = {
    "ServerApp": {
        "ip": env["JUPYTER_IP"],
        "port": int(env["JUPYTER_PORT"]),
        "base_url": env["JUPYTER_BASE_URL"],
        "open_browser": False,
        "root_dir": env["JUPYTER_ROOT_DIR"],
        "allow_root": env["JUPYTER_ALLOW_ROOT"] == "true",
    },
    "IdentityProvider": {"token": token},
    "PasswordIdentityProvider": {
        "hashed_password": hashed,
        "password_required": bool(password),
        "allow_password_change": False,
    },
}
tmp = path + ".tmp"
fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w", encoding="utf-8") as f:
    json.dump(config, f, indent=2, sort_keys=True)
    f.write("\n")
os.chmod(tmp, 0o600)
os.replace(tmp, path)
' || disco_fail "cannot write JupyterLab's configuration $config"

if [ "$DISCO_PROFILE" = cloud ]; then
    chown -R "$JUPYTER_USER:$JUPYTER_USER" "$JUPYTER_DATA" "$config" \
        || disco_fail "cannot give JupyterLab's files to the $JUPYTER_USER user"
fi

DISCO_SERVICE_USER="$JUPYTER_USER" disco_start_service jupyter env \
    JUPYTER_CONFIG_DIR="$JUPYTER_CONFIG_DIR" JUPYTER_RUNTIME_DIR="$JUPYTER_DATA/runtime" \
    HOME="$JUPYTER_DATA" "${jupyter[@]}"
disco_wait_port "$address" "$port" 120 \
    || disco_fail "JupyterLab does not listen on $address:$port"
if [ -n "${DISCO_JUPYTER_PASSWORD:-}" ]; then
    disco_log "JupyterLab on http://$address:$port$base_url asks for the password you chose"
else
    disco_log "JupyterLab on http://$address:$port$base_url asks for the cluster's generated token"
fi
