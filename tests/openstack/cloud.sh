#!/usr/bin/env bash
# Runs a real, loopback-only OpenStack control plane for disco's integration tests:
# RabbitMQ (Debian package), Keystone and Heat (PyPI, installed by install.sh).
#
# Usage: tests/openstack/cloud.sh start|stop|status|restart
#
#   start    install what is missing, start what is not running, bootstrap Keystone's
#            users/projects/services, write $state/env.sh and $state/clouds.yaml, and wait
#            until Keystone and Heat (API and engine) answer. Idempotent: a healthy cloud is
#            left alone.
#   stop     stop every process this script started (PID files under $state/run).
#   status   exit 0 when every service is up and answering, 1 otherwise.
#
# State (configs, SQLite databases, keys, logs, PID files) lives under
# ${DISCO_OPENSTACK_STATE:-/tmp/disco-openstack}; remove that directory for a fresh cloud.
# Ports, all on 127.0.0.1: Keystone 5000, heat-api 8004, AMQP 5672, Erlang distribution
# 25672, epmd 4369 (shared), and 8090 for stand-ins of the Nova/Neutron/Glance lookups that
# Heat's custom constraints (nova.flavor, neutron.network, glance.image) make, answering for
# the names in $state/fake-inventory.json (edit it freely; it is read on every request).
# DISCO_OPENSTACK_{KEYSTONE,HEAT,FAKE,AMQP}_PORT move them (a second cloud, own state dir).
# DISCO_OPENSTACK_TOKEN_SECS: Keystone tokens' lifetime (600; Keystone's own default is 3600).
# Heat's wait condition handles sign with such a token: a node must signal within it.
# DISCO_OPENSTACK_HEAT_PUBLIC_HOST names heat-api's host in the URLs Heat gives out for
# signalling wait conditions (e.g. a name VMs resolve to a forward to this machine); the
# catalog keeps 127.0.0.1.
# Logs: $state/log/{epmd,rabbitmq,keystone,heat-api,heat-engine,fake-services,setup}.log.
# Tests then `source "$state/env.sh"` (or use OS_CLIENT_CONFIG_FILE=$state/clouds.yaml).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
state=${DISCO_OPENSTACK_STATE:-/tmp/disco-openstack}

host=127.0.0.1
# The ports can be moved, e.g. for a second cloud next to the first one (its own state dir).
keystone_port=${DISCO_OPENSTACK_KEYSTONE_PORT:-5000}
heat_port=${DISCO_OPENSTACK_HEAT_PORT:-8004}
fake_port=${DISCO_OPENSTACK_FAKE_PORT:-8090}
amqp_port=${DISCO_OPENSTACK_AMQP_PORT:-5672}
dist_port=$((amqp_port + 20000))
epmd_port=4369
auth_url="http://$host:$keystone_port/v3"
heat_url="http://$host:$heat_port/v1"

# Test-only credentials: every service listens on loopback only.
admin_password=${DISCO_TEST_ADMIN_PASSWORD:-admin-secret}
heat_password=heat-service-secret
heat_domain_admin_password=heat-domain-admin-secret
demo_password=demo-secret
other_password=other-secret
disco_password=disco-secret

etc="$state/etc"
run="$state/run"
logs="$state/log"
lib="$state/lib"
venv=""

say() { printf 'cloud.sh: %s\n' "$*" >&2; }

die() {
    say "$*"
    exit 1
}

# Prints the last lines of a service's log (for failures).
show_log() {
    local f="$logs/$1.log"
    if [ -f "$f" ]; then
        say "last lines of $f:"
        tail -n "${2:-40}" "$f" >&2
    fi
}

port_open() {
    (exec 3<>"/dev/tcp/$host/$1") 2>/dev/null
}

pid_of() {
    local f="$run/$1.pid"
    [ -s "$f" ] && cat "$f"
}

# group_alive PGID: some process of the group lives (zombies do not count: they linger until
# PID 1 reaps them, which some container inits do only every few seconds).
# Reads /proc directly (no procps on minimal images).
group_alive() {
    local f line st pg
    for f in /proc/[0-9]*/stat; do
        { read -r line <"$f"; } 2>/dev/null || continue
        # fields after "(comm)": state ppid pgrp ...
        read -r st _ pg _ <<<"${line##*) }"
        if [ "$pg" = "$1" ] && [ "$st" != Z ]; then
            return 0
        fi
    done
    return 1
}

running() {
    local pid
    pid=$(pid_of "$1") || return 1
    group_alive "$pid"
}

# launch NAME COMMAND...: starts COMMAND in a new session (so that stop can signal its whole
# process group: gunicorn workers, Erlang helpers), stdout+stderr appended to $logs/NAME.log,
# its PID (= session and process-group id) in $run/NAME.pid.
launch() {
    local name=$1
    shift
    rm -f "$run/$name.pid"
    printf '\n=== %s start %s\n' "$(date -Is)" "$name" >>"$logs/$name.log"
    # shellcheck disable=SC2016  # $$ and "$@" belong to the inner shell
    setsid bash -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && cd / && exec "$@"' "$run/$name.pid" "$@" \
        >>"$logs/$name.log" 2>&1 </dev/null &
    local i
    for i in $(seq 50); do
        [ -s "$run/$name.pid" ] && return 0
        sleep 0.1
    done
    die "$name: no PID file after 5 s (i=$i)"
}

