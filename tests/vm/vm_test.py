#!/usr/bin/env python3
"""disco's cloud profile on real VMs: real Keystone + Heat, real cloud-init, systemd and apt.

Run by tests/vm/run.sh, which builds the image, the apt repository and the artifact mirror,
starts the test cloud and disco's binary; see tests/vm/README.md for what is real and what is
played. This script plays Nova (and Neutron's DHCP and DNS): for every server of a stack it
boots one QEMU VM with the user data real Heat rendered for that server, through real
cloud-init (NoCloud seed), and removes the VM when Heat deletes the server. Then it checks
what a user sees. It prints one line per check and ends with "N passed, N failed".

Usage: vm_test.py --image DIR --repo DIR --mirror DIR --disco BIN --cloud-state DIR
                  --work DIR [--scenario NAME]...
"""
import argparse
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import requests
import yaml

# Inside a VM the host is reached through QEMU guest forwards on this address, under this name
# (Heat names it in the wait conditions' signal URLs: cloud.sh DISCO_OPENSTACK_HEAT_PUBLIC_HOST).
CLOUD_HOST = "cloud.disco.test"
GUEST_FORWARD_ADDR = "10.0.2.100"
# The VMs' MAC addresses: the external (QEMU user network) and the cluster network NIC.
MAC_EXTERNAL = "52:54:00:12:34:{:02x}"
MAC_CLUSTER = "52:54:00:20:00:{:02x}"
# The test holds dpkg's locks once cloud-init's final stage starts (as apt-daily and
# unattended-upgrades do on a fresh image) until the installers have waited this long for them
# (however long a loaded machine takes to get there), and at most DPKG_LOCK_MAX_SECS.
DPKG_LOCK_HOLD_SECS = 20
DPKG_LOCK_MAX_SECS = 600

T0 = time.monotonic()


def log(message):
    print(f"[{time.monotonic() - T0:7.1f}s] {message}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Checks:
    """Collects named checks; a failed one is reported and counted, the run goes on."""

    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.failures = []

    def check(self, name, condition, detail=""):
        if condition:
            self.passed += 1
            print(f"ok - {name}", flush=True)
        else:
            self.failed += 1
            self.failures.append(name)
            print(f"FAILED - {name}\n    {detail}", flush=True)
        return condition


# ------------------------------------------------------------------------------------------
# The host side: files for the VMs, the cloud, disco


class FileServer:
    """Serves the apt repository (/apt/) and the artifact mirror (/mirror/) on loopback, and
    remembers every request, so the test can tell what the VMs fetched."""

    def __init__(self, root):
        self.requests = []
        server = self

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=root, **kwargs)

            def log_message(self, fmt, *args):
                pass

            def log_request(self, code="-", size="-"):
                server.requests.append((self.path, str(code)))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def fetched(self, prefix):
        return [path for path, code in self.requests if path.startswith(prefix) and code == "200"]


class Cloud:
    """The loopback test cloud of tests/openstack/cloud.sh (its env.sh)."""

    def __init__(self, state):
        self.vars = {}
        with open(os.path.join(state, "env.sh"), encoding="utf-8") as f:
            for line in f:
                if line.startswith("export ") and "=" in line:
                    key, value = line[len("export "):].strip().split("=", 1)
                    self.vars[key] = value.strip("'")
        self.auth_url = self.vars["OS_AUTH_URL"]
        self.heat_port = int(urllib.parse.urlparse(self.vars["HEAT_URL"]).port)
        self.demo = {
            "X-User-Name": self.vars["DISCO_TEST_DEMO_USER"],
            "X-Password": self.vars["DISCO_TEST_DEMO_PASSWORD"],
            "X-Tenant-Name": self.vars["DISCO_TEST_DEMO_PROJECT"],
            "X-Region-Name": "RegionOne",
        }
        self._token = None
        self._heat = None
        self._expires = 0

    def heat(self):
        """(token, Heat endpoint) of the demo user, the stacks' owner."""
        if self._token is None or time.monotonic() > self._expires:
            body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
                "name": self.vars["DISCO_TEST_DEMO_USER"],
                "password": self.vars["DISCO_TEST_DEMO_PASSWORD"],
                "domain": {"name": "Default"}}}},
                "scope": {"project": {"name": self.vars["DISCO_TEST_DEMO_PROJECT"],
                                      "domain": {"name": "Default"}}}}}
            r = requests.post(self.auth_url + "/auth/tokens", json=body, timeout=30)
            r.raise_for_status()
            self._token = r.headers["X-Subject-Token"]
            self._heat = next(
                e["url"] for s in r.json()["token"]["catalog"] if s["type"] == "orchestration"
                for e in s["endpoints"] if e["interface"] == "public")
            self._expires = time.monotonic() + 300
        return self._token, self._heat

    def get(self, path_or_url):
        token, heat = self.heat()
        url = path_or_url if path_or_url.startswith("http") else heat + path_or_url
        r = requests.get(url, headers={"X-Auth-Token": token}, timeout=30)
        return r

    def stack_names(self):
        r = self.get("/stacks")
        r.raise_for_status()
        return [s["stack_name"] for s in r.json()["stacks"]]


