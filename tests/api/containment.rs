//! Containment on the local backend: each node's processes run in a cgroup of their own, so a
//! process that left its session, its environment and its parent (`env -i setsid … &`) is
//! still stopped by delete and suspend; leftover groups of deleted clusters are emptied at
//! start; without cgroups disco says what it cannot promise.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A shell command that starts a process escaping every mark but the cgroup: no environment,
/// a session of its own, a parent that exits at once. It writes its PID into the node's
/// directory.
const ESCAPE: &str = r#"icclab.disco.dependencies.inject="{'shell': ''}", icclab.disco.components.shell.roles="master", icclab.disco.components.shell.command="env -i setsid sh -c 'echo $$ > $0; exec sleep 1000' $DISCO_NODE_ROOT/escaped.pid > /dev/null 2>&1 < /dev/null &""#;

/// Whether `pid` is a live process (a zombie is dead).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let rest = stat.rsplit_once(')')?.1.trim_start().to_string();
            rest.split_whitespace().next().map(|s| s != "Z")
        })
        .unwrap_or(false)
}

/// Waits until `pid` is gone (or a zombie), or panics.
fn wait_dead(pid: i32, timeout: Duration, what: &str) {
    let deadline = Instant::now() + timeout;
    while alive(pid) {
        assert!(Instant::now() < deadline, "{what}: process {pid} survives");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Builds the escaping cluster and returns its id and the escaped process's PID.
fn escaped_cluster(server: &TestServer) -> (String, i32) {
    let id = create_ok(server, "t", ESCAPE);
    wait_for_state(server, "t", &id, "ready", Duration::from_secs(60));
    let pid_file = server.clusters_dir().join(&id).join("master/escaped.pid");
    let deadline = Instant::now() + Duration::from_secs(10);
    let pid = loop {
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok())
        {
            break pid;
        }
        assert!(Instant::now() < deadline, "no {}", pid_file.display());
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(alive(pid), "the escaped process {pid} did not start");
    // It escaped what disco looked for before cgroups: no DISCO_ variable, not in any node
    // directory's command line, its parent gone.
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
    assert!(!String::from_utf8_lossy(&environ).contains("DISCO_"));
    (id, pid)
}

/// Where the cgroup hierarchy of `version` (`cgroup2`, or v1 with `pids`) is mounted.
fn hierarchy(version: &str) -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    mounts.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let wanted = match version {
            "v2" => fields.get(2) == Some(&"cgroup2"),
            _ => {
                fields.get(2) == Some(&"cgroup")
                    && fields
                        .get(3)
                        .is_some_and(|o| o.split(',').any(|o| o == "pids"))
            }
        };
        wanted.then(|| PathBuf::from(fields[1]))
    })
}

/// A server with `local.cgroups` set to `mode`.
fn server_with(mode: &str) -> TestServer {
    TestServer::start_with(ServerOptions {
        env: vec![("DISCO_LOCAL__CGROUPS".into(), mode.into())],
        ..ServerOptions::default()
    })
}

/// Deletes the cluster, waits until it is gone, and asserts `pid` died with it.
fn delete_then_dead(server: &TestServer, id: &str, pid: i32, when: &str) {
    let response = send(
        "DELETE",
        &server.url(&format!("/disco/{id}")),
        &[("X-Tenant-Name", b"t")],
        None,
    );
    assert_eq!(response.status, 200);
    wait_until_gone(server, "t", id, Duration::from_secs(30));
    wait_dead(pid, Duration::from_secs(2), when);
}

#[test]
fn delete_stops_a_process_that_escaped_its_session_environment_and_parent() {
    let server = TestServer::start();
    assert!(
        server
            .log()
            .contains("each local node's processes run in a cgroup"),
        "this machine should let disco use cgroups (root, /sys/fs/cgroup writable): {}",
        server.log()
    );
    let (id, pid) = escaped_cluster(&server);
    let group = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(group.contains(&format!("/{id}/master")), "{group}");
    delete_then_dead(&server, &id, pid, "after delete");
}

#[test]
fn with_cgroup_v2_delete_stops_the_escaped_process_too() {
    if hierarchy("v2").is_none() {
        eprintln!("no cgroup2 hierarchy on this machine: nothing to test");
        return;
    }
    let server = server_with("v2");
    assert!(
        server
            .log()
            .contains("in a cgroup of their own (cgroup v2)"),
        "{}",
        server.log()
    );
    let (id, pid) = escaped_cluster(&server);
    delete_then_dead(&server, &id, pid, "after delete (v2)");
}

#[test]
fn suspend_stops_a_process_that_escaped() {
    let server = TestServer::start();
    let (id, pid) = escaped_cluster(&server);
    let response = act(&server, "t", &id, "suspend", "");
    assert_eq!(response.status, 202, "{}", response.body);
    wait_until_settled(&server, "t", &id, "suspended", Duration::from_secs(30));
    wait_dead(pid, Duration::from_secs(2), "after suspend");
}

/// The group of this test server's instance in `root`.
fn instance_group(server: &TestServer, root: &Path) -> PathBuf {
    let instance = std::fs::read_to_string(server.data_dir.path().join("var/instance-id"))
        .expect("instance-id");
    root.join("disco").join(instance.trim())
}

#[test]
fn leftover_groups_of_deleted_clusters_are_emptied_and_removed_at_start() {
    let Some(root) = hierarchy("v1") else {
        eprintln!("no cgroup v1 pids controller on this machine: nothing to test");
        return;
    };
    let mut server = server_with("v1");
    // A group left by a cluster the database does not know, with a process in it.
    let stray = instance_group(&server, &root).join("00000000-0000-4000-8000-000000000001");
    let node = stray.join("master");
    std::fs::create_dir_all(&node).unwrap();
    let mut child = std::process::Command::new("sleep")
        .arg("1000")
        .spawn()
        .unwrap();
    std::fs::write(node.join("cgroup.procs"), child.id().to_string()).unwrap();
    server.restart();
    let deadline = Instant::now() + Duration::from_secs(5);
    while stray.exists() || child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "the leftover group or its process survived a restart: {}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn without_cgroups_disco_warns_once_at_start_and_still_deletes_what_it_can_find() {
    let server = server_with("off");
    let log = server.log();
    assert_eq!(log.matches("cgroups are not used").count(), 1, "{log}");
    assert!(log.contains("local.cgroups = off"), "{log}");
    assert!(log.contains("survives delete"), "{log}");
    let id = create_ok(
        &server,
        "t",
        r#"icclab.disco.dependencies.inject="{'shell': ''}", icclab.disco.components.shell.command="sleep 1000 &""#,
    );
    wait_for_state(&server, "t", &id, "ready", Duration::from_secs(60));
    let marker = server.clusters_dir().join(&id).display().to_string();
    let response = send(
        "DELETE",
        &server.url(&format!("/disco/{id}")),
        &[("X-Tenant-Name", b"t")],
        None,
    );
    assert_eq!(response.status, 200);
    wait_until_gone(&server, "t", &id, Duration::from_secs(30));
    assert!(processes_mentioning(&marker).is_empty());
}
