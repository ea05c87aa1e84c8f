//! `kill -9` of the server at awkward moments: nothing is lost, nothing leaks, work resumes.

use crate::support::*;
use std::time::{Duration, Instant};

#[test]
fn a_cluster_killed_while_building_becomes_ready_after_restart() {
    let mut server = TestServer::start();
    let id = create_ok(
        &server,
        "t",
        r#"icclab.disco.components.heat.slavecount="2", icclab.disco.components.shell.command="sleep 2; echo done > finished.txt""#,
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while state(&server, "t", &id).as_deref() != Some("building") {
        assert!(Instant::now() < deadline, "never saw building");
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill9();
    server.restart();
    let attrs = wait_for_state(&server, "t", &id, "ready", Duration::from_secs(60));
    assert!(attrs["ssh_private_key"]
        .as_str()
        .unwrap()
        .contains("OPENSSH PRIVATE KEY"));
    for node in ["master", "slave-1", "slave-2"] {
        let finished = server
            .clusters_dir()
            .join(&id)
            .join(node)
            .join("finished.txt");
        assert!(finished.exists(), "{node} did not finish");
    }
    // Each node's command ran exactly once, even though the server died mid-way.
    let log = send(
        "GET",
        &format!(
            "http://{}:8084/shell.log",
            attrs["external_ip"].as_str().unwrap()
        ),
        &[],
        None,
    );
    assert_eq!(
        log.body.matches("running the command").count(),
        1,
        "{}",
        log.body
    );
}

#[test]
fn a_cluster_killed_while_pending_is_built_after_restart() {
    let mut server = TestServer::start();
    let id = create_ok(
        &server,
        "t",
        r#"icclab.disco.components.heat.slavecount="1""#,
    );
    server.kill9(); // right after the 201: the reconciler may not have touched it yet
    server.restart();
    wait_for_state(&server, "t", &id, "ready", Duration::from_secs(60));
}

#[test]
fn a_cluster_killed_while_deleting_is_gone_after_restart_with_nothing_leaked() {
    let mut server = TestServer::start();
    // A process that ignores SIGTERM makes teardown wait for the SIGKILL after stop_grace_secs.
    let id = create_ok(
        &server,
        "t",
        r#"icclab.disco.components.heat.slavecount="1", icclab.disco.components.shell.command="(trap '' TERM; exec sleep 600) > /dev/null 2>&1 &""#,
    );
    let attrs = wait_for_state(&server, "t", &id, "ready", Duration::from_secs(30));
    let port = attrs["icclab.disco.ssh_port"].as_u64().unwrap() as u16;
    assert!(!processes_mentioning(&id).is_empty());
    let response = send(
        "DELETE",
        &server.url(&format!("/disco/{id}")),
        &[("X-Tenant-Name", b"t")],
        None,
    );
    assert_eq!(response.status, 200);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(state(&server, "t", &id).as_deref(), Some("deleting"));
    server.kill9();
    server.restart();
    assert_eq!(
        state(&server, "t", &id).as_deref(),
        Some("deleting"),
        "the delete was forgotten"
    );
    wait_until_gone(&server, "t", &id, Duration::from_secs(60));
    assert!(
        processes_mentioning(&id).is_empty(),
        "processes leaked: {:?}",
        processes_mentioning(&id)
    );
    assert!(!server.clusters_dir().join(&id).exists());
    for index in 0..2 {
        for port in [port, 8084] {
            assert!(!port_in_use(server.node_address(index), port));
        }
    }
    // The addresses are free again: a new cluster gets the first one.
    let again = create_ok(
        &server,
        "t",
        r#"icclab.disco.components.heat.slavecount="0""#,
    );
    let attrs = wait_for_state(&server, "t", &again, "ready", Duration::from_secs(30));
    assert_eq!(attrs["external_ip"], server.node_address(0).to_string());
}
