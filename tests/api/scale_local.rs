//! Scaling on the local backend, as a user does it: new slaves run the cluster's frameworks,
//! removed slaves leave nothing behind.

use crate::support::*;
use std::time::Duration;

const TENANT: &str = "scaler";

/// Every node writes its name into a file and leaves a background process running.
const SHELL: &str = r#"icclab.disco.dependencies.inject="{'shell': ''}", icclab.disco.components.shell.command="echo \"$DISCO_NODE_NAME\" > \"$DISCO_NODE_ROOT/ran\"; setsid sleep 600 > /dev/null 2>&1 &""#;

#[test]
fn a_shell_cluster_scales_from_one_to_three_slaves_and_back_to_one() {
    let server = TestServer::start();
    let id = create_ok(
        &server,
        TENANT,
        &format!("icclab.disco.components.heat.slavecount=\"1\", {SHELL}"),
    );
    let ready = wait_until_settled(&server, TENANT, &id, "ready", Duration::from_secs(60));
    assert_eq!(node_names(&ready), vec!["master", "slave-1"]);
    let cluster_dir = server.clusters_dir().join(&id);

    scale(&server, TENANT, &id, 3);
    let scaled = wait_until_settled(&server, TENANT, &id, "ready", Duration::from_secs(60));
    assert_eq!(
        node_names(&scaled),
        vec!["master", "slave-1", "slave-2", "slave-3"]
    );
    assert_eq!(scaled["icclab.disco.components.heat.slavecount"], 3);
    assert_eq!(scaled["stack_status"], "UPDATE_COMPLETE");
    let addresses: Vec<String> = scaled["icclab.disco.nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["address"].as_str().unwrap().to_string())
        .collect();
    for slave in ["slave-2", "slave-3"] {
        let ran = std::fs::read_to_string(cluster_dir.join(slave).join("ran"))
            .unwrap_or_else(|e| panic!("{slave} did not run the command: {e}"));
        assert_eq!(ran.trim(), slave);
        assert!(
            !processes_mentioning(&cluster_dir.join(slave).display().to_string()).is_empty(),
            "{slave} should have its background process"
        );
    }

    // Down to one, with a partial update this time.
    let response = send(
        "POST",
        &server.url(&format!("/disco/{id}")),
        &[
            ("X-Tenant-Name", TENANT.as_bytes()),
            (
                "X-OCCI-Attribute",
                b"icclab.disco.components.heat.slavecount=\"1\"",
            ),
        ],
        None,
    );
    assert_eq!(response.status, 202, "{}", response.body);
    let shrunk = wait_until_settled(&server, TENANT, &id, "ready", Duration::from_secs(60));
    assert_eq!(node_names(&shrunk), vec!["master", "slave-1"]);
    for slave in ["slave-2", "slave-3"] {
        let dir = cluster_dir.join(slave);
        assert!(!dir.exists(), "{} is still there", dir.display());
        let left = processes_mentioning(&format!("{}/", dir.display()));
        assert!(left.is_empty(), "{slave} left processes {left:?}");
    }
    assert!(
        !processes_mentioning(&cluster_dir.join("slave-1").display().to_string()).is_empty(),
        "slave-1 must keep running"
    );
    let history = event_messages(&server, TENANT, &id);
    let position = |needle: &str| {
        history
            .iter()
            .position(|m| m == needle)
            .unwrap_or_else(|| panic!("no event `{needle}` in {history:#?}"))
    };
    assert!(position("[slave-3] removed") < position("[slave-2] removed"));
    assert!(position("[slave-2] joined the cluster") < position("[slave-3] removed"));

    // The addresses slave-2 and slave-3 had are free again: a new cluster gets them.
    let other = create_ok(
        &server,
        TENANT,
        &format!("icclab.disco.components.heat.slavecount=\"1\", {SHELL}"),
    );
    let other = wait_for_state(&server, TENANT, &other, "ready", Duration::from_secs(60));
    let reused: Vec<String> = other["icclab.disco.nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["address"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(reused, addresses[2..4].to_vec());
}

#[test]
fn scaling_to_zero_slaves_leaves_the_master_alone() {
    let server = TestServer::start();
    let id = create_ok(
        &server,
        TENANT,
        &format!("icclab.disco.components.heat.slavecount=\"2\", {SHELL}"),
    );
    wait_until_settled(&server, TENANT, &id, "ready", Duration::from_secs(60));
    scale(&server, TENANT, &id, 0);
    let attributes = wait_until_settled(&server, TENANT, &id, "ready", Duration::from_secs(60));
    assert_eq!(node_names(&attributes), vec!["master"]);
    assert_eq!(attributes["icclab.disco.components.heat.slavecount"], 0);
}

#[test]
fn a_slave_whose_install_fails_fails_the_scale_with_its_reason_and_scaling_again_works() {
    let server = TestServer::start();
    let id = create_ok(
        &server,
        TENANT,
        r#"icclab.disco.components.heat.slavecount="1", icclab.disco.dependencies.inject="{'shell': ''}", icclab.disco.components.shell.command="if [ \"$DISCO_NODE_NAME\" = slave-2 ]; then echo \"no room on $DISCO_NODE_NAME\"; exit 3; fi""#,
    );
    wait_until_settled(&server, TENANT, &id, "ready", Duration::from_secs(60));
    scale(&server, TENANT, &id, 2);
    let failed = wait_until_settled(&server, TENANT, &id, "failed", Duration::from_secs(60));
    let reason = failed["icclab.disco.state_reason"].as_str().unwrap();
    assert!(
        reason.contains("shell failed on slave-2")
            && reason.contains("no room on slave-2")
            && reason.contains("scale again to retry"),
        "{reason}"
    );
    assert_eq!(failed["stack_status"], "UPDATE_FAILED");
    assert_eq!(failed["mcn.service.state"], "failed");
    // The cluster still works with the slave it had; scaling back removes the failed one.
    scale(&server, TENANT, &id, 1);
    let ready = wait_until_settled(&server, TENANT, &id, "ready", Duration::from_secs(60));
    assert_eq!(node_names(&ready), vec!["master", "slave-1"]);
    assert!(!server.clusters_dir().join(&id).join("slave-2").exists());
}