class Disco:
    """disco's binary with the openstack backend against the test cloud."""

    def __init__(self, binary, cloud, work, repo_root, files_port):
        self.dir = os.path.join(work, "disco")
        os.makedirs(self.dir, exist_ok=True)
        config = os.path.join(self.dir, "sm.cfg")
        with open(config, "w", encoding="utf-8") as f:
            f.write(f"""[server]
bind = 127.0.0.1:0
[store]
data_dir = {self.dir}/var
[backend]
kind = openstack
[auth]
mode = keystone
[frameworks]
dir = {repo_root}/frameworks
mirror = http://{CLOUD_HOST}:{files_port}/mirror/
[openstack]
auth_url = {cloud.auth_url}
region = RegionOne
gateway_cidr = 127.0.0.1/32
templates_dir = {repo_root}/templates/heat
environment = {repo_root}/tests/openstack/fake-infrastructure.yaml
master_image = {cloud.vars["DISCO_TEST_IMAGE"]}
slave_image = {cloud.vars["DISCO_TEST_IMAGE"]}
master_flavor = {cloud.vars["DISCO_TEST_FLAVOR"]}
slave_flavor = {cloud.vars["DISCO_TEST_FLAVOR"]}
external_network = {cloud.vars["DISCO_TEST_EXTERNAL_NETWORK"]}
ssh_user = debian
poll_min_secs = 1
poll_max_secs = 3
""")
        env = dict(os.environ)
        env.update({
            "OS_AUTH_URL": cloud.auth_url,
            "OS_USERNAME": cloud.vars["DISCO_TEST_DISCO_USER"],
            "OS_PASSWORD": cloud.vars["DISCO_TEST_DISCO_PASSWORD"],
            "OS_PROJECT_NAME": cloud.vars["DISCO_TEST_DISCO_PROJECT"],
            "OS_USER_DOMAIN_NAME": "Default",
            "OS_PROJECT_DOMAIN_NAME": "Default",
            "OS_REGION_NAME": "RegionOne",
            "DISCO_LOGGING__LEVEL": "info,disco=debug",
        })
        env.pop("OS_CLOUD", None)
        self.log_path = os.path.join(self.dir, "disco.log")
        self.stdout = open(os.path.join(self.dir, "stdout"), "w+", encoding="utf-8")
        self.process = subprocess.Popen(
            [binary, "serve", "--config", config], cwd=self.dir, env=env,
            stdout=self.stdout, stderr=open(self.log_path, "w", encoding="utf-8"))
        deadline = time.monotonic() + 60
        self.url = None
        while self.url is None:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("disco did not start:\n" + self.log_tail())
            time.sleep(0.2)
            with open(self.stdout.name, encoding="utf-8") as f:
                for line in f:
                    if line.startswith("disco listening on "):
                        self.url = line.split()[3]
        log(f"disco serves {self.url}")

    def log_tail(self, lines=60):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:])

    def create(self, headers, attributes):
        """POST /disco/ with an OCCI JSON body (so values may hold newlines)."""
        body = {"kind": "http://schemas.cloudcomplab.ch/occi/sm#disco", "attributes": attributes}
        r = requests.post(self.url + "/disco/", headers={
            **headers, "Content-Type": "application/occi+json"},
            data=json.dumps(body), timeout=60)
        if r.status_code != 201:
            raise RuntimeError(f"create: {r.status_code} {r.text}")
        return r.headers["Location"].rstrip("/").rsplit("/", 1)[-1]

    def show(self, headers, cluster):
        r = requests.get(f"{self.url}/disco/{cluster}", timeout=60,
                         headers={**headers, "Accept": "application/occi+json"})
        if r.status_code == 404:
            return None
        r.raise_for_status()
        return r.json()["attributes"]

    def delete(self, headers, cluster):
        return requests.delete(f"{self.url}/disco/{cluster}", headers=headers, timeout=60)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


# ------------------------------------------------------------------------------------------
# Playing Nova: one QEMU VM per server


