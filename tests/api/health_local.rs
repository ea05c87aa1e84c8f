//! Health looks on the local backend: a service that died makes the cluster `degraded`, with
//! the node and the service named; once it runs again, the cluster is `ready` again.

use crate::support::*;
use std::process::Command;
use std::time::Duration;

const TENANT: &str = "health";

#[test]
fn a_dead_service_degrades_the_cluster_and_its_return_makes_it_ready_again() {
    let server = TestServer::start_with(ServerOptions {
        env: vec![("DISCO_LIFECYCLE__HEALTH_INTERVAL_SECS".into(), "1".into())],
        ..ServerOptions::default()
    });
    let id = create_ok(
        &server,
        TENANT,
        r#"icclab.disco.components.heat.slavecount="1", icclab.disco.dependencies.inject="{'shell': ''}", icclab.disco.components.shell.command="true""#,
    );
    let ready = wait_until_settled(&server, TENANT, &id, "ready", Duration::from_secs(60));
    let master = server.clusters_dir().join(&id).join("master");
    let pid = std::fs::read_to_string(master.join("run/disco/logserver.pid")).unwrap();
    let (code, _, _) = run("kill", &[pid.trim()]);
    assert_eq!(code, 0);

    let degraded = wait_for_state(&server, TENANT, &id, "degraded", Duration::from_secs(20));
    assert_eq!(
        degraded["icclab.disco.state_reason"],
        "logserver on master: is not running"
    );
    assert_eq!(degraded["mcn.service.state"], "degraded");
    let history = events(&server, TENANT, &id, 0);
    assert!(
        history.iter().any(|e| e["kind"] == "health"
            && e["node"] == "master"
            && e["message"] == "logserver on master: is not running"),
        "{history:#?}"
    );

    // An operator starts it again as the frameworks record it (no automatic repair).
    let lib = repo_root().join("frameworks/lib");
    let status = Command::new("bash")
        .arg("-c")
        .arg("source \"$DISCO_LIB/runtime.sh\"; source \"$DISCO_LIB/hooks/runtime.sh\"; disco_restart_services")
        .env("DISCO_LIB", &lib)
        .env("DISCO_PROFILE", "local")
        .env("DISCO_NODE_ROOT", &master)
        .env("DISCO_NODE_NAME", "master")
        .env("DISCO_CLUSTER_ID", &id)
        .status()
        .unwrap();
    assert!(status.success());
    let recovered = wait_for_state(&server, TENANT, &id, "ready", Duration::from_secs(20));
    assert!(
        recovered.get("icclab.disco.state_reason").is_none(),
        "{recovered}"
    );
    assert_eq!(recovered["external_ip"], ready["external_ip"]);
    let history = events(&server, TENANT, &id, 0);
    assert!(
        history.iter().any(|e| e["message"] == "degraded -> ready"),
        "{history:#?}"
    );
}
