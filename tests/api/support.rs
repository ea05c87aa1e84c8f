//! A real disco server on a free port, with its own data directory and loopback range, and
//! the clients the tests talk to it with.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub const KIND: &str = r#"disco; scheme="http://schemas.cloudcomplab.ch/occi/sm#"; class="kind";"#;

static NEXT_RANGE: AtomicU32 = AtomicU32::new(0);

/// Options for a test server.
#[derive(Clone)]
pub struct ServerOptions {
    pub max_slavecount: u32,
    pub extra_config: String,
    /// Environment variables for the server process (e.g. OS_* for its own identity).
    pub env: Vec<(String, String)>,
    /// A framework catalog of the test's own instead of the repository's `frameworks/`.
    pub frameworks_dir: Option<PathBuf>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            max_slavecount: 4,
            extra_config: String::new(),
            env: Vec::new(),
            frameworks_dir: None,
        }
    }
}

pub struct TestServer {
    pub address: SocketAddr,
    pub data_dir: tempfile::TempDir,
    pub config_path: PathBuf,
    /// First octets of this server's node range, e.g. 127.120.7.
    pub range_prefix: [u8; 3],
    env: Vec<(String, String)>,
    child: Option<Child>,
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl TestServer {
    pub fn start() -> TestServer {
        TestServer::start_with(ServerOptions::default())
    }

    pub fn start_with(options: ServerOptions) -> TestServer {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let n = NEXT_RANGE.fetch_add(1, Ordering::SeqCst);
        let range_prefix = [127, 100 + (n % 100) as u8, (std::process::id() % 250) as u8];
        let config_path = data_dir.path().join("sm.cfg");
        let config = format!(
            "[server]\nbind = 127.0.0.1:0\nworkers = 2\n\
             [store]\ndata_dir = {data}\n\
             [limits]\nmax_slavecount = {max}\n\
             [lifecycle]\ntick_ms = 50\nstop_grace_secs = 2\n\
             [local]\naddress_range = {a}.{b}.{c}.0/24\n\
             [frameworks]\ndir = {frameworks}\n\
             [logging]\nlevel = info\n{extra}",
            data = data_dir.path().join("var").display(),
            max = options.max_slavecount,
            a = range_prefix[0],
            b = range_prefix[1],
            c = range_prefix[2],
            frameworks = options
                .frameworks_dir
                .clone()
                .unwrap_or_else(|| repo_root().join("frameworks"))
                .display(),
            extra = options.extra_config,
        );
        std::fs::write(&config_path, config).expect("write config");
        let mut server = TestServer {
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            config_path,
            range_prefix,
            env: options.env.clone(),
            child: None,
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_disco"))
            .arg("serve")
            .arg("--config")
            .arg(&self.config_path)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(self.data_dir.path())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(self.data_dir.path().join("server.log")).expect("log"))
            .spawn()
            .expect("start disco");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read start-up line");
        let address = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in start-up line `{line}`: {}", self.log()));
        self.address = address;
        self.child = Some(child);
    }

    /// The server process's PID, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// `kill -9` the server, as a crash would.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same data directory and configuration.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.path().join("server.log")).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// `host:port` as it appears in URLs, for replaying commands with only host/port changed.
    pub fn host_port(&self) -> String {
        self.address.to_string()
    }

    pub fn clusters_dir(&self) -> PathBuf {
        self.data_dir.path().join("var/clusters")
    }

    pub fn node_address(&self, index: u8) -> Ipv4Addr {
        let [a, b, c] = self.range_prefix;
        Ipv4Addr::new(a, b, c, index + 1)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill9();
        // Clusters outlive their server by design; a test's leftovers must not outlive it.
        // A daemon forked just before the server died (sshd) may appear after a first look:
        // look until two looks in a row find nothing.
        let marker = self.data_dir.path().display().to_string();
        let mut quiet = 0;
        for _ in 0..50 {
            let found = processes_mentioning(&marker);
            quiet = if found.is_empty() { quiet + 1 } else { 0 };
            if quiet == 2 {
                break;
            }
            for pid in found {
                unsafe_kill(pid);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        remove_cgroups(&self.data_dir.path().join("var/instance-id"));
    }
}

/// Kills what is left in the cgroups of the instance named in `instance_file` and removes
/// them, in every hierarchy disco may have used.
fn remove_cgroups(instance_file: &Path) {
    let Ok(instance) = std::fs::read_to_string(instance_file) else {
        return;
    };
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    for line in mounts.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() > 2 && (fields[2] == "cgroup2" || fields[2] == "cgroup") {
            remove_group(&Path::new(fields[1]).join("disco").join(instance.trim()));
        }
    }
}

fn remove_group(group: &Path) {
    let Ok(entries) = std::fs::read_dir(group) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_group(&entry.path());
        }
    }
    for _ in 0..50 {
        let procs = std::fs::read_to_string(group.join("cgroup.procs")).unwrap_or_default();
        for pid in procs.lines() {
            if let Ok(pid) = pid.trim().parse() {
                unsafe_kill(pid);
            }
        }
        if std::fs::remove_dir(group).is_ok() || !group.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn unsafe_kill(pid: i32) {
    let _ = Command::new("kill")
        .arg("-9")
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status();
}

/// PIDs whose environment or command line contains `needle`.
pub fn processes_mentioning(needle: &str) -> Vec<i32> {
    let mut pids = Vec::new();
    let me = std::process::id() as i32;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let needle = needle.as_bytes();
        if environ.windows(needle.len()).any(|w| w == needle)
            || cmdline.windows(needle.len()).any(|w| w == needle)
        {
            pids.push(pid);
        }
    }
    pids
}

/// A response as the tests look at it.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    }

