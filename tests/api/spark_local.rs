//! A real Spark standalone cluster on the local backend (Spark from PyPI's pyspark, Java 17):
//! 1 master + 2 slaves, SparkPi submitted over SSH on the master, the right answer.

use crate::support::*;
use std::time::Duration;

#[test]
fn a_spark_cluster_runs_sparkpi_submitted_over_ssh_on_the_master() {
    let server = TestServer::start();
    let id = create_ok(
        &server,
        "research",
        r#"icclab.disco.components.heat.slavecount="2", icclab.disco.dependencies.inject="{'spark': ''}", icclab.disco.components.spark.worker_memory="768m""#,
    );
    let attrs = wait_for_state(&server, "research", &id, "ready", Duration::from_secs(300));
    assert_eq!(attrs["icclab.disco.frameworks.done"], "base spark");
    let master = attrs["external_ip"].as_str().unwrap().to_string();

    // Ready means both workers registered with the master.
    let json = send("GET", &format!("http://{master}:8080/json/"), &[], None);
    let state: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    let mut workers: Vec<String> = state["workers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["state"] == "ALIVE")
        .map(|w| w["host"].as_str().unwrap().to_string())
        .collect();
    workers.sort();
    assert_eq!(
        workers,
        vec![
            server.node_address(1).to_string(),
            server.node_address(2).to_string()
        ]
    );

    let key = server.data_dir.path().join("spark.key");
    std::fs::write(&key, attrs["ssh_private_key"].as_str().unwrap()).unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let user = attrs["icclab.disco.ssh_user"].as_str().unwrap();
    let port = attrs["icclab.disco.ssh_port"].as_u64().unwrap() as u16;
    let (code, out, err) = ssh(
        &key,
        user,
        &master,
        port,
        // A job that cannot get executors waits forever: bound it.
        "timeout 240 spark-submit --master \"spark://$SPARK_LOCAL_IP:7077\" \"$SPARK_HOME/examples/src/main/python/pi.py\" 8",
    );
    assert_eq!(code, 0, "spark-submit failed:\n{out}\n{err}");
    let pi: f64 = out
        .lines()
        .find_map(|l| l.strip_prefix("Pi is roughly "))
        .unwrap_or_else(|| panic!("no answer in:\n{out}\n{err}"))
        .trim()
        .parse()
        .unwrap();
    assert!(
        (pi - std::f64::consts::PI).abs() < 0.05,
        "Pi is roughly {pi}?"
    );

    // The job ran on the cluster, not in local mode.
    let json = send("GET", &format!("http://{master}:8080/json/"), &[], None);
    let state: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    assert!(
        state["completedapps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == "PythonPi"),
        "{}",
        json.body
    );

    let response = send(
        "DELETE",
        &server.url(&format!("/disco/{id}")),
        &[("X-Tenant-Name", b"research")],
        None,
    );
    assert_eq!(response.status, 200);
    wait_until_gone(&server, "research", &id, Duration::from_secs(60));
    assert!(
        processes_mentioning(&id).is_empty(),
        "Spark processes survived delete"
    );
    for (index, ports) in [
        (0u8, &[7077u16, 8080, 18080][..]),
        (1, &[8081][..]),
        (2, &[8081][..]),
    ] {
        for port in ports {
            assert!(
                !port_in_use(server.node_address(index), *port),
                "{}:{port} still in use",
                server.node_address(index)
            );
        }
    }
}
