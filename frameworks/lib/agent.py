#!/usr/bin/env python3
"""disco's agent on a VM: values the master shares with the cluster, and the frameworks' hook
runs disco asks for when the cluster changes (scaling).

Usage: agent.py ADDRESS PORT

Every request must carry `X-Disco-Secret` equal to the cluster secret (compared in constant
time); anything else is 403. Routes:
  GET    /<name>          a value the master shared (a file of the share directory)
  POST   /hooks/<run>     starts a hook run: JSON {"event", "steps", "nodes"} (see
                          lib/hooks/driver.sh); 202 with the run's status. A run that is going
                          on or finished is not started again.
  GET    /hooks/<run>     the run's status (run/disco/hooks/<run>.json), 404 before it exists
  DELETE /hooks/<run>     forgets a finished run's records, so that a node of the same name
                          added later joins afresh; 409 while it runs
A request with `X-Disco-Relay: <address>` is passed, once, to the agent at that address of the
cluster's network (disco reaches the master only; the master reaches the slaves).

The node's environment (the variables the boot script gave the installers) is read from
/etc/disco/node-environment.json; values never reach a command line: the hook driver gets them
as environment variables. Files: DISCO_BOOT_ROOT (tests only) moves /etc/disco and the node.
"""
import hmac
import http.client
import http.server
import ipaddress
import json
import os
import re
import signal
import subprocess
import sys

ROOT = os.environ.get("DISCO_BOOT_ROOT", "")
RUN_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
SHARE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
EVENTS = ("join", "leave", "resume")
MAX_BODY = 64 * 1024


def load_environment():
    with open(ROOT + "/etc/disco/node-environment.json", encoding="utf-8") as f:
        values = json.load(f)
    return {k: v for k, v in values.items() if isinstance(k, str) and isinstance(v, str)}


def main():
    address, port = sys.argv[1], int(sys.argv[2])
    # Hook drivers run detached; their exit is reaped by the kernel, not waited for.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    environment = load_environment()
    with open(environment["DISCO_CLUSTER_SECRET_FILE"], "rb") as f:
        secret = f.read().strip()
    node_root = environment.get("DISCO_NODE_ROOT", "/").rstrip("/")
    share_dir = node_root + "/var/lib/disco/share"
    hooks_dir = node_root + "/run/disco/hooks"
    driver = environment["DISCO_LIB"] + "/hooks/driver.sh"
    network = ipaddress.ip_network(address + "/16", strict=False)

    class Handler(http.server.BaseHTTPRequestHandler):
        def reply(self, status, body=None):
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def allowed(self):
            given = self.headers.get("X-Disco-Secret", "").encode()
            if hmac.compare_digest(given, secret):
                return True
            self.reply(403, {"error": "wrong or missing X-Disco-Secret"})
            return False

        def body(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                raise ValueError("the request body is too large")
            return self.rfile.read(length) if length else b""

        def relayed(self, method):
            """Passes the request on to the agent at X-Disco-Relay; True if it did."""
            target = self.headers.get("X-Disco-Relay")
            if not target:
                return False
            try:
                if ipaddress.ip_address(target) not in network:
                    raise ValueError
            except ValueError:
                self.reply(400, {"error": "X-Disco-Relay must be an address of the cluster"})
                return True
            body = self.body()
            headers = {"X-Disco-Secret": secret.decode(), "Content-Type": "application/json"}
            try:
                connection = http.client.HTTPConnection(target, port, timeout=20)
                connection.request(method, self.path, body=body or None, headers=headers)
                answer = connection.getresponse()
                data = answer.read()
            except OSError as e:
                self.reply(502, {"error": "cannot reach the agent at %s: %s" % (target, e)})
                return True
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return True

        def run_name(self):
            parts = self.path.split("/")
            if len(parts) != 3 or parts[1] != "hooks" or not RUN_NAME.match(parts[2]):
                self.reply(404, {"error": "no such location"})
                return None
            return parts[2]

        def status(self, run):
            try:
                with open(os.path.join(hooks_dir, run + ".json"), encoding="utf-8") as f:
                    return json.load(f)
            except (OSError, ValueError):
                return None

        def running(self, run):
            try:
                with open(os.path.join(hooks_dir, run + ".pid"), encoding="utf-8") as f:
                    os.kill(int(f.read().strip()), 0)
                return True
            except (OSError, ValueError):
                return False

        def do_GET(self):
            if not self.allowed() or self.relayed("GET"):
                return
            if self.path.startswith("/hooks/"):
                run = self.run_name()
                if run is None:
                    return
                status = self.status(run)
                if status is None:
                    self.reply(404, {"error": "no run " + run})
                else:
                    self.reply(200, status)
                return
            name = self.path.lstrip("/")
            if not SHARE_NAME.match(name):
                self.reply(404, {"error": "no such value"})
                return
            try:
                with open(os.path.join(share_dir, name), "rb") as f:
                    data = f.read()
            except OSError:
                self.reply(404, {"error": "no such value"})
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            if not self.allowed() or self.relayed("POST"):
                return
            run = self.run_name()
            if not run:
                return
            try:
                request = json.loads(self.body() or b"{}")
                event = request["event"]
                steps = request.get("steps", "")
                nodes = request.get("nodes", "")
                if event not in EVENTS or not isinstance(steps, str) or not isinstance(nodes, str):
                    raise ValueError
            except (ValueError, KeyError, TypeError):
                self.reply(400, {"error": "expected JSON {event: join|leave|resume, steps, nodes}"})
                return
            status = self.status(run)
            if not self.running(run) and (status is None or status.get("state") == "failed"):
                os.makedirs(hooks_dir, exist_ok=True)
                os.makedirs(node_root + "/var/log/disco", exist_ok=True)
                env = dict(environment)
                env.update({"DISCO_HOOK": event, "DISCO_HOOK_RUN": run,
                            "DISCO_HOOK_STEPS": steps, "DISCO_HOOK_NODES": nodes})
                with open(os.path.join(node_root + "/var/log/disco", "hooks.out"), "ab") as out:
                    child = subprocess.Popen(["bash", driver], env=env, stdin=subprocess.DEVNULL,
                                             stdout=out, stderr=out, start_new_session=True)
                with open(os.path.join(hooks_dir, run + ".pid"), "w", encoding="utf-8") as f:
                    f.write("%d\n" % child.pid)
                status = {"state": "running", "current": "", "reason": ""}
            self.reply(202, status)

        def do_DELETE(self):
            if not self.allowed() or self.relayed("DELETE"):
                return
            run = self.run_name()
            if not run:
                return
            if self.running(run):
                self.reply(409, {"error": "the run is going on"})
                return
            for entry in os.listdir(hooks_dir) if os.path.isdir(hooks_dir) else []:
                if entry == run or entry.startswith(run + "."):
                    path = os.path.join(hooks_dir, entry)
                    if os.path.isdir(path):
                        for inner in os.listdir(path):
                            os.remove(os.path.join(path, inner))
                        os.rmdir(path)
                    else:
                        os.remove(path)
            self.reply(204)

        def handle_one_request(self):
            try:
                super().handle_one_request()
            except OSError as e:
                # The agent keeps serving; the caller learns what went wrong.
                try:
                    self.reply(500, {"error": "the agent failed: %s" % e})
                except OSError:
                    pass

        def log_message(self, *args):
            pass

    http.server.ThreadingHTTPServer((address, port), Handler).serve_forever()


if __name__ == "__main__":
    main()
