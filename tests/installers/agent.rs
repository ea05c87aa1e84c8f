//! disco's agent on a VM (`frameworks/lib/agent.py`), run for real on loopback addresses: it
//! answers only the cluster secret, serves shared values, starts a hook run once and reports
//! it, forgets a finished run, and relays a request to another node's agent in the cluster.

use crate::sandbox::repo_root;
use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

const SECRET: &str = "cluster-secret-7f3a";
static NEXT: AtomicU8 = AtomicU8::new(10);

/// One node: a root with /etc/disco, its own frameworks directory (the real lib and a `probe`
/// framework whose join hook records what it was given), and its agent.
struct Node {
    dir: tempfile::TempDir,
    address: Ipv4Addr,
    port: u16,
    agent: Child,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Node {
    fn start(address: Ipv4Addr, port: u16) -> Node {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("node");
        let frameworks = dir.path().join("frameworks");
        let hooks = frameworks.join("probe/hooks");
        std::fs::create_dir_all(&hooks).unwrap();
        std::fs::create_dir_all(root.join("etc/disco")).unwrap();
        std::fs::create_dir_all(root.join("var/lib/disco/share")).unwrap();
        std::os::unix::fs::symlink(repo_root().join("frameworks/lib"), frameworks.join("lib"))
            .unwrap();
        std::fs::write(
            hooks.join("join-master.sh"),
            "#!/usr/bin/env bash\nset -euo pipefail\nsource \"$DISCO_LIB/hooks/runtime.sh\"\n\
             printf '%s|%s\\n' \"$DISCO_HOOK\" \"$DISCO_HOOK_NODES\" >> \"$DISCO_NODE_ROOT/joined\"\n",
        )
        .unwrap();
        let secret_file = root.join("etc/disco/cluster.secret");
        std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
        let environment = serde_json::json!({
            "DISCO_PROFILE": "local",
            "DISCO_NODE_NAME": "master",
            "DISCO_NODE_ROOT": root.display().to_string(),
            "DISCO_LIB": frameworks.join("lib").display().to_string(),
            "DISCO_FRAMEWORKS_DIR": frameworks.display().to_string(),
            "DISCO_CLUSTER_SECRET_FILE": secret_file.display().to_string(),
            "PATH": std::env::var("PATH").unwrap_or_default(),
        });
        std::fs::write(
            root.join("etc/disco/node-environment.json"),
            environment.to_string(),
        )
        .unwrap();
        let agent = Command::new("python3")
            .arg(repo_root().join("frameworks/lib/agent.py"))
            .arg(address.to_string())
            .arg(port.to_string())
            .env("DISCO_BOOT_ROOT", &root)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect((address, port)).is_err() {
            assert!(Instant::now() < deadline, "the agent does not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        Node {
            dir,
            address,
            port,
            agent,
        }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("node")
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}:{}{path}", self.address, self.port)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.agent.kill();
        let _ = self.agent.wait();
    }
}

/// Two nodes of one cluster network (127.N.0.0/16), on the same port.
fn cluster() -> (Node, Node) {
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let port = free_port();
    (
        Node::start(Ipv4Addr::new(127, 60 + n, 0, 10), port),
        Node::start(Ipv4Addr::new(127, 60 + n, 1, 0), port),
    )
}

fn call(
    method: &str,
    url: &str,
    secret: Option<&str>,
    relay: Option<Ipv4Addr>,
    body: Option<serde_json::Value>,
) -> (u16, String) {
    let client = reqwest::blocking::Client::new();
    let mut request = client.request(method.parse().unwrap(), url);
    if let Some(secret) = secret {
        request = request.header("X-Disco-Secret", secret);
    }
    if let Some(relay) = relay {
        request = request.header("X-Disco-Relay", relay.to_string());
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().unwrap();
    (
        response.status().as_u16(),
        response.text().unwrap_or_default(),
    )
}

fn join(nodes: &str) -> serde_json::Value {
    serde_json::json!({"event": "join", "steps": "probe:join-master.sh", "nodes": nodes})
}

/// Polls the run's status until it is done (or failed), returning it.
fn finished(url: &str, relay: Option<Ipv4Addr>) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = call("GET", url, Some(SECRET), relay, None);
        if status == 200 {
            let run: serde_json::Value = serde_json::from_str(&body).unwrap();
            if run["state"] != "running" {
                return run;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the run did not finish: {status} {body}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn only_the_cluster_secret_gets_an_answer() {
    let (master, _) = cluster();
    std::fs::write(master.root().join("var/lib/disco/share/token"), "t0k3n").unwrap();
    for secret in [None, Some("wrong"), Some("cluster-secret-7f3")] {
        let (status, body) = call("GET", &master.url("/token"), secret, None, None);
        assert_eq!(status, 403, "{secret:?}: {body}");
        let (status, _) = call(
            "POST",
            &master.url("/hooks/join-x"),
            secret,
            None,
            Some(join("")),
        );
        assert_eq!(status, 403);
    }
    assert!(!master.root().join("run/disco/hooks").exists());
    assert_eq!(
        call("GET", &master.url("/token"), Some(SECRET), None, None),
        (200, "t0k3n".to_string())
    );
    for name in ["/../etc/disco/cluster.secret", "/.hidden", "/missing"] {
        assert_eq!(
            call("GET", &master.url(name), Some(SECRET), None, None).0,
            404
        );
    }
}

#[test]
fn a_hook_run_starts_once_reports_its_outcome_and_can_be_forgotten() {
    let (master, _) = cluster();
    let url = master.url("/hooks/join-slave-2");
    let (status, _) = call(
        "POST",
        &url,
        Some(SECRET),
        None,
        Some(join("slave-2=10.20.1.1")),
    );
    assert_eq!(status, 202);
    let run = finished(&url, None);
    assert_eq!(run["state"], "done", "{run}");
    // Asked again, a finished run answers its outcome and does not run again.
    let (status, body) = call(
        "POST",
        &url,
        Some(SECRET),
        None,
        Some(join("slave-2=10.20.1.1")),
    );
    assert_eq!(status, 202);
    assert!(body.contains("\"done\""), "{body}");
    assert_eq!(
        read(&master.root().join("joined")),
        "join|slave-2=10.20.1.1\n"
    );
    // Forgotten, the run is unknown, and the next one with its name runs again.
    assert_eq!(call("DELETE", &url, Some(SECRET), None, None).0, 204);
    assert_eq!(call("GET", &url, Some(SECRET), None, None).0, 404);
    call(
        "POST",
        &url,
        Some(SECRET),
        None,
        Some(join("slave-2=10.20.1.1")),
    );
    finished(&url, None);
    assert_eq!(read(&master.root().join("joined")).lines().count(), 2);
    // Requests it cannot take are refused.
    let bad = serde_json::json!({"event": "explode", "steps": "", "nodes": ""});
    assert_eq!(call("POST", &url, Some(SECRET), None, Some(bad)).0, 400);
    assert_eq!(
        call(
            "POST",
            &master.url("/hooks/Bad_Name"),
            Some(SECRET),
            None,
            Some(join(""))
        )
        .0,
        404
    );
}

#[test]
fn the_master_relays_to_a_slave_of_its_cluster_only() {
    let (master, slave) = cluster();
    let url = master.url("/hooks/join");
    let (status, body) = call(
        "POST",
        &url,
        Some(SECRET),
        Some(slave.address),
        Some(join("slave-1=x")),
    );
    assert_eq!(status, 202, "{body}");
    let run = finished(&url, Some(slave.address));
    assert_eq!(run["state"], "done", "{run}");
    assert_eq!(read(&slave.root().join("joined")), "join|slave-1=x\n");
    assert!(!master.root().join("joined").exists());
    let (status, body) = call(
        "POST",
        &url,
        Some(SECRET),
        Some(Ipv4Addr::new(127, 0, 0, 1)),
        Some(join("")),
    );
    assert_eq!(status, 400, "{body}");
}