class VM:
    def __init__(self, nova, cluster, server, number):
        self.nova = nova
        self.cluster = cluster
        self.server = server
        self.name = server["name"]
        self.role = server["node"]["DISCO_ROLE"]
        self.node_name = ("master" if self.role == "master"
                          else "slave-%d" % (int(server["node"]["DISCO_NODE_INDEX"]) + 1))
        self.dir = os.path.join(nova.work, "vms", f"{cluster.label}-{self.node_name}")
        os.makedirs(self.dir, exist_ok=True)
        self.number = number
        self.ssh_port = free_port()
        self.log_port = free_port()
        self.started = None
        self.ready_after = None
        self.looked = time.monotonic()
        self.last_line = ""
        self.process = None

    def seed(self):
        """The NoCloud seed: what Nova's metadata service and config drive would give."""
        server, nova = self.server, self.nova
        address = server["address"]
        with open(os.path.join(self.dir, "user-data"), "w", encoding="utf-8", newline="") as f:
            f.write(server["user_data"])      # exactly what Heat rendered
        meta = {"instance-id": server["id"], "local-hostname": self.name,
                "public-keys": [server["public_key"]]}
        with open(os.path.join(self.dir, "meta-data"), "w", encoding="utf-8") as f:
            yaml.safe_dump(meta, f)
        network = {"version": 1, "config": [
            {"type": "physical", "name": "ext0", "mac_address": MAC_EXTERNAL.format(self.number),
             "subnets": [{"type": "dhcp"}]},
            {"type": "physical", "name": "cluster0",
             "mac_address": MAC_CLUSTER.format(self.number),
             "subnets": [{"type": "static", "address": f"{address}/16"}]}]}
        with open(os.path.join(self.dir, "network-config"), "w", encoding="utf-8") as f:
            yaml.safe_dump(network, f)
        # Vendor data, the cloud's own part: its DNS name for the host side, its package
        # mirror, and a fresh image's apt-daily holding dpkg's locks as the final stage starts.
        cloud_config = {
            "bootcmd": [["sh", "-c", f"grep -q ' {CLOUD_HOST}$' /etc/hosts || "
                         f"echo '{GUEST_FORWARD_ADDR} {CLOUD_HOST}' >> /etc/hosts"],
                        # Emulation (TCG) makes the JIT's top tier cost minutes per JVM start:
                        # every service and script of this boot runs Java with C1 only.
                        ["systemctl", "set-environment",
                         "JAVA_TOOL_OPTIONS=-XX:TieredStopAtLevel=1"]],
            "apt": {"preserve_sources_list": False, "sources_list":
                    f"deb [trusted=yes] http://{CLOUD_HOST}:{nova.files.port}/apt/ ./\n"},
            # The test's own key, to collect a VM's logs whatever disco says (the checks log
            # in with the cluster's key only).
            "ssh_authorized_keys": [nova.debug_public_key],
        }
        hold = f"""#!/bin/sh
# disco VM test: plays apt-daily/unattended-upgrades on a fresh image.
systemd-run --unit=disco-test-dpkg-lock --collect python3 -c '
import fcntl, os, time
fds = []
for path in ("/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock",
             "/var/lib/apt/lists/lock", "/var/cache/apt/archives/lock"):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    fcntl.lockf(fd, fcntl.LOCK_EX)
    fds.append(fd)
open("/run/disco-test-dpkg-lock", "w").write(str(time.time()))
deadline = time.time() + {DPKG_LOCK_MAX_SECS}
waited_since = None
while time.time() < deadline:
    try:
        log = open("/var/log/disco/deployment.log").read()
    except OSError:
        log = ""
    if "waiting for the dpkg lock" in log:
        waited_since = waited_since or time.time()
        if time.time() - waited_since >= {DPKG_LOCK_HOLD_SECS}:
            break
    time.sleep(0.5)
'
i=0
while [ ! -e /run/disco-test-dpkg-lock ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
"""
        vendor = MIMEMultipart()
        vendor.attach(MIMEText("#cloud-config\n" + yaml.safe_dump(cloud_config), "cloud-config"))
        vendor.attach(MIMEText(hold, "x-shellscript"))
        with open(os.path.join(self.dir, "vendor-data"), "w", encoding="utf-8") as f:
            f.write(vendor.as_string())
        iso = os.path.join(self.dir, "seed.iso")
        subprocess.run(["genisoimage", "-quiet", "-V", "cidata", "-r", "-J", "-o", iso,
                        "user-data", "meta-data", "network-config", "vendor-data"],
                       cwd=self.dir, check=True)
        return iso

    def boot(self):
        nova = self.nova
        iso = self.seed()
        disk = os.path.join(self.dir, "disk.qcow2")
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b",
                        os.path.join(nova.image, "base.img"), disk], check=True)
        forwards = [f"hostfwd=tcp:127.0.0.1:{self.ssh_port}-:22"]
        if self.role == "master":
            # As the floating IP would: the deployment log server on the master's address.
            forwards.append(
                f"hostfwd=tcp:127.0.0.1:{self.log_port}-{self.server['address']}:8084")
        for port in (nova.cloud.heat_port, nova.files.port):
            forwards.append(
                f"guestfwd=tcp:{GUEST_FORWARD_ADDR}:{port}-cmd:socat - TCP:127.0.0.1:{port}")
        local, remote = self.cluster.dgram_ports(self.role)
        memory = "3072" if self.role == "master" else "2048"
        command = [
            "qemu-system-x86_64", "-accel", "tcg,tb-size=128", "-m", memory, "-smp", "1",
            "-nodefaults", "-display", "none", "-no-reboot",
            "-serial", "file:" + os.path.join(self.dir, "console.log"),
            "-kernel", os.path.join(nova.image, "vmlinuz"),
            "-initrd", os.path.join(nova.image, "initrd.img"),
            "-append", "root=/dev/vda rw console=ttyS0 quiet",
            "-drive", f"file={disk},if=virtio,format=qcow2",
            "-drive", f"file={iso},if=virtio,format=raw,readonly=on",
            "-netdev", "user,id=ext,restrict=on," + ",".join(forwards),
            "-device", f"virtio-net-pci,netdev=ext,mac={MAC_EXTERNAL.format(self.number)}",
            # The cluster network (Neutron's): the VMs of one cluster, and nothing else.
            "-netdev", "dgram,id=cluster,local.type=inet,local.host=127.0.0.1,"
                       f"local.port={local},remote.type=inet,remote.host=127.0.0.1,"
                       f"remote.port={remote}",
            "-device", f"virtio-net-pci,netdev=cluster,mac={MAC_CLUSTER.format(self.number)}",
        ]
        self.started = time.monotonic()
        self.looked = self.started + 60   # no look into a VM before it has booted
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL,
            stdout=open(os.path.join(self.dir, "qemu.log"), "w", encoding="utf-8"),
            stderr=subprocess.STDOUT, start_new_session=True)
        log(f"{self.cluster.label}: booted {self.node_name} ({self.name}, "
            f"{self.server['address']}) pid {self.process.pid}, ssh 127.0.0.1:{self.ssh_port}, "
            f"user data {len(self.server['user_data'])} bytes")

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def stop(self):
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        disk = os.path.join(self.dir, "disk.qcow2")
        if os.path.exists(disk):
            os.remove(disk)

    def console_tail(self, lines=30):
        try:
            with open(os.path.join(self.dir, "console.log"), encoding="utf-8",
                      errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""


class Cluster:
    def __init__(self, label, stack_name):
        self.label = label
        self.stack = stack_name
        self.vms = {}            # server id -> VM
        self._ports = (free_port(), free_port())
        self.created = time.monotonic()

    def dgram_ports(self, role):
        master, slave = self._ports
        return (master, slave) if role == "master" else (slave, master)

    def vm(self, node_name):
        return next((vm for vm in self.vms.values() if vm.node_name == node_name), None)


class Nova:
    """Watches the clusters' stacks: boots a VM for every new server, stops a VM whose server
    Heat deleted, and notes when each node's wait condition completed."""

    def __init__(self, cloud, image, files, work):
        self.cloud = cloud
        self.image = image
        self.files = files
        self.work = work
        self.clusters = []
        self.numbers = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.errors = []
        self.debug_key = os.path.join(work, "debug.key")
        if not os.path.exists(self.debug_key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "disco-vm-test",
                            "-f", self.debug_key], check=True)
        with open(self.debug_key + ".pub", encoding="utf-8") as f:
            self.debug_public_key = f.read().strip()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def watch(self, cluster):
        with self.lock:
            self.clusters.append(cluster)

    def run(self):
        while not self.stopping.is_set():
            with self.lock:
                clusters = list(self.clusters)
            for cluster in clusters:
                try:
                    self.look(cluster)
                except Exception as ex:  # noqa: BLE001 - reported, the watch goes on
                    self.errors.append(f"{cluster.label}: {ex!r}")
                    log(f"nova: {cluster.label}: {ex!r}")
            self.stopping.wait(1)

    def look(self, cluster):
        r = self.cloud.get(f"/stacks/{cluster.stack}/resources?nested_depth=3")
        if r.status_code == 404:
            resources = []
        else:
            r.raise_for_status()
            resources = r.json()["resources"]
        # A server exists from its creation until its deletion, whatever Heat does with it
        # meanwhile (CHECK_COMPLETE after disco's health checks, UPDATE_*, SUSPEND_*, ...).
        servers = {res["physical_resource_id"]: res for res in resources
                   if res["resource_type"] == "OS::Nova::Server"
                   and not res["resource_status"].startswith(("DELETE", "INIT"))
                   and res["resource_status"] not in ("CREATE_IN_PROGRESS", "CREATE_FAILED")}
        for server_id, res in servers.items():
            if server_id not in cluster.vms:
                server = self.describe(res, resources)
                self.numbers += 1
                vm = VM(self, cluster, server, self.numbers)
                cluster.vms[server_id] = vm
                vm.boot()
        for server_id, vm in list(cluster.vms.items()):
            if server_id not in servers and vm.alive():
                log(f"{cluster.label}: Heat deleted {vm.node_name}'s server: stopping its VM")
                vm.stop()
        # What each VM's installers are doing, now and then (with the test's own key).
        for vm in cluster.vms.values():
            if vm.alive() and time.monotonic() - vm.looked > 45:
                vm.looked = time.monotonic()
                r = ssh(self.debug_key, vm.ssh_port,
                        "tail -n 1 /var/log/disco/deployment.log 2>/dev/null", timeout=60)
                line = r.stdout.strip()
                if r.returncode == 0 and line and line != vm.last_line:
                    vm.last_line = line
                    log(f"{cluster.label}: {vm.node_name}: {line}")
        # Boot to ready: when the node's wait condition completed (its installers signalled).
        for res in resources:
            if res["resource_type"] == "OS::Heat::WaitCondition" and \
                    res["resource_status"] == "CREATE_COMPLETE":
                owner = self.owner(res)
                for vm in cluster.vms.values():
                    if vm.ready_after is None and vm.server["owner"] == owner:
                        vm.ready_after = time.monotonic() - vm.started
                        log(f"{cluster.label}: {vm.node_name} signalled its wait condition "
                            f"{vm.ready_after:.0f} s after QEMU started")

    @staticmethod
    def owner(res):
        return next(link["href"] for link in res["links"] if link["rel"] == "stack")

    def describe(self, res, resources):
        """What Nova would know of a server: its user data, key pair and port's address."""
        owner = self.owner(res)
        shown = self.cloud.get(f"{owner}/resources/{res['resource_name']}").json()["resource"]
        config_id = shown["attributes"]["user_data"]
        config = self.cloud.get(f"/software_configs/{config_id}").json()["software_config"]
        user_data = config["config"]
        # The key pair and the port live in the top stack (master) or the slave's own stack.
        key_pair = next(r for r in resources if r["resource_type"] == "OS::Nova::KeyPair")
        public_key = self.cloud.get(
            f"{self.owner(key_pair)}/resources/{key_pair['resource_name']}"
        ).json()["resource"]["attributes"]["public_key"]
        port = next(r for r in resources if r["resource_type"] == "OS::Neutron::Port"
                    and self.owner(r) == owner)
        fixed_ips = self.cloud.get(f"{owner}/resources/{port['resource_name']}").json()[
            "resource"]["attributes"]["fixed_ips"]
        node = None
        for entry in yaml.safe_load(cloud_config_part(user_data)).get("write_files", []):
            if entry["path"] == "/etc/disco/node.json":
                node = json.loads(entry["content"])
        name = shown["attributes"].get("name") or res["resource_name"]
        return {"id": res["physical_resource_id"], "name": name, "owner": owner,
                "user_data": user_data, "public_key": public_key,
                "address": fixed_ips[0]["ip_address"], "node": node}

    def stop(self):
        self.stopping.set()
        self.thread.join(15)
        for cluster in self.clusters:
            for vm in cluster.vms.values():
                vm.stop()