# stop_one NAME: SIGTERM to the process group, SIGKILL after 20 s.
stop_one() {
    local name=$1 pid i t0=$SECONDS
    pid=$(pid_of "$name") || return 0
    if group_alive "$pid"; then
        kill -TERM -- "-$pid" 2>/dev/null || true
        for i in $(seq 200); do
            group_alive "$pid" || break
            sleep 0.1
        done
        if group_alive "$pid"; then
            say "$name (process group $pid) ignored SIGTERM for 20 s (i=$i), killing it"
            kill -KILL -- "-$pid" 2>/dev/null || true
        fi
        say "stopped $name ($((SECONDS - t0)) s)"
    fi
    rm -f "$run/$name.pid"
}

# wait_for NAME SECONDS CHECK...: polls CHECK every 0.5 s while NAME's process lives.
wait_for() {
    local name=$1 seconds=$2 i
    shift 2
    for i in $(seq $((seconds * 2))); do
        if "$@" 2>/dev/null; then
            return 0
        fi
        if ! running "$name"; then
            show_log "$name"
            die "$name exited during start-up"
        fi
        sleep 0.5
    done
    show_log "$name"
    die "$name did not answer within $seconds s (polled $i times)"
}

py() {
    "$venv/bin/python" "$lib/probe.py" "$@"
}

# ---------------------------------------------------------------------------------------------
# Generated files

