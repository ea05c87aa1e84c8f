#!/usr/bin/env python3
"""Times a local shell cluster's lifecycle against a running disco (see bench/lifecycle.sh).

Usage: lifecycle.py BASE_URL RUNS. Every timing asserts the cluster really got there (state,
generation observed, node count), so no speed is reported for a wrong answer."""
import json
import statistics
import sys
import threading
import time
import urllib.request

BASE, RUNS = sys.argv[1], int(sys.argv[2])
TENANT = {"X-Tenant-Name": "bench-life"}
KIND = 'disco; scheme="http://schemas.cloudcomplab.ch/occi/sm#"; class="kind"'
ACTION = 'scheme="http://schemas.cloudcomplab.ch/occi/sm/disco/action#"; class="action"'


def request(method, url, headers=None):
    req = urllib.request.Request(url, method=method, headers={**TENANT, **(headers or {})})
    with urllib.request.urlopen(req, timeout=30) as response:
        return response.status, response.headers, response.read().decode()


def attributes(url):
    _, _, body = request("GET", url, {"Accept": "application/occi+json"})
    return json.loads(body)["attributes"]


def settle(url, state, slaves, started):
    while True:
        a = attributes(url)
        if a["icclab.disco.state"] == "failed":
            sys.exit(f"the cluster failed: {a.get('icclab.disco.state_reason')}")
        if (a["icclab.disco.state"] == state
                and a["icclab.disco.generation"] == a["icclab.disco.observed_generation"]
                and len(a["icclab.disco.nodes"]) == slaves + 1):
            return (time.monotonic() - started) * 1000
        time.sleep(0.005)


def act(url, term, attribute=None):
    headers = {"Category": f"{term}; {ACTION}"}
    if attribute:
        headers["X-OCCI-Attribute"] = attribute
    status, _, body = request("POST", f"{url}?action={term}", headers)
    assert status == 202, body


def scale(url, slaves):
    act(url, "scale", f'icclab.disco.components.heat.slavecount="{slaves}"')


def timed(url, change, state, slaves):
    started = time.monotonic()
    change()
    return settle(url, state, slaves, started)


def stream_latency(url):
    """Time from a change's request to its event arriving on an open event stream."""
    seen = {}
    ready = threading.Event()
    _, _, body = request("GET", f"{url}/events", {"Accept": "application/json"})
    last = json.loads(body)[-1]["id"]

    def listen():
        req = urllib.request.Request(f"{url}/events", headers={**TENANT, "Accept": "text/event-stream",
                                                               "Last-Event-ID": str(last)})
        with urllib.request.urlopen(req, timeout=60) as response:
            ready.set()
            for line in response:
                if line.startswith(b"data: ") and b"update requested: title" in line:
                    seen["at"] = time.monotonic()
                    return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    ready.wait(10)
    time.sleep(0.05)
    started = time.monotonic()
    status, _, _ = request("POST", url, {"X-OCCI-Attribute": f'occi.core.title="t{started}"'})
    assert status == 202
    thread.join(10)
    return (seen["at"] - started) * 1000


def main():
    status, headers, body = request("POST", f"{BASE}/disco/", {
        "Category": KIND,
        "X-OCCI-Attribute": 'icclab.disco.components.heat.slavecount="1", '
                            "icclab.disco.dependencies.inject=\"{'shell': ''}\", "
                            'icclab.disco.components.shell.command="echo hello"'})
    assert status == 201, body
    url = headers["Location"]
    settle(url, "ready", 1, time.monotonic())
    timings = {"add 2 slaves": [], "remove 2 slaves": [], "suspend": [], "resume": [],
               "event on the stream": []}
    for _ in range(RUNS):
        timings["add 2 slaves"].append(timed(url, lambda: scale(url, 3), "ready", 3))
        timings["remove 2 slaves"].append(timed(url, lambda: scale(url, 1), "ready", 1))
        timings["suspend"].append(timed(url, lambda: act(url, "suspend"), "suspended", 1))
        timings["resume"].append(timed(url, lambda: act(url, "resume"), "ready", 1))
        timings["event on the stream"].append(stream_latency(url))
    for what, values in timings.items():
        print(f"{what:22s} median {statistics.median(values):7.1f} ms, "
              f"max {max(values):7.1f} ms ({len(values)} runs)")
    request("DELETE", url)


if __name__ == "__main__":
    main()
