#!/usr/bin/env python3
"""Plays the part of a cluster's VMs on the loopback test cloud, which has no Nova.

For every server of the stack (found through Heat's API as its owner sees it), reads the user
data Heat rendered for it (the software config its `user_data` names), takes the wait
condition's URL and token header from the cloud-config `write_files` exactly where cloud-init
would write them, and signals with curl as frameworks/lib/runtime.sh's disco_signal does.

Usage: play_vms.py STACK_NAME EXPECTED_SERVERS [SUCCESS|FAILURE] [REASON] [master|slave|all|NODE]
(the last argument picks the servers of one role, or one node such as slave-2, to signal; all
by default).
Environment: OS_AUTH_URL and the owner's OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME.
Prints one JSON line per signalled server: {"signalled", "server", "node" (its node.json),
"environment" (its environment.json), "user_data_bytes" (its user data, base64, as Nova
gets it)}; exits 1 if not all servers appear within 60 s.
"""
import base64
import email
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml


def call(method, url, token=None, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    request.add_header("Accept", "application/json")
    if token:
        request.add_header("X-Auth-Token", token)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.headers, json.loads(response.read() or b"null")


def authenticate():
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": os.environ["OS_USERNAME"], "password": os.environ["OS_PASSWORD"],
        "domain": {"name": "Default"}}}},
        "scope": {"project": {"name": os.environ["OS_PROJECT_NAME"], "domain": {"name": "Default"}}}}}
    headers, token = call("POST", os.environ["OS_AUTH_URL"] + "/auth/tokens", body=body)
    for service in token["token"]["catalog"]:
        if service["type"] == "orchestration":
            for endpoint in service["endpoints"]:
                if endpoint["interface"] == "public":
                    return headers["X-Subject-Token"], endpoint["url"]
    sys.exit("no orchestration endpoint")


def servers(heat, token, stack_name):
    _, body = call("GET", f"{heat}/stacks/{stack_name}/resources?nested_depth=3", token)
    found = []
    for resource in body["resources"]:
        if resource["resource_type"] != "OS::Nova::Server":
            continue
        if resource["resource_status"] != "CREATE_COMPLETE":
            continue
        owner = next(link["href"] for link in resource["links"] if link["rel"] == "stack")
        found.append((owner, resource["resource_name"]))
    return found


def write_files(heat, token, owner, name):
    """The files cloud-init would write on this server, path -> content."""
    _, shown = call("GET", f"{owner}/resources/{name}", token)
    config_id = shown["resource"]["attributes"]["user_data"]
    _, config = call("GET", f"{heat}/software_configs/{config_id}", token)
    text = config["software_config"]["config"]
    message = email.message_from_string(text)
    # What Nova gets: the user data base64-encoded (its limit is 65535 bytes of that).
    files = {"nova-user-data-bytes": len(base64.b64encode(text.encode()))}
    for part in message.walk():
        payload = part.get_payload(decode=True)
        if payload and payload.startswith(b"#cloud-config"):
            for entry in yaml.safe_load(payload).get("write_files", []):
                files[entry["path"]] = entry.get("content", "")
    return files


def main():
    stack_name, expected = sys.argv[1], int(sys.argv[2])
    status = sys.argv[3] if len(sys.argv) > 3 else "SUCCESS"
    reason = sys.argv[4] if len(sys.argv) > 4 else "ready"
    role = sys.argv[5] if len(sys.argv) > 5 else "all"
    token, heat = authenticate()
    deadline = time.time() + 60
    while True:
        found = servers(heat, token, stack_name)
        if len(found) >= expected:
            break
        if time.time() > deadline:
            sys.exit(f"only {len(found)} of {expected} servers appeared")
        time.sleep(1)
    for owner, name in found:
        files = write_files(heat, token, owner, name)
        node = json.loads(files["/etc/disco/node.json"])
        if node["DISCO_ROLE"] == "master":
            node_name = "master"
        else:
            node_name = "slave-%d" % (int(node["DISCO_NODE_INDEX"]) + 1)
        if role not in ("all", node["DISCO_ROLE"], node_name):
            continue
        with tempfile.NamedTemporaryFile("w", suffix=".header") as header:
            header.write(files["/etc/disco/signal.header"])
            header.flush()
            body = json.dumps({"status": status, "reason": reason, "id": node["DISCO_ROLE"]})
            subprocess.run(["curl", "-fsS", "--retry", "5", "-X", "POST",
                            "-H", "Content-Type: application/json", "-H", "@" + header.name,
                            "--data-binary", body, files["/etc/disco/signal.url"]],
                           check=True, stdout=subprocess.DEVNULL)
        print(json.dumps({"signalled": status, "server": name, "node": node,
                          "environment": files["/etc/disco/environment.json"],
                          "user_data_bytes": files["nova-user-data-bytes"]}))


if __name__ == "__main__":
    main()