write_files() {
    mkdir -p "$etc/keystone" "$etc/heat/environment.d" "$etc/heat/templates" "$run" "$logs" \
        "$lib" "$state/keystone"
    chmod 755 "$state"

    # Fixes loaded into Keystone, heat-api and heat-engine before they start (all three entry
    # points below import this module first).
    # 1. SQLite under concurrent writers. oslo.db opens every transaction with a deferred
    #    BEGIN; two threads or processes that both read, then write, deadlock on the lock
    #    upgrade and SQLite fails one at once with "database is locked" (no busy wait). Seen
    #    with the legacy Heat engine creating several nested stacks (provider templates) at
    #    once. BEGIN IMMEDIATE takes the write lock up front and busy_timeout makes the others
    #    wait for it: transactions are serialised, plenty for a test cloud.
    # 2. yaql parsing is not thread-safe (one shared PLY lexer/parser per engine), and Heat 27's
    #    engine runs on real threads (oslo.service threading backend): concurrent stacks with
    #    yaql functions failed at random with "Bad expression Parse error: unexpected ')'".
    #    A lock around parsing. (Heat's own bug: templates for real clouds should avoid yaql.)
    cat >"$lib/disco_patches.py" <<'EOF'
import sqlite3
import threading

import sqlalchemy
from sqlalchemy.engine import Engine
from yaql.language import factory


@sqlalchemy.event.listens_for(Engine, "connect")
def _busy_timeout(dbapi_connection, connection_record):
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA busy_timeout = 60000")


@sqlalchemy.event.listens_for(Engine, "before_cursor_execute", retval=True)
def _begin_immediate(conn, cursor, statement, parameters, context, executemany):
    if statement == "BEGIN" and conn.dialect.name == "sqlite":
        statement = "BEGIN IMMEDIATE"
    return statement, parameters


_yaql_lock = threading.RLock()
_yaql_call = factory.YaqlEngine.__call__


def _locked_yaql_call(self, expression, options=None):
    with _yaql_lock:
        return _yaql_call(self, expression, options)


factory.YaqlEngine.__call__ = _locked_yaql_call
EOF
    # Entry points. oslo.config parses sys.argv, so gunicorn's own arguments must not be
    # visible to Keystone or Heat when they load.
    cat >"$lib/disco_keystone_wsgi.py" <<EOF
import sys
sys.argv = ["keystone-wsgi-public"]
import disco_patches  # noqa: E402,F401
from keystone.wsgi.api import application  # noqa: E402,F401
EOF
    cat >"$lib/disco_heat_wsgi.py" <<EOF
import sys
sys.argv = ["heat-api", "--config-file", "$etc/heat/heat.conf"]
import disco_patches  # noqa: E402,F401
from heat.api.openstack.wsgi import init_application  # noqa: E402
application = init_application()
EOF
    cat >"$lib/disco_heat_engine.py" <<EOF
import sys
sys.argv = ["heat-engine", "--config-file", "$etc/heat/heat.conf"]
import disco_patches  # noqa: E402,F401
from heat.cmd.engine import main  # noqa: E402
sys.exit(main())
EOF

    # Read-only stand-ins for the lookups Heat's custom constraints make (glance.image,
    # nova.flavor, neutron.network): without them a template with such parameter
    # constraints fails at stack create with "EndpointNotFound: public endpoint for network
    # service in RegionOne region not found" (HTTP 500). Names come from the inventory file;
    # an unknown name fails like on a real cloud ("Error validating value 'x': No images
    # matching {'name': 'x'}").
    cat >"$lib/disco_fake_services.py" <<'EOF'
"""Stand-ins for the Nova/Neutron/Glance lookups of Heat's custom constraints (cloud.sh)."""
import json
import os
import uuid
from urllib.parse import parse_qs

INVENTORY = os.environ["DISCO_FAKE_INVENTORY"]
BASE = os.environ["DISCO_FAKE_BASE"]
NS = uuid.UUID("6f1d3c5e-0d7a-4c0b-9a51-5f0c2f4f7a10")


def items(kind, query=None):
    with open(INVENTORY) as f:
        names = json.load(f).get(kind, [])
    found = [{"id": str(uuid.uuid5(NS, f"{kind}/{n}")), "name": n} for n in names]
    for key in ("name", "id"):
        if query and key in query:
            found = [x for x in found if x[key] in query[key]]
    return found


def find(kind, ident):
    return next((x for x in items(kind) if ident in (x["id"], x["name"])), None)


def flavor(x):
    return {**x, "ram": 2048, "vcpus": 1, "disk": 20, "OS-FLV-EXT-DATA:ephemeral": 0,
            "swap": "", "os-flavor-access:is_public": True, "rxtx_factor": 1.0, "links": []}


def network(x):
    return {**x, "status": "ACTIVE", "admin_state_up": True, "shared": False, "subnets": [],
            "router:external": x["name"] == "public", "project_id": "", "tenant_id": ""}


def image(x):
    return {**x, "status": "active", "visibility": "public", "disk_format": "qcow2",
            "container_format": "bare", "min_disk": 0, "min_ram": 0, "size": 1, "tags": []}


def image_schema(plural):
    props = {k: {"type": ["null", "string"]} for k in (
        "id", "name", "status", "visibility", "disk_format", "container_format")}
    props.update({k: {"type": ["null", "integer"]} for k in ("min_disk", "min_ram", "size")})
    props["tags"] = {"type": "array", "items": {"type": "string"}}
    one = {"name": "image", "properties": props, "additionalProperties": {"type": "string"},
           "links": []}
    if plural:
        return {"name": "images", "links": [],
                "properties": {"images": {"type": "array", "items": one}}}
    return one


def route(parts, query):
    service, rest = parts[0], parts[1:]
    if service == "compute":
        if rest in ([], ["v2.1"]):
            v = {"id": "v2.1", "status": "CURRENT", "version": "2.96", "min_version": "2.1",
                 "updated": "2013-07-23T11:33:21Z",
                 "links": [{"rel": "self", "href": f"{BASE}/compute/v2.1/"}]}
            return 200, {"version": v} if rest else {"versions": [v]}
        if rest[1:2] == ["flavors"]:
            tail = rest[2:]
            if tail in ([], ["detail"]):
                return 200, {"flavors": [flavor(x) for x in items("flavors", query)]}
            x = find("flavors", tail[0])
            if x and len(tail) == 1:
                return 200, {"flavor": flavor(x)}
            return 404, {"itemNotFound": {"code": 404,
                                          "message": f"Flavor {tail[0]} could not be found."}}
        if rest[1:2] == ["os-keypairs"] and len(rest) == 3:
            return 404, {"itemNotFound": {"code": 404,
                                          "message": f"Keypair {rest[2]} not found."}}
    if service == "network":
        if rest == []:
            return 200, {"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
                {"rel": "self", "href": f"{BASE}/network/v2.0/"}]}]}
        if rest[:2] == ["v2.0", "networks"]:
            if len(rest) == 2:
                return 200, {"networks": [network(x) for x in items("networks", query)]}
            x = find("networks", rest[2])
            if x and x["id"] == rest[2]:
                return 200, {"network": network(x)}
            return 404, {"NeutronError": {"type": "NetworkNotFound", "detail": "",
                                          "message": f"Network {rest[2]} could not be found."}}
    if service == "image":
        if rest == []:
            return 300, {"versions": [{"id": "v2.16", "status": "CURRENT", "links": [
                {"rel": "self", "href": f"{BASE}/image/v2/"}]}]}
        if rest[:2] == ["v2", "schemas"] and rest[2:] in (["image"], ["images"]):
            return 200, image_schema(rest[2] == "images")
        if rest[:2] == ["v2", "images"]:
            if len(rest) == 2:
                return 200, {"images": [image(x) for x in items("images", query)],
                             "first": "/v2/images", "schema": "/v2/schemas/images"}
            x = find("images", rest[2])
            if x and x["id"] == rest[2]:
                return 200, image(x)
            return 404, {"message": f"No image found with ID {rest[2]}", "code": 404}
    return 404, {"message": "not found in the test stand-in", "code": 404}


