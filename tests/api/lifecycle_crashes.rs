//! `kill -9` of the server while a cluster scales, suspends or resumes: after a restart the
//! cluster converges to what its owner asked for, and nothing is lost or leaked.

use crate::support::*;
use std::time::Duration;

const TENANT: &str = "crasher";
const SHELL: &str = r#"icclab.disco.dependencies.inject="{'shell': ''}", icclab.disco.components.shell.command="echo ran >> \"$DISCO_NODE_ROOT/ran\"; sleep 0.3; setsid sleep 600 > /dev/null 2>&1 &""#;

/// The cluster has exactly these slaves: listed, with a directory each, each built once, and
/// no directory or process of any other slave is left.
fn assert_slaves(server: &TestServer, id: &str, attributes: &serde_json::Value, slaves: usize) {
    let mut expected = vec!["master".to_string()];
    expected.extend((1..=slaves).map(|i| format!("slave-{i}")));
    assert_eq!(node_names(attributes), expected);
    let cluster_dir = server.clusters_dir().join(id);
    for node in &expected {
        let ran = std::fs::read_to_string(cluster_dir.join(node).join("ran"))
            .unwrap_or_else(|e| panic!("{node} never ran the command: {e}"));
        assert_eq!(ran.lines().count(), 1, "{node} ran the command {ran:?}");
    }
    for gone in slaves + 1..=4 {
        let dir = cluster_dir.join(format!("slave-{gone}"));
        assert!(!dir.exists(), "{} is left", dir.display());
        let left = processes_mentioning(&format!("{}/", dir.display()));
        assert!(left.is_empty(), "slave-{gone} left processes {left:?}");
    }
}

#[test]
fn a_server_killed_at_any_moment_of_a_scale_converges_after_restart() {
    let mut server = TestServer::start();
    let id = create_ok(
        &server,
        TENANT,
        &format!("icclab.disco.components.heat.slavecount=\"1\", {SHELL}"),
    );
    wait_until_settled(&server, TENANT, &id, "ready", Duration::from_secs(60));
    // Up and down, killed right after the request, during the install, during the hooks.
    for (slaves, delay_ms) in [(3, 0), (1, 0), (3, 150), (2, 40), (4, 400), (1, 120)] {
        scale(&server, TENANT, &id, slaves);
        std::thread::sleep(Duration::from_millis(delay_ms));
        server.kill9();
        server.restart();
        let attributes = wait_until_settled(&server, TENANT, &id, "ready", Duration::from_secs(60));
        assert_slaves(&server, &id, &attributes, slaves as usize);
    }
}
