//! Suspend and resume on the local backend: suspended, nothing runs and ssh is refused; resumed,
//! the same key logs in to the same address and the services run again. A server killed in
//! the middle of either finishes it after a restart.

use crate::support::*;
use std::time::Duration;

const TENANT: &str = "sleeper";
const SHELL: &str = r#"icclab.disco.components.heat.slavecount="1", icclab.disco.dependencies.inject="{'shell': ''}", icclab.disco.components.shell.command="echo built >> \"$DISCO_NODE_ROOT/built\"""#;

fn act_ok(server: &TestServer, id: &str, term: &str) {
    let response = act(server, TENANT, id, term, "");
    assert_eq!(response.status, 202, "{term}: {}", response.body);
}

/// Writes the cluster's private key to a file ssh accepts.
fn key_file(server: &TestServer, attributes: &serde_json::Value) -> std::path::PathBuf {
    let key = server.data_dir.path().join("power.key");
    std::fs::write(&key, attributes["ssh_private_key"].as_str().unwrap()).unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    key
}

fn ssh_to(key: &std::path::Path, attributes: &serde_json::Value) -> (i32, String, String) {
    ssh(
        key,
        attributes["icclab.disco.ssh_user"].as_str().unwrap(),
        attributes["external_ip"].as_str().unwrap(),
        attributes["icclab.disco.ssh_port"].as_u64().unwrap() as u16,
        "echo \"logged in to $DISCO_NODE_ROOT\"",
    )
}

#[test]
fn a_suspended_cluster_runs_nothing_and_resumes_with_the_same_key_and_address() {
    let server = TestServer::start();
    let id = create_ok(&server, TENANT, SHELL);
    let ready = wait_until_settled(&server, TENANT, &id, "ready", Duration::from_secs(60));
    let key = key_file(&server, &ready);
    let (code, out, err) = ssh_to(&key, &ready);
    assert_eq!(code, 0, "{out}{err}");
    let cluster_dir = server.clusters_dir().join(&id);
    let log_url = ready["icclab.disco.log_url"].as_str().unwrap().to_string();
    assert_eq!(send("GET", &log_url, &[], None).status, 200);

    act_ok(&server, &id, "suspend");
    let suspended = wait_until_settled(&server, TENANT, &id, "suspended", Duration::from_secs(30));
    assert_eq!(suspended["stack_status"], "SUSPEND_COMPLETE");
    assert_eq!(suspended["external_ip"], ready["external_ip"]);
    let running = processes_mentioning(&cluster_dir.display().to_string());
    assert!(
        running.is_empty(),
        "processes of a suspended cluster: {running:?}"
    );
    let (code, _, _) = ssh_to(&key, &ready);
    assert_ne!(code, 0, "ssh got into a suspended cluster");
    assert!(cluster_dir.join("slave-1/built").exists(), "files are kept");
    // Suspended again: a 409 that says what to do.
    let again = act(&server, TENANT, &id, "suspend", "");
    assert_eq!(again.status, 409, "{}", again.body);
    let scale = act(
        &server,
        TENANT,
        &id,
        "scale",
        "icclab.disco.components.heat.slavecount=\"2\"",
    );
    assert_eq!(scale.status, 409, "{}", scale.body);
    assert!(scale.body.contains("resume it first"), "{}", scale.body);

    act_ok(&server, &id, "resume");
    let resumed = wait_until_settled(&server, TENANT, &id, "ready", Duration::from_secs(60));
    assert_eq!(resumed["external_ip"], ready["external_ip"]);
    assert_eq!(resumed["ssh_public_key"], ready["ssh_public_key"]);
    assert_eq!(resumed["stack_status"], "RESUME_COMPLETE");
    let (code, out, err) = ssh_to(&key, &resumed);
    assert_eq!(code, 0, "the same key no longer logs in: {out}{err}");
    assert_eq!(
        send("GET", &log_url, &[], None).status,
        200,
        "the log server is back"
    );
    // Resume restarts services; it does not build the nodes again.
    for node in ["master", "slave-1"] {
        let built = std::fs::read_to_string(cluster_dir.join(node).join("built")).unwrap();
        assert_eq!(built.lines().count(), 1, "{node} was built again");
    }
    let history = event_messages(&server, TENANT, &id);
    for expected in [
        "suspend requested",
        "ready -> suspending",
        "suspending -> suspended",
        "resume requested",
        "suspended -> resuming",
        "resuming -> ready",
    ] {
        assert!(
            history.iter().any(|m| m == expected),
            "{expected} missing: {history:#?}"
        );
    }
}

#[test]
fn a_server_killed_while_suspending_or_resuming_finishes_after_restart() {
    let mut server = TestServer::start();
    let id = create_ok(&server, TENANT, SHELL);
    let ready = wait_until_settled(&server, TENANT, &id, "ready", Duration::from_secs(60));
    let cluster_dir = server.clusters_dir().join(&id);
    for delay_ms in [0, 80, 250] {
        act_ok(&server, &id, "suspend");
        std::thread::sleep(Duration::from_millis(delay_ms));
        server.kill9();
        server.restart();
        wait_until_settled(&server, TENANT, &id, "suspended", Duration::from_secs(30));
        let running = processes_mentioning(&cluster_dir.display().to_string());
        assert!(
            running.is_empty(),
            "processes of a suspended cluster: {running:?}"
        );

        act_ok(&server, &id, "resume");
        std::thread::sleep(Duration::from_millis(delay_ms));
        server.kill9();
        server.restart();
        let resumed = wait_until_settled(&server, TENANT, &id, "ready", Duration::from_secs(60));
        assert_eq!(resumed["external_ip"], ready["external_ip"]);
        let master = resumed["external_ip"].as_str().unwrap().parse().unwrap();
        assert!(
            port_in_use(master, 8084),
            "after a kill {delay_ms} ms into the resume, the log server is down:\n{}\n{}\n{}",
            std::fs::read_to_string(cluster_dir.join("master/var/log/disco/hooks.out"))
                .unwrap_or_default(),
            std::fs::read_to_string(cluster_dir.join("master/var/log/disco/deployment.log"))
                .unwrap_or_default(),
            server.log()
        );
    }
}