def application(environ, start_response):
    path = environ.get("PATH_INFO", "").removesuffix(".json")
    parts = [p for p in path.split("/") if p]
    if environ["REQUEST_METHOD"] != "GET" or not parts:
        status, body = 405, {"message": "read-only test stand-in", "code": 405}
    else:
        status, body = route(parts, parse_qs(environ.get("QUERY_STRING", "")))
    data = json.dumps(body).encode()
    reason = {200: "OK", 300: "Multiple Choices", 404: "Not Found", 405: "Method Not Allowed"}
    start_response(f"{status} {reason[status]}", [("Content-Type", "application/json"),
                                                  ("Content-Length", str(len(data)))])
    return [data]
EOF
    [ -s "$state/fake-inventory.json" ] || cat >"$state/fake-inventory.json" <<'EOF'
{
  "images": ["debian-12", "ubuntu-24.04"],
  "flavors": ["m1.tiny", "m1.small", "m1.medium", "m1.large"],
  "networks": ["public", "private"]
}
EOF

    cat >"$etc/keystone/keystone.conf" <<EOF
[DEFAULT]
use_stderr = true

[database]
connection = sqlite:///$state/keystone/keystone.db

[token]
provider = fernet
expiration = ${DISCO_OPENSTACK_TOKEN_SECS:-600}

[fernet_tokens]
key_repository = $state/keystone/fernet-keys

[fernet_receipts]
key_repository = $state/keystone/fernet-keys

[credential]
key_repository = $state/keystone/credential-keys

[identity]
password_hash_rounds = 4
EOF

    cp "$venv/etc/heat/api-paste.ini" "$etc/heat/api-paste.ini"
    cp -r "$venv/etc/heat/environment.d/." "$etc/heat/environment.d/"
    cp -r "$venv/etc/heat/templates/." "$etc/heat/templates/"
    local authtoken
    authtoken="auth_type = password
auth_url = http://$host:$keystone_port
username = heat
password = $heat_password
user_domain_name = Default"
    cat >"$etc/heat/heat.conf" <<EOF
[DEFAULT]
use_stderr = true
transport_url = rabbit://guest:guest@$host:$amqp_port/
convergence_engine = false
num_engine_workers = 1
graceful_shutdown_timeout = 5
region_name_for_services = RegionOne
environment_dir = $etc/heat/environment.d
template_dir = $etc/heat/templates
stack_user_domain_name = heat
stack_domain_admin = heat_domain_admin
stack_domain_admin_password = $heat_domain_admin_password
heat_metadata_server_url = http://$host:8000
heat_waitcondition_server_url = http://$host:8000/v1/waitcondition

[database]
connection = sqlite:///$state/heat/heat.db

[paste_deploy]
api_paste_config = $etc/heat/api-paste.ini

[keystone_authtoken]
www_authenticate_uri = $auth_url
$authtoken
project_name = service
project_domain_name = Default

[trustee]
$authtoken

[clients_keystone]
auth_uri = http://$host:$keystone_port

[oslo_messaging_notifications]
driver = noop
EOF
    if [ -n "${DISCO_OPENSTACK_HEAT_PUBLIC_HOST:-}" ]; then
        # Wait condition handles' signal URLs (heat_plugin.get_heat_url) name this host.
        printf '\n[clients_heat]\nurl = http://%s:%s/v1/%%(tenant_id)s\n' \
            "$DISCO_OPENSTACK_HEAT_PUBLIC_HOST" "$heat_port" >>"$etc/heat/heat.conf"
    fi
    mkdir -p "$state/heat"

    # RabbitMQ: own config, data and logs, nothing from /etc/rabbitmq.
    mkdir -p "$state/rabbitmq/mnesia" "$state/rabbitmq/log"
    : >"$state/rabbitmq/rabbitmq-env.conf"
    echo '[].' >"$state/rabbitmq/enabled_plugins"
    cat >"$state/rabbitmq/rabbitmq.conf" <<EOF
listeners.tcp.default = $host:$amqp_port
loopback_users.guest = true
disk_free_limit.absolute = 50MB
EOF
    chown -R rabbitmq:rabbitmq "$state/rabbitmq"

    cat >"$lib/probe.py" <<'EOF'
"""Health checks and the Keystone bootstrap for cloud.sh (generated; edit cloud.sh)."""
import json
import os
import sys
import time

import requests

HOST = "127.0.0.1"
AUTH_URL = os.environ["CLOUD_AUTH_URL"]


def amqp_ok(queue=None):
    import amqp
    conn = amqp.Connection(f"{HOST}:{os.environ['CLOUD_AMQP_PORT']}", userid="guest",
                           password="guest", connect_timeout=2)
    conn.connect()
    try:
        if queue:
            # Heat's engine consumes the RPC queue "engine"; a passive declare fails (404)
            # while it does not exist and reports its consumers once it does.
            _, _, consumers = conn.channel().queue_declare(queue, passive=True)
            return consumers > 0
        return True
    finally:
        conn.close()