    pub fn header_lines(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect()
    }
}

/// Sends a request with raw header values (bytes, so tests can send what clients send).
pub fn send(method: &str, url: &str, headers: &[(&str, &[u8])], body: Option<&[u8]>) -> Response {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");
    let mut request = client.request(method.parse().expect("method"), url);
    for (name, value) in headers {
        request = request.header(
            *name,
            reqwest::header::HeaderValue::from_bytes(value).expect("header value"),
        );
    }
    if let Some(body) = body {
        request = request.body(body.to_vec());
    }
    let response = request.send().expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().unwrap_or_default();
    Response {
        status,
        headers,
        body,
    }
}

/// Sends a request to `server` with credential headers (e.g. X-User-Name, X-Password) and
/// `extra` headers.
pub fn send_as(
    server: &TestServer,
    method: &str,
    path: &str,
    credentials: &[(&str, String)],
    extra: &[(&str, &str)],
) -> Response {
    let mut headers: Vec<(&str, &[u8])> = credentials
        .iter()
        .map(|(k, v)| (*k, v.as_bytes()))
        .collect();
    headers.extend(extra.iter().map(|(k, v)| (*k, v.as_bytes())));
    send(method, &server.url(path), &headers, None)
}

/// The cluster's attributes as the caller with `credentials` sees them, or `None` on 404.
pub fn attributes_as(
    server: &TestServer,
    credentials: &[(&str, String)],
    id: &str,
) -> Option<serde_json::Value> {
    let response = send_as(
        server,
        "GET",
        &format!("/disco/{id}"),
        credentials,
        &[("Accept", "application/occi+json")],
    );
    if response.status == 404 {
        return None;
    }
    assert_eq!(response.status, 200, "{}", response.body);
    let value: serde_json::Value = serde_json::from_str(&response.body).expect("JSON");
    Some(value["attributes"].clone())
}

pub fn get(url: &str, tenant: &str, accept: &str) -> Response {
    send(
        "GET",
        url,
        &[
            ("X-Tenant-Name", tenant.as_bytes()),
            ("Accept", accept.as_bytes()),
        ],
        None,
    )
}

/// Creates a cluster with the given attribute header value; returns the response.
pub fn create(server: &TestServer, tenant: &str, attributes: &str) -> Response {
    send(
        "POST",
        &server.url("/disco/"),
        &[
            ("Category", KIND.as_bytes()),
            ("Content-Type", b"text/occi"),
            ("X-Tenant-Name", tenant.as_bytes()),
            ("X-OCCI-Attribute", attributes.as_bytes()),
        ],
        None,
    )
}

/// Creates a cluster and returns its id; panics unless the answer is 201.
pub fn create_ok(server: &TestServer, tenant: &str, attributes: &str) -> String {
    let response = create(server, tenant, attributes);
    assert_eq!(response.status, 201, "create failed: {}", response.body);
    let location = response.header("Location").expect("Location header");
    location.rsplit('/').next().expect("id").to_string()
}

/// The cluster's attributes from the JSON rendering, or `None` on 404.
pub fn attributes(server: &TestServer, tenant: &str, id: &str) -> Option<serde_json::Value> {
    let response = get(
        &server.url(&format!("/disco/{id}")),
        tenant,
        "application/occi+json",
    );
    if response.status == 404 {
        return None;
    }
    assert_eq!(response.status, 200, "{}", response.body);
    let value: serde_json::Value = serde_json::from_str(&response.body).expect("JSON");
    Some(value["attributes"].clone())
}

pub fn state(server: &TestServer, tenant: &str, id: &str) -> Option<String> {
    attributes(server, tenant, id)
        .map(|a| a["icclab.disco.state"].as_str().unwrap_or("").to_string())
}

