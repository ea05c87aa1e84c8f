//! A cluster's life on the local backend: ready, reachable over SSH and HTTP, and gone without
//! a trace after delete.

use crate::support::*;
use std::time::{Duration, Instant};

const SHELL_CLUSTER: &str = r#"icclab.disco.components.heat.slavecount="2", icclab.disco.dependencies.inject="{'shell': ''}", icclab.disco.components.shell.command="echo \"built on $DISCO_NODE_NAME\" > marker.txt""#;

fn fetch(url: &str) -> (u16, String) {
    let response = send("GET", url, &[], None);
    (response.status, response.body)
}

#[test]
fn a_cluster_becomes_ready_answers_ssh_and_http_and_delete_leaves_nothing_behind() {
    let server = TestServer::start();
    let id = create_ok(&server, "alice", SHELL_CLUSTER);
    let attrs = wait_for_state(&server, "alice", &id, "ready", Duration::from_secs(30));

    assert_eq!(attrs["mcn.service.state"], "ready");
    assert_eq!(attrs["stack_status"], "CREATE_COMPLETE");
    assert_eq!(attrs["icclab.disco.progress"], "2/2 frameworks installed");
    let master = attrs["external_ip"].as_str().unwrap().to_string();
    assert_eq!(master, server.node_address(0).to_string());
    let user = attrs["icclab.disco.ssh_user"].as_str().unwrap();
    let port = attrs["icclab.disco.ssh_port"].as_u64().unwrap() as u16;

    // SSH to the master with the key from GET runs a command there.
    let key_file = server.data_dir.path().join("cluster.key");
    std::fs::write(&key_file, attrs["ssh_private_key"].as_str().unwrap()).unwrap();
    std::fs::set_permissions(
        &key_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let (code, out, err) = ssh(
        &key_file,
        user,
        &master,
        port,
        "cat \"$DISCO_NODE_ROOT/marker.txt\"",
    );
    assert_eq!(code, 0, "ssh failed: {err}");
    assert_eq!(out.trim(), "built on master");

    // Another key is refused.
    let other = server.data_dir.path().join("other.key");
    let (code, _, _) = run(
        "ssh-keygen",
        &[
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-f",
            &other.display().to_string(),
        ],
    );
    assert_eq!(code, 0);
    let (code, _, _) = ssh(&other, user, &master, port, "true");
    assert_ne!(code, 0, "sshd accepted a key that is not the cluster's");

    // The deployment log server on <master>:8084.
    let (status, log) = fetch(&format!("http://{master}:8084/deployment.log"));
    assert_eq!(status, 200);
    assert!(log.contains("deployment finished"), "{log}");
    let (_, listing) = fetch(&format!("http://{master}:8084/"));
    for file in ["deployment.log", "base.log", "shell.log", "status.json"] {
        assert!(listing.contains(file), "{file} not listed: {listing}");
    }
    let (_, status_json) = fetch(&format!("http://{master}:8084/status.json"));
    let status_json: serde_json::Value = serde_json::from_str(&status_json).unwrap();
    assert_eq!(status_json["state"], "ready");
    assert_eq!(status_json["done"], serde_json::json!(["base", "shell"]));

    // The slaves ran the command on their own addresses' nodes.
    for slave in 1..=2 {
        let marker = server
            .clusters_dir()
            .join(&id)
            .join(format!("slave-{slave}"))
            .join("marker.txt");
        assert_eq!(
            std::fs::read_to_string(marker).unwrap().trim(),
            format!("built on slave-{slave}")
        );
    }

    // Delete: 200, then every process, address and directory goes, then 404.
    let response = send(
        "DELETE",
        &server.url(&format!("/disco/{id}")),
        &[("X-Tenant-Name", b"alice")],
        None,
    );
    assert_eq!(response.status, 200, "{}", response.body);
    wait_until_gone(&server, "alice", &id, Duration::from_secs(30));
    assert!(
        processes_mentioning(&id).is_empty(),
        "processes of {id} survived delete"
    );
    for index in 0..3 {
        let address = server.node_address(index);
        for port in [port, 8084] {
            assert!(!port_in_use(address, port), "{address}:{port} still in use");
        }
    }
    assert!(
        !server.clusters_dir().join(&id).exists(),
        "the cluster's directory survived"
    );
    assert!(listed(&server, "alice").is_empty());

    // The freed addresses are handed out again.
    let again = create_ok(
        &server,
        "alice",
        r#"icclab.disco.components.heat.slavecount="0""#,
    );
    let attrs = wait_for_state(&server, "alice", &again, "ready", Duration::from_secs(30));
    assert_eq!(attrs["external_ip"], server.node_address(0).to_string());
}

#[test]
fn a_failing_command_fails_the_cluster_with_the_reason() {
    let server = TestServer::start();
    let id = create_ok(
        &server,
        "alice",
        r#"icclab.disco.components.shell.command="echo about to fail; exit 7""#,
    );
    let attrs = wait_for_state(&server, "alice", &id, "failed", Duration::from_secs(30));
    let reason = attrs["icclab.disco.state_reason"].as_str().unwrap();
    assert!(reason.contains("shell failed on master"), "{reason}");
    assert!(reason.contains("status 7"), "{reason}");
    assert_eq!(attrs["stack_status"], "CREATE_FAILED");
    assert_eq!(attrs["stack_status_reason"], reason);
    assert!(
        attrs.get("ssh_private_key").is_none(),
        "a failed cluster showed its private key"
    );
    // A failed cluster is deleted like any other.
    let response = send(
        "DELETE",
        &server.url(&format!("/disco/{id}")),
        &[("X-Tenant-Name", b"alice")],
        None,
    );
    assert_eq!(response.status, 200);
    wait_until_gone(&server, "alice", &id, Duration::from_secs(30));
}

#[test]
fn progress_shows_which_framework_is_installing_while_building() {
    let server = TestServer::start();
    let id = create_ok(
        &server,
        "alice",
        r#"icclab.disco.components.heat.slavecount="1", icclab.disco.components.shell.command="sleep 2""#,
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = None;
    while Instant::now() < deadline {
        let attrs = attributes(&server, "alice", &id).unwrap();
        assert!(attrs.get("ssh_private_key").is_none() || attrs["icclab.disco.state"] == "ready");
        let progress = attrs["icclab.disco.progress"]
            .as_str()
            .unwrap_or("")
            .to_string();
        // Once base is done on every node (a node may start shell before another finished
        // base, and then 0/2 are done on all), the progress names shell as the one installing.
        if progress.starts_with("1/2") && progress.contains("installing shell on") {
            seen = Some(progress);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let progress = seen.expect("never saw shell installing after base");
    assert!(
        progress.starts_with("1/2 frameworks installed; installing shell on"),
        "{progress}"
    );
    wait_for_state(&server, "alice", &id, "ready", Duration::from_secs(30));
}