def token(user, password, project, domain="Default"):
    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": domain}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}}
    r = requests.post(AUTH_URL + "/auth/tokens", json=body, timeout=10)
    r.raise_for_status()
    return r.headers["X-Subject-Token"], r.json()["token"]


def check(what):
    if what == "amqp":
        return amqp_ok()
    if what == "engine":
        return amqp_ok("engine")
    if what == "keystone":
        return requests.get(AUTH_URL, timeout=5).status_code == 200
    if what == "fake-services":
        return requests.get(os.environ["CLOUD_FAKE_URL"] + "/compute/v2.1",
                            timeout=5).status_code == 200
    if what == "heat-api":
        return requests.get(f"http://{HOST}:{os.environ['CLOUD_HEAT_PORT']}/",
                            timeout=5).status_code in (200, 300)
    if what == "heat":
        # End to end: a Keystone token, the orchestration endpoint from the catalog, and
        # an API call that the API answers through the engine (RPC).
        tok, body = token("admin", os.environ["CLOUD_ADMIN_PASSWORD"], "admin")
        urls = [e["url"] for s in body["catalog"] if s["type"] == "orchestration"
                for e in s["endpoints"] if e["interface"] == "public"]
        r = requests.get(urls[0] + "/build_info", headers={"X-Auth-Token": tok}, timeout=30)
        return r.status_code == 200 and "engine" in r.json()
    raise SystemExit(f"unknown check {what}")


class Keystone:
    def __init__(self):
        self.tok, _ = token("admin", os.environ["CLOUD_ADMIN_PASSWORD"], "admin")

    def req(self, method, path, body=None, ok=(200, 201, 204)):
        r = requests.request(method, AUTH_URL + path, json=body, timeout=30,
                             headers={"X-Auth-Token": self.tok})
        if r.status_code not in ok:
            raise SystemExit(f"{method} {path}: {r.status_code} {r.text}")
        return r.json() if r.content else None

    def find(self, kind, name, **filters):
        query = "&".join(f"{k}={v}" for k, v in {"name": name, **filters}.items())
        found = self.req("GET", f"/{kind}?{query}")[kind]
        return found[0] if found else None

    def ensure(self, kind, name, extra=None, **filters):
        obj = self.find(kind, name, **filters)
        if obj is None:
            obj = self.req("POST", f"/{kind}", {kind[:-1]: {"name": name, **(extra or {})}})
            obj = obj[kind[:-1]]
        return obj

    def ensure_user(self, name, password, domain_id, project_id=None):
        user = self.find("users", name, domain_id=domain_id)
        if user is None:
            extra = {"password": password, "domain_id": domain_id}
            if project_id:
                extra["default_project_id"] = project_id
            user = self.req("POST", "/users", {"user": {"name": name, **extra}})["user"]
        else:
            # Only touch the password when it is wrong: a change revokes the user's tokens.
            body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
                "id": user["id"], "password": password}}}}}
            r = requests.post(AUTH_URL + "/auth/tokens", json=body, timeout=10)
            if r.status_code != 201:
                self.req("PATCH", f"/users/{user['id']}", {"user": {"password": password}})
        return user

    def ensure_endpoints(self, name, kind, url):
        services = self.req("GET", f"/services?type={kind}")["services"]
        svc = services[0] if services else self.req("POST", "/services", {"service": {
            "name": name, "type": kind}})["service"]
        existing = self.req("GET", f"/endpoints?service_id={svc['id']}")["endpoints"]
        for interface in ("public", "internal", "admin"):
            same = [x for x in existing if x["interface"] == interface]
            if same and same[0]["url"] == url and same[0].get("region_id") == "RegionOne":
                continue
            for x in same:
                self.req("DELETE", f"/endpoints/{x['id']}")
            self.req("POST", "/endpoints", {"endpoint": {
                "service_id": svc["id"], "interface": interface, "url": url,
                "region_id": "RegionOne"}})

    def grant(self, target, target_id, user_id, role_id):
        self.req("PUT", f"/{target}/{target_id}/users/{user_id}/roles/{role_id}")