def cloud_config_part(user_data):
    import email
    message = email.message_from_string(user_data)
    for part in message.walk():
        payload = part.get_payload(decode=True)
        if payload and payload.startswith(b"#cloud-config"):
            return payload.decode()
    raise ValueError("no cloud-config part in the user data")


# ------------------------------------------------------------------------------------------
# What a user does and sees


def wait_for_state(disco, headers, cluster, states, seconds):
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        attributes = disco.show(headers, cluster)
        state = attributes and attributes.get("icclab.disco.state")
        if attributes and attributes.get("icclab.disco.progress") != (last or {}).get(
                "icclab.disco.progress"):
            log(f"cluster {cluster}: {state}: {attributes.get('icclab.disco.progress')}")
        last = attributes
        if state in states:
            return attributes
        time.sleep(2)
    return last


def wait_gone(disco, headers, cluster, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if disco.show(headers, cluster) is None:
            return True
        time.sleep(2)
    return False


def ssh(key_file, port, command, timeout=600):
    """Runs command on a VM as the image's cloud-init user, through the forwarded port."""
    return subprocess.run(
        ["ssh", "-i", key_file, "-p", str(port), "-o", "StrictHostKeyChecking=no",
         "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
         "-o", "ConnectTimeout=20", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
         "debian@127.0.0.1", command],
        capture_output=True, text=True, timeout=timeout)


# The hostile command: quotes of both kinds, $(…), backticks, ${…} and newlines. It is the
# user's program, so bash runs it as it stands; nothing on the way may change it. Its effect
# (the file) is compared with the same command run here.
HOSTILE_COMMAND = r"""out="${DISCO_HOSTILE_OUT:-/var/tmp/disco-hostile}"
printf '%s\n' "it's \"double\" and 'single'" 'kept: $(touch /tmp/pwned-single) `id`' > "$out"
printf 'ran: %s\n' "$(echo sub shell)" >> "$out"
echo 'braces ${HOME} %index% INDEX @disco-index@ {{ x }} {% raw %}' >> "$out"
echo "node: $DISCO_NODE_NAME" >> "$out"
echo "hostile command done on $DISCO_NODE_NAME"
"""
# Names with the same (disco refuses control characters in names, so no newlines): they travel
# as Heat parameters (network name) or stay in disco (title).
HOSTILE_NETWORK = "net \"$(touch /tmp/pwned-net)\" 'x' `id` ; ${HOME} %index%"
HOSTILE_TITLE = "it's \"$(touch /tmp/pwned-title)\" `id` ${HOME} {{ x }}"
FAILING_COMMAND = "echo starting the job\necho 'input.csv: no such file' >&2\n" \
                  "echo 'giving up: the last words'\nexit 3\n"


def expected_hostile_effect(node_name):
    """The file the hostile command writes, from running it here with bash."""
    with tempfile_dir() as d:
        out = os.path.join(d, "out")
        env = {"PATH": os.environ["PATH"], "DISCO_HOSTILE_OUT": out, "DISCO_NODE_NAME": node_name,
               "HOME": "/root"}
        subprocess.run(["bash", "-c", HOSTILE_COMMAND], env=env, cwd=d, check=True,
                       capture_output=True)
        with open(out, encoding="utf-8") as f:
            return f.read()


class tempfile_dir:
    def __enter__(self):
        import tempfile
        self.path = tempfile.mkdtemp(prefix="disco-vm-")
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def scenario_cluster(args, checks, disco, cloud, nova, files):
    """A master and a slave with base, shell (hostile command) and, if asked, Spark."""
    demo = cloud.demo
    frameworks = {"shell": ""}
    attributes = {
        "icclab.disco.components.heat.slavecount": 1,
        "icclab.disco.components.shell.command": HOSTILE_COMMAND,
        "icclab.disco.components.heat.networkname": HOSTILE_NETWORK,
        "occi.core.title": HOSTILE_TITLE,
    }
    with open(os.path.join(args.mirror, "SHA256SUMS"), encoding="utf-8") as f:
        spark_sha256, spark_tarball = f.read().split()
    if args.spark:
        frameworks["spark"] = ""
        # The checksum reaches the installer as a user gives it: a parameter.
        attributes["icclab.disco.components.spark.sha256"] = spark_sha256
        attributes["icclab.disco.components.spark.worker_memory"] = "512m"
        # One JVM fewer on an emulated CPU (a user's parameter like the others).
        attributes["icclab.disco.components.spark.history_server"] = False
    attributes["icclab.disco.dependencies.inject"] = json.dumps(frameworks)
    created = time.monotonic()
    cluster_id = disco.create(demo, attributes)
    stack = "disco-" + cluster_id.replace("-", "")
    cluster = Cluster("cluster", stack)
    nova.watch(cluster)
    log(f"created cluster {cluster_id} (stack {stack}), frameworks {sorted(frameworks)}")

    ready = wait_for_state(disco, demo, cluster_id, ("ready", "failed"), args.build_timeout)
    ready_secs = time.monotonic() - created
    state = ready and ready.get("icclab.disco.state")
    if not checks.check("the cluster is ready (real cloud-init, systemd, apt, installers, "
                        f"wait conditions) in {ready_secs:.0f} s", state == "ready",
                        f"{json.dumps(ready, indent=1)}\n{disco.log_tail()}\n" + "".join(
                            f"--- {vm.node_name} console\n{vm.console_tail()}"
                            for vm in cluster.vms.values())):
        collect_logs(cluster)
        delete_cluster(checks, disco, cloud, demo, cluster_id, cluster)
        return
    results = {"cluster_ready_secs": round(ready_secs)}
    for vm in cluster.vms.values():
        results[f"{vm.node_name}_boot_to_ready_secs"] = (
            round(vm.ready_after) if vm.ready_after else None)
        results[f"{vm.node_name}_user_data_bytes"] = len(vm.server["user_data"])
    checks.check("disco reports the outputs", ready.get("external_ip") == "203.0.113.10"
                 and ready.get("stack_status") == "CREATE_COMPLETE"
                 and ready.get("icclab.disco.ssh_user") == "debian"
                 and "PRIVATE KEY" in ready.get("ssh_private_key", ""), json.dumps(ready))
    shown = cloud.get(f"/stacks/{stack}")
    parameters = shown.json()["stack"]["parameters"] if shown.ok else {}
    checks.check("hostile names stay values: the title as given, the network name as one "
                 "Heat parameter", ready.get("occi.core.title") == HOSTILE_TITLE
                 and parameters.get("network_name") == HOSTILE_NETWORK,
                 f"{ready.get('occi.core.title')!r} {parameters.get('network_name')!r}")
    checks.check("two VMs were booted, one per server", sorted(
        vm.node_name for vm in cluster.vms.values()) == ["master", "slave-1"],
        str([vm.node_name for vm in cluster.vms.values()]))

    key_file = os.path.join(args.work, "cluster.key")
    with open(key_file, "w", encoding="utf-8") as f:
        f.write(ready.get("ssh_private_key", ""))
    os.chmod(key_file, 0o600)
    master = cluster.vm("master")
    slave = cluster.vm("slave-1")

    # ssh with the key from GET /disco/<id>, through the forwarded port.
    r = ssh(key_file, master.ssh_port, "hostname; cat /var/log/disco/status.json; "
            "cloud-init status; sudo systemctl is-active disco-logserver")
    checks.check("ssh into the master VM with the cluster's key works",
                  r.returncode == 0 and '"state":"ready"' in r.stdout
                  and "status: done" in r.stdout and "active" in r.stdout,
                  f"rc {r.returncode}\n{r.stdout}\n{r.stderr}")

    # disco's agent runs on the master and answers only the cluster's secret.
    r = ssh(key_file, master.ssh_port,
            "sudo systemctl is-active disco-agent; "
            "sudo curl -s -o /dev/null -w 'with:%{http_code} ' -H @/etc/disco/cluster.secret.header "
            "http://10.20.0.10:8085/hooks/nothing; "
            "curl -s -o /dev/null -w 'without:%{http_code}' http://10.20.0.10:8085/hooks/nothing")
    checks.check("disco's agent runs on the master and answers only the cluster's secret",
                  r.returncode == 0 and "active" in r.stdout
                  and "with:404" in r.stdout and "without:403" in r.stdout,
                  f"rc {r.returncode}\n{r.stdout}\n{r.stderr}")

    # The master's :8084, as the floating IP would show it.
    base = f"http://127.0.0.1:{master.log_port}"
    try:
        index = requests.get(base + "/", timeout=30).text
        deployment = requests.get(base + "/deployment.log", timeout=30).text
        status = requests.get(base + "/status.json", timeout=30).json()
    except Exception as ex:  # noqa: BLE001 - the check says what failed
        index, deployment, status = "", f"{ex!r}", {}
    checks.check(":8084 on the master lists deployment.log and status.json",
                 "deployment.log" in index and "status.json" in index, index)
    checks.check(":8084 status.json says ready with every framework done",
                 status.get("state") == "ready" and "shell" in status.get("done", [])
                 and "base" in status.get("done", []), json.dumps(status))
    checks.check("the package lists were refreshed before the first install (the image has "
                 "none)", "refreshing the package lists" in deployment
                 and deployment.index("refreshing the package lists")
                 < deployment.index("installing packages"), deployment)
    checks.check(f"the installers waited {DPKG_LOCK_HOLD_SECS} s for the dpkg lock held at "
                 "boot, then went on", "waiting for the dpkg lock" in deployment
                 and "got the dpkg lock after waiting" in deployment, deployment)
    checks.check("the node reached ready", "the node is ready" in deployment, deployment)
    checks.check("the VMs took their packages from the local apt repository",
                 any(p.endswith("/Packages.gz") or p.endswith("/Packages")
                     for p in files.fetched("/apt/")), str(files.requests[-20:]))

    # The hostile command did exactly what it says, on both nodes, and nothing else ran.
    for vm in (master, slave):
        r = ssh(key_file, vm.ssh_port, "cat /var/tmp/disco-hostile; "
                "ls /tmp/pwned-* 2>/dev/null; echo END")
        expected = expected_hostile_effect(vm.node_name)
        checks.check(f"the hostile command's effect on {vm.node_name} is exactly the "
                     "command's", r.returncode == 0 and r.stdout == expected + "END\n",
                     f"expected:\n{expected}got:\n{r.stdout}\n{r.stderr}")
    r = ssh(key_file, slave.ssh_port, "cat /var/log/disco/deployment.log")
    checks.check("the slave refreshed its lists, waited for the lock and got ready",
                 "refreshing the package lists" in r.stdout and
                 "waiting for the dpkg lock" in r.stdout and "the node is ready" in r.stdout,
                 r.stdout + r.stderr)

    if args.spark:
        checks.check("Spark came from the local mirror, checked against the given SHA-256",
                     f"/mirror/{spark_tarball}" in files.fetched("/mirror/")
                     and f"downloading http://{CLOUD_HOST}:{files.port}/mirror/{spark_tarball}"
                     in deployment, f"{files.fetched('/mirror/')}\n{deployment}")
        t = time.monotonic()
        r = ssh(key_file, master.ssh_port,
                "bash -lc 'spark-submit \"$SPARK_HOME/examples/src/main/python/pi.py\" 4' "
                "2>&1 | tail -n 40", timeout=1200)
        results["sparkpi_secs"] = round(time.monotonic() - t)
        checks.check(f"SparkPi submitted on the master VM completes "
                     f"({results['sparkpi_secs']} s)", "Pi is roughly 3.1" in r.stdout,
                     r.stdout + r.stderr)

    collect_logs(cluster)
    delete_cluster(checks, disco, cloud, demo, cluster_id, cluster)
    log("measurements: " + json.dumps(results))
    return results


def scenario_failing(args, checks, disco, cloud, nova, files):
    """A master alone whose shell.command exits non-zero: the cluster fails with a reason
    naming the node, the framework and the command's last output lines."""
    demo = cloud.demo
    attributes = {
        "icclab.disco.components.heat.slavecount": 0,
        "icclab.disco.dependencies.inject": "{'shell': ''}",
        "icclab.disco.components.shell.command": FAILING_COMMAND,
    }
    created = time.monotonic()
    cluster_id = disco.create(demo, attributes)
    cluster = Cluster("failing", "disco-" + cluster_id.replace("-", ""))
    nova.watch(cluster)
    log(f"created cluster {cluster_id} whose command exits 3")
    failed = wait_for_state(disco, demo, cluster_id, ("ready", "failed"), args.build_timeout)
    reason = (failed or {}).get("icclab.disco.state_reason", "")
    log(f"failing: state_reason: {reason}")
    checks.check(f"the cluster whose command exits 3 ends failed "
                 f"({time.monotonic() - created:.0f} s)",
                 (failed or {}).get("icclab.disco.state") == "failed", json.dumps(failed))
    checks.check("its reason names the node, the framework and the command's last lines",
                 "master" in reason and "shell" in reason and "status 3" in reason
                 and "giving up: the last words" in reason
                 and "input.csv: no such file" in reason, reason)
    collect_logs(cluster)
    delete_cluster(checks, disco, cloud, demo, cluster_id, cluster)


def collect_logs(cluster):
    """Each VM's logs into its directory (with the test's own key), for a reader of a failure."""
    for vm in cluster.vms.values():
        if vm.alive():
            r = ssh(vm.nova.debug_key, vm.ssh_port, "sudo tail -n 300 /var/log/disco/*.log "
                    "/var/log/disco/*.json /var/log/cloud-init-output.log 2>&1", timeout=120)
            with open(os.path.join(vm.dir, "guest-logs.txt"), "w", encoding="utf-8") as f:
                f.write(r.stdout + r.stderr)


def delete_cluster(checks, disco, cloud, headers, cluster_id, cluster):
    r = disco.delete(headers, cluster_id)
    gone = r.status_code == 200 and wait_gone(disco, headers, cluster_id, 300)
    checks.check(f"{cluster.label}: delete answers 200 and the cluster goes", gone,
                 f"{r.status_code} {r.text}")
    stacks = cloud.stack_names()
    checks.check(f"{cluster.label}: no stack is left in Heat", cluster.stack not in stacks,
                 str(stacks))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(vm.alive() for vm in cluster.vms.values()):
        time.sleep(1)
    checks.check(f"{cluster.label}: no VM is left running (each went with its server)",
                 not any(vm.alive() for vm in cluster.vms.values()),
                 str([vm.node_name for vm in cluster.vms.values() if vm.alive()]))


def main():
    parser = argparse.ArgumentParser()
    for name in ("image", "repo", "mirror", "disco", "cloud-state", "work", "repo-root"):
        parser.add_argument("--" + name, required=True)
    parser.add_argument("--spark", action="store_true")
    parser.add_argument("--scenario", action="append", choices=["cluster", "failing"])
    parser.add_argument("--build-timeout", type=int, default=1200)
    args = parser.parse_args()
    # Stopped from outside, it still stops its VMs and disco (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    scenarios = args.scenario or ["cluster", "failing"]
    os.makedirs(args.work, exist_ok=True)

    www = os.path.join(args.work, "www")
    os.makedirs(www, exist_ok=True)
    for name, target in (("apt", args.repo), ("mirror", args.mirror)):
        link = os.path.join(www, name)
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(target, link)
    files = FileServer(www)
    cloud = Cloud(args.cloud_state)
    checks = Checks()
    disco = Disco(args.disco, cloud, args.work, args.repo_root, files.port)
    nova = Nova(cloud, args.image, files, args.work)
    results = {}
    try:
        threads = []
        outcome = {}
        for name, run in (("cluster", scenario_cluster), ("failing", scenario_failing)):
            if name not in scenarios:
                continue

            def target(name=name, run=run):
                try:
                    outcome[name] = run(args, checks, disco, cloud, nova, files)
                except Exception:  # noqa: BLE001 - a crash is a failed check
                    checks.check(f"scenario {name} ran to its end", False,
                                 traceback.format_exc())
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            threads.append(thread)
            time.sleep(1)
        for thread in threads:
            thread.join()
        results = outcome.get("cluster") or {}
        checks.check("the VM player met no error", not nova.errors, "\n".join(nova.errors))
    finally:
        nova.stop()
        disco.stop()
    left = subprocess.run(["pgrep", "-f", f"qemu-system-x86_64.*{args.work}"],
                          capture_output=True, text=True).stdout.split()
    checks.check("no QEMU process is left", not left, str(left))
    with open(os.path.join(args.work, "results.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1)
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