/// Polls until the cluster reaches `wanted` (or fails), returning its attributes.
pub fn wait_for_state(
    server: &TestServer,
    tenant: &str,
    id: &str,
    wanted: &str,
    timeout: Duration,
) -> serde_json::Value {
    let deadline = Instant::now() + timeout;
    loop {
        let attributes = attributes(server, tenant, id)
            .unwrap_or_else(|| panic!("cluster {id} vanished while waiting for {wanted}"));
        let state = attributes["icclab.disco.state"]
            .as_str()
            .unwrap_or("")
            .to_string();
        if state == wanted {
            return attributes;
        }
        if state == "failed" && wanted != "failed" {
            panic!("cluster failed: {}\n{}", attributes, server.log());
        }
        if Instant::now() > deadline {
            panic!(
                "cluster {id} is `{state}`, not `{wanted}`, after {timeout:?}: {attributes}\n{}",
                server.log()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Polls until GET answers 404.
pub fn wait_until_gone(server: &TestServer, tenant: &str, id: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while attributes(server, tenant, id).is_some() {
        assert!(
            Instant::now() < deadline,
            "cluster {id} still there after {timeout:?}\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether something accepts TCP connections at `address:port`.
pub fn port_in_use(address: Ipv4Addr, port: u16) -> bool {
    TcpListener::bind((address, port)).is_err()
}

/// Runs a command and returns (status, stdout, stderr).
pub fn run(program: &str, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs `ssh` with the key file to the master and returns its stdout.
pub fn ssh(
    key: &Path,
    user: &str,
    address: &str,
    port: u16,
    command: &str,
) -> (i32, String, String) {
    run(
        "ssh",
        &[
            "-i",
            &key.display().to_string(),
            "-p",
            &port.to_string(),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "ConnectTimeout=10",
            &format!("{user}@{address}"),
            command,
        ],
    )
}

/// The ids listed for a tenant.
pub fn listed(server: &TestServer, tenant: &str) -> Vec<String> {
    let response = get(&server.url("/disco/"), tenant, "text/uri-list");
    assert_eq!(response.status, 200);
    response
        .body
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.rsplit('/').next().unwrap_or("").to_string())
        .collect()
}

/// Category header of a disco action.
pub fn action_category(term: &str) -> String {
    format!(
        r#"{term}; scheme="http://schemas.cloudcomplab.ch/occi/sm/disco/action#"; class="action""#
    )
}

/// `POST /disco/<id>?action=<term>` as the caller with `credentials`, with the action's
/// category and the given attributes.
pub fn act_as(
    server: &TestServer,
    credentials: &[(&str, String)],
    id: &str,
    term: &str,
    attributes: &str,
) -> Response {
    let category = action_category(term);
    let mut extra = vec![("Category", category.as_str())];
    if !attributes.is_empty() {
        extra.push(("X-OCCI-Attribute", attributes));
    }
    send_as(
        server,
        "POST",
        &format!("/disco/{id}?action={term}"),
        credentials,
        &extra,
    )
}

/// `POST /disco/<id>?action=<term>` as `tenant` (see [`act_as`]).
pub fn act(server: &TestServer, tenant: &str, id: &str, term: &str, attributes: &str) -> Response {
    act_as(
        server,
        &[("X-Tenant-Name", tenant.to_string())],
        id,
        term,
        attributes,
    )
}

/// Scales a cluster with the scale action; panics unless it is accepted.
pub fn scale(server: &TestServer, tenant: &str, id: &str, slaves: u32) {
    let response = act(
        server,
        tenant,
        id,
        "scale",
        &format!("icclab.disco.components.heat.slavecount=\"{slaves}\""),
    );
    assert_eq!(response.status, 202, "scale refused: {}", response.body);
}

/// Waits until the cluster is `wanted` and its status reflects its newest spec. A state of an
/// older generation (say `failed` before a new scale is taken up) is not final.
pub fn wait_until_settled(
    server: &TestServer,
    tenant: &str,
    id: &str,
    wanted: &str,
    timeout: Duration,
) -> serde_json::Value {
    let deadline = Instant::now() + timeout;
    loop {
        let attributes = attributes(server, tenant, id)
            .unwrap_or_else(|| panic!("cluster {id} vanished while waiting for {wanted}"));
        let state = attributes["icclab.disco.state"].as_str().unwrap_or("");
        let observed =
            attributes["icclab.disco.generation"] == attributes["icclab.disco.observed_generation"];
        if observed && state == wanted {
            return attributes;
        }
        if observed && state == "failed" {
            panic!("cluster failed: {}\n{}", attributes, server.log());
        }
        if Instant::now() > deadline {
            panic!(
                "cluster {id} is `{state}` (settled: {observed}), not `{wanted}`, after {timeout:?}: {attributes}\n{}",
                server.log()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The names of the cluster's nodes as `GET` lists them.
pub fn node_names(attributes: &serde_json::Value) -> Vec<String> {
    attributes["icclab.disco.nodes"]
        .as_array()
        .map(|nodes| {
            nodes
                .iter()
                .map(|n| n["name"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The cluster's history as JSON events.
pub fn events(server: &TestServer, tenant: &str, id: &str, since: i64) -> Vec<serde_json::Value> {
    let response = get(
        &server.url(&format!("/disco/{id}/events?since={since}")),
        tenant,
        "application/json",
    );
    assert_eq!(response.status, 200, "{}", response.body);
    serde_json::from_str::<Vec<serde_json::Value>>(&response.body).expect("events JSON")
}

/// The messages of a cluster's events, `[node] message` where there is a node.
pub fn event_messages(server: &TestServer, tenant: &str, id: &str) -> Vec<String> {
    events(server, tenant, id, 0)
        .iter()
        .map(|e| match e["node"].as_str() {
            Some(node) => format!("[{node}] {}", e["message"].as_str().unwrap_or_default()),
            None => e["message"].as_str().unwrap_or_default().to_string(),
        })
        .collect()
}
