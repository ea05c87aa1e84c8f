#!/usr/bin/env bash
# Installs real Keystone and real Heat (PyPI) plus the OpenStack client into one virtualenv,
# for the tests that run disco against the real services. Idempotent: a stamp file records a
# finished install of exactly these requirements.
#
# Usage: tests/openstack/install.sh   (prints the virtualenv's path)
# DISCO_OPENSTACK_VENV overrides the location (default ~/.cache/disco/openstack-venv).
set -euo pipefail

venv=${DISCO_OPENSTACK_VENV:-$HOME/.cache/disco/openstack-venv}
requirements=(keystone openstack-heat gunicorn python-openstackclient python-heatclient)
stamp="$venv/.disco-installed"
wanted="${requirements[*]}"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
    echo "$venv"
    exit 0
fi
mkdir -p "$(dirname "$venv")"
python3 -m venv "$venv" >&2
"$venv/bin/pip" install -q --disable-pip-version-check --upgrade pip >&2
"$venv/bin/pip" install -q --disable-pip-version-check "${requirements[@]}" >&2
printf '%s' "$wanted" > "$stamp"
echo "$venv"