def bootstrap():
    e = os.environ
    ks = Keystone()
    default = ks.req("GET", "/domains/default")["domain"]["id"]
    roles = {name: ks.ensure("roles", name)["id"] for name in (
        "admin", "member", "reader", "service", "heat_stack_owner", "heat_stack_user")}

    # Heat's own identities: service user heat (admin on project service, the trustee of
    # the trusts Heat makes), and the domain "heat" whose admin manages stack users.
    service = ks.ensure("projects", "service", {"domain_id": default,
                                                "description": "Service project"},
                        domain_id=default)
    heat = ks.ensure_user("heat", e["CLOUD_HEAT_PASSWORD"], default, service["id"])
    ks.grant("projects", service["id"], heat["id"], roles["admin"])
    heat_domain = ks.ensure("domains", "heat", {"description": "Heat stack users"})
    domain_admin = ks.ensure_user("heat_domain_admin", e["CLOUD_HEAT_DOMAIN_ADMIN_PASSWORD"],
                                  heat_domain["id"])
    ks.grant("domains", heat_domain["id"], domain_admin["id"], roles["admin"])

    fake = e["CLOUD_FAKE_URL"]
    for name, kind, url in (
            ("heat", "orchestration", f"http://{HOST}:{e['CLOUD_HEAT_PORT']}/v1/%(project_id)s"),
            ("nova", "compute", f"{fake}/compute/v2.1"),
            ("neutron", "network", f"{fake}/network"),
            ("glance", "image", f"{fake}/image")):
        ks.ensure_endpoints(name, kind, url)

    ids = {}
    for user, password, project, role in (
            ("demo", e["CLOUD_DEMO_PASSWORD"], "demo", "member"),
            ("other", e["CLOUD_OTHER_PASSWORD"], "other", "member"),
            ("disco", e["CLOUD_DISCO_PASSWORD"], "service", "service")):
        p = service if project == "service" else ks.ensure(
            "projects", project, {"domain_id": default}, domain_id=default)
        u = ks.ensure_user(user, password, default, p["id"])
        ks.grant("projects", p["id"], u["id"], roles[role])
        ids[user] = {"user_id": u["id"], "project_id": p["id"]}
    admin_project = ks.find("projects", "admin", domain_id=default)
    ids["admin"] = {"project_id": admin_project["id"]}
    json.dump(ids, sys.stdout)


def main():
    cmd = sys.argv[1]
    if cmd == "check":
        try:
            ok = check(sys.argv[2])
        except Exception as exc:  # noqa: BLE001 - any failure means "not (yet) healthy"
            if os.environ.get("CLOUD_VERBOSE"):
                print(f"{sys.argv[2]}: {exc!r}", file=sys.stderr)
            ok = False
        sys.exit(0 if ok else 1)
    if cmd == "bootstrap":
        bootstrap()
        return
    raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
EOF
}

export_probe_env() {
    export CLOUD_AUTH_URL=$auth_url CLOUD_AMQP_PORT=$amqp_port CLOUD_HEAT_PORT=$heat_port \
        CLOUD_ADMIN_PASSWORD=$admin_password CLOUD_HEAT_PASSWORD=$heat_password \
        CLOUD_HEAT_DOMAIN_ADMIN_PASSWORD=$heat_domain_admin_password \
        CLOUD_DEMO_PASSWORD=$demo_password CLOUD_OTHER_PASSWORD=$other_password \
        CLOUD_DISCO_PASSWORD=$disco_password CLOUD_FAKE_URL="http://$host:$fake_port"
}

# ---------------------------------------------------------------------------------------------
# Services

ensure_rabbitmq_installed() {
    if [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
        return 0
    fi
    say "installing rabbitmq-server (apt-get)"
    # policy-rc.d may or may not stop the package's own service from starting; either way we
    # stop it below and run our own node.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        rabbitmq-server >>"$logs/setup.log" 2>&1 || {
        DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$logs/setup.log" 2>&1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            rabbitmq-server >>"$logs/setup.log" 2>&1
    } || {
        show_log setup
        die "could not install rabbitmq-server"
    }
    # Under systemd the package starts the distribution's broker on 5672: stop it. (Only
    # then: the init script's "stop" alone would leave an epmd daemon behind.)
    if port_open "$amqp_port"; then
        say "stopping the rabbitmq-server service the package started"
        if command -v systemctl >/dev/null && systemctl is-active --quiet rabbitmq-server; then
            systemctl stop rabbitmq-server || true
        else
            service rabbitmq-server stop >>"$logs/setup.log" 2>&1 || true
        fi
    fi
}

# The broker runs as user rabbitmq with its own config, data and logs (nothing from
# /etc/rabbitmq or /var/lib/rabbitmq), its log on stdout (-> $logs/rabbitmq.log).
rabbit_command() {
    local r="$state/rabbitmq"
    rabbit=(setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups
        env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME="$r"
        RABBITMQ_CONF_ENV_FILE="$r/rabbitmq-env.conf"
        RABBITMQ_CONFIG_FILE="$r/rabbitmq.conf"
        RABBITMQ_ADVANCED_CONFIG_FILE="$r/advanced.config"
        RABBITMQ_ENABLED_PLUGINS_FILE="$r/enabled_plugins"
        RABBITMQ_MNESIA_BASE="$r/mnesia" RABBITMQ_LOG_BASE="$r/log" RABBITMQ_LOGS=-
        RABBITMQ_PID_FILE="$r/rabbit.pid"
        RABBITMQ_NODENAME="disco-$amqp_port@localhost" RABBITMQ_NODE_IP_ADDRESS="$host"
        RABBITMQ_NODE_PORT="$amqp_port" RABBITMQ_DIST_PORT="$dist_port"
        ERL_EPMD_ADDRESS="$host" ERL_EPMD_PORT="$epmd_port"
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}")
}

start_rabbitmq() {
    if running rabbitmq && py check amqp; then
        return 0
    fi
    stop_one rabbitmq
    if port_open "$amqp_port"; then
        die "port $amqp_port is taken by a process this script did not start"
    fi
    # epmd: ours unless one already listens (then it is somebody else's and stays).
    if ! running epmd && ! port_open "$epmd_port"; then
        launch epmd setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups \
            env ERL_EPMD_ADDRESS="$host" epmd -port "$epmd_port"
    fi
    local rabbit
    rabbit_command
    launch rabbitmq "${rabbit[@]}" /usr/lib/rabbitmq/bin/rabbitmq-server
}

keystone_manage() {
    OS_KEYSTONE_CONFIG_DIR="$etc/keystone" "$venv/bin/keystone-manage" \
        --config-file "$etc/keystone/keystone.conf" "$@" >>"$logs/setup.log" 2>&1 || {
        show_log setup
        die "keystone-manage $1 failed"
    }
}

setup_keystone() {
    [ -f "$state/keystone/.setup-done" ] && return 0
    say "setting up Keystone (database, fernet keys, bootstrap)"
    keystone_manage db_sync
    [ -d "$state/keystone/fernet-keys" ] ||
        keystone_manage fernet_setup --keystone-user root --keystone-group root
    [ -d "$state/keystone/credential-keys" ] ||
        keystone_manage credential_setup --keystone-user root --keystone-group root
    keystone_manage bootstrap --bootstrap-password "$admin_password" \
        --bootstrap-username admin --bootstrap-project-name admin \
        --bootstrap-role-name admin --bootstrap-service-name keystone \
        --bootstrap-region-id RegionOne \
        --bootstrap-admin-url "$auth_url" --bootstrap-public-url "$auth_url" \
        --bootstrap-internal-url "$auth_url"
    touch "$state/keystone/.setup-done"
}

setup_heat() {
    [ -f "$state/heat/.setup-done" ] && return 0
    "$venv/bin/heat-manage" --config-file "$etc/heat/heat.conf" db_sync \
        >>"$logs/setup.log" 2>&1 || {
        show_log setup
        die "heat-manage db_sync failed"
    }
    touch "$state/heat/.setup-done"
}

start_gunicorn() {
    local name=$1 port=$2 module=$3
    shift 3
    launch "$name" env "$@" "$venv/bin/gunicorn" --bind "$host:$port" --workers 2 \
        --timeout 120 --graceful-timeout 5 --pythonpath "$lib" --name "disco-$name" \
        "$module:application"
}

start_keystone() {
    if running keystone && py check keystone; then
        return 0
    fi
    stop_one keystone
    port_open "$keystone_port" && die "port $keystone_port is taken by a process this script did not start"
    start_gunicorn keystone "$keystone_port" disco_keystone_wsgi OS_KEYSTONE_CONFIG_DIR="$etc/keystone"
}

start_heat_engine() {
    if running heat-engine && py check engine; then
        return 0
    fi
    stop_one heat-engine
    launch heat-engine "$venv/bin/python" "$lib/disco_heat_engine.py"
}

start_heat_api() {
    if running heat-api && py check heat-api; then
        return 0
    fi
    stop_one heat-api
    port_open "$heat_port" && die "port $heat_port is taken by a process this script did not start"
    start_gunicorn heat-api "$heat_port" disco_heat_wsgi
}

start_fake_services() {
    if running fake-services && py check fake-services; then
        return 0
    fi
    stop_one fake-services
    port_open "$fake_port" && die "port $fake_port is taken by a process this script did not start"
    start_gunicorn fake-services "$fake_port" disco_fake_services \
        DISCO_FAKE_INVENTORY="$state/fake-inventory.json" DISCO_FAKE_BASE="http://$host:$fake_port"
}

bootstrap_keystone() {
    local ids
    # Idempotent (~2 s): creates only what is missing.
    say "ensuring users, projects, roles, services and endpoints in Keystone"
    ids=$(py bootstrap 2>>"$logs/setup.log") || {
        show_log setup
        die "Keystone bootstrap failed"
    }
    printf '%s\n' "$ids" >"$state/ids.json"
}

id_of() {
    "$venv/bin/python" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d[sys.argv[2]][sys.argv[3]])' \
        "$state/ids.json" "$1" "$2"
}

write_client_config() {
    cat >"$state/env.sh" <<EOF
# Generated by tests/openstack/cloud.sh: the loopback test cloud.
export DISCO_OPENSTACK_STATE='$state'
export OS_AUTH_URL='$auth_url'
export OS_IDENTITY_API_VERSION=3
export OS_REGION_NAME=RegionOne
export OS_INTERFACE=public
export OS_CLIENT_CONFIG_FILE='$state/clouds.yaml'
# Heat's API root; a project's endpoint is \$HEAT_URL/<project id>.
export HEAT_URL='$heat_url'
export DISCO_TEST_ADMIN_USER=admin
export DISCO_TEST_ADMIN_PASSWORD='$admin_password'
export DISCO_TEST_ADMIN_PROJECT=admin
export DISCO_TEST_ADMIN_PROJECT_ID='$(id_of admin project_id)'
export DISCO_TEST_DEMO_USER=demo
export DISCO_TEST_DEMO_PASSWORD='$demo_password'
export DISCO_TEST_DEMO_PROJECT=demo
export DISCO_TEST_DEMO_USER_ID='$(id_of demo user_id)'
export DISCO_TEST_DEMO_PROJECT_ID='$(id_of demo project_id)'
export DISCO_TEST_OTHER_USER=other
export DISCO_TEST_OTHER_PASSWORD='$other_password'
export DISCO_TEST_OTHER_PROJECT=other
export DISCO_TEST_OTHER_USER_ID='$(id_of other user_id)'
export DISCO_TEST_OTHER_PROJECT_ID='$(id_of other project_id)'
export DISCO_TEST_DISCO_USER=disco
export DISCO_TEST_DISCO_PASSWORD='$disco_password'
export DISCO_TEST_DISCO_PROJECT=service
export DISCO_TEST_DISCO_USER_ID='$(id_of disco user_id)'
export DISCO_TEST_DISCO_PROJECT_ID='$(id_of disco project_id)'
# Names the Nova/Neutron/Glance stand-ins know ($state/fake-inventory.json).
export DISCO_TEST_IMAGE=debian-12
export DISCO_TEST_FLAVOR=m1.small
export DISCO_TEST_EXTERNAL_NETWORK=public
export DISCO_TEST_USER_DOMAIN=Default
export DISCO_TEST_PROJECT_DOMAIN=Default
EOF
    {
        echo "# Generated by tests/openstack/cloud.sh: the loopback test cloud."
        echo "clouds:"
        local entry
        for entry in "admin:admin:$admin_password" "demo:demo:$demo_password" \
            "other:other:$other_password" "disco:service:$disco_password"; do
            IFS=: read -r user project password <<<"$entry"
            cat <<EOF
  $user:
    auth:
      auth_url: $auth_url
      username: $user
      password: $password
      project_name: $project
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    identity_api_version: 3
    interface: public
EOF
        done
    } >"$state/clouds.yaml"
}

all_healthy() {
    local name
    for name in rabbitmq keystone heat-engine heat-api fake-services; do
        running "$name" || return 1
    done
    py check amqp && py check keystone && py check heat-api && py check engine &&
        py check fake-services &&
        [ -s "$state/env.sh" ] && [ -s "$state/clouds.yaml" ]
}

cmd_start() {
    local t0=$SECONDS
    mkdir -p "$state" "$run" "$logs" "$lib"
    venv=$("$here/install.sh")
    export_probe_env
    if [ -f "$lib/probe.py" ] && all_healthy; then
        say "already running (state $state)"
        return 0
    fi
    ensure_rabbitmq_installed
    write_files

    start_rabbitmq
    setup_heat &
    local heat_setup=$!
    setup_keystone
    start_keystone
    wait "$heat_setup" || die "Heat database setup failed"
    wait_for keystone 60 py check keystone
    start_fake_services
    bootstrap_keystone
    wait_for rabbitmq 90 py check amqp
    start_heat_engine
    start_heat_api
    wait_for heat-api 60 py check heat-api
    wait_for heat-engine 60 py check engine
    wait_for heat-engine 60 py check heat
    wait_for fake-services 30 py check fake-services
    write_client_config
    say "up in $((SECONDS - t0)) s: Keystone $auth_url, Heat $heat_url; source $state/env.sh"
}

cmd_stop() {
    local name
    for name in heat-api heat-engine fake-services keystone rabbitmq epmd; do
        stop_one "$name"
    done
}

cmd_status() {
    [ -f "$lib/probe.py" ] || {
        say "not set up"
        return 1
    }
    venv=$("$here/install.sh")
    export_probe_env
    local name rc=0
    for name in rabbitmq keystone heat-engine heat-api fake-services; do
        if running "$name"; then
            say "$name: running (pid $(pid_of "$name"))"
        else
            say "$name: not running"
            rc=1
        fi
    done
    local what
    for what in amqp keystone heat-api engine fake-services heat; do
        # Without an engine the end-to-end call would only wait for the RPC timeout.
        if [ "$what" = heat ] && [ "$rc" != 0 ]; then
            say "check $what: skipped"
        elif CLOUD_VERBOSE=1 py check "$what"; then
            say "check $what: ok"
        else
            say "check $what: FAILED"
            rc=1
        fi
    done
    return "$rc"
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
restart)
    cmd_stop
    cmd_start
    ;;
*)
    echo "usage: $0 start|stop|status|restart" >&2
    exit 2
    ;;
esac
