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

    // Spark authenticates: the same job with the node's configuration minus the secret
    // (spark.authenticate*) is refused: the driver cannot register with the master and gives
    // up (Spark tries for about a minute), rather than running or waiting for executors.
    let (code, out, err) = ssh(
        &key,
        user,
        &master,
        port,
        "conf=$(mktemp -d) && grep -v '^spark.authenticate' \"$SPARK_CONF_DIR/spark-defaults.conf\" > \"$conf/spark-defaults.conf\" && timeout 200 env SPARK_CONF_DIR=\"$conf\" spark-submit --master \"spark://$SPARK_LOCAL_IP:7077\" \"$SPARK_HOME/examples/src/main/python/pi.py\" 2",
    );
    assert!(
        code != 0 && code != 124,
        "a job without the secret ran, or hung (exit {code}):\n{out}\n{err}"
    );
    assert!(!out.contains("Pi is roughly"), "{out}\n{err}");
    // The secret is a generated one, shown to the owner, and only in 0600 files on the nodes.
    let secret = attrs["icclab.disco.components.spark.secret"]
        .as_str()
        .expect("the generated Spark secret is shown to the owner");
    assert!(secret.len() >= 16, "{secret}");
    let defaults = server
        .clusters_dir()
        .join(&id)
        .join("master/etc/spark/spark-defaults.conf");
    let conf = std::fs::read_to_string(&defaults).unwrap();
    assert!(conf.contains(&format!("spark.authenticate.secret       {secret}")));
    let mode = std::fs::metadata(&defaults).unwrap().permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );
    assert!(!server.log().contains(secret));

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

/// The addresses of the workers the Spark master lists as ALIVE.
fn alive_workers(master: &str) -> Vec<String> {
    let json = send("GET", &format!("http://{master}:8080/json/"), &[], None);
    let state: serde_json::Value = serde_json::from_str(&json.body).unwrap_or_default();
    let mut workers: Vec<String> = state["workers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|w| w["state"] == "ALIVE")
        .map(|w| w["host"].as_str().unwrap_or_default().to_string())
        .collect();
    workers.sort();
    workers
}

fn wait_for_workers(master: &str, wanted: &[String]) {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while alive_workers(master) != wanted {
        assert!(
            std::time::Instant::now() < deadline,
            "alive workers {:?}, wanted {wanted:?}",
            alive_workers(master)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn a_spark_cluster_scales_its_workers_and_they_reregister_after_a_resume() {
    const TENANT: &str = "research";
    let server = TestServer::start();
    let id = create_ok(
        &server,
        TENANT,
        r#"icclab.disco.components.heat.slavecount="1", icclab.disco.dependencies.inject="{'spark': ''}", icclab.disco.components.spark.worker_memory="768m""#,
    );
    let attrs = wait_until_settled(&server, TENANT, &id, "ready", Duration::from_secs(300));
    let master = attrs["external_ip"].as_str().unwrap().to_string();
    let slave = |n: u8| server.node_address(n).to_string();
    wait_for_workers(&master, &[slave(1)]);

    // 1 -> 2 workers: the new slave's worker registers before the cluster is ready again.
    scale(&server, TENANT, &id, 2);
    let attrs = wait_until_settled(&server, TENANT, &id, "ready", Duration::from_secs(300));
    assert_eq!(alive_workers(&master), [slave(1), slave(2)]);
    let key = server.data_dir.path().join("spark.key");
    std::fs::write(&key, attrs["ssh_private_key"].as_str().unwrap()).unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let user = attrs["icclab.disco.ssh_user"].as_str().unwrap().to_string();
    let port = attrs["icclab.disco.ssh_port"].as_u64().unwrap() as u16;
    let (code, out, err) = ssh(
        &key,
        &user,
        &master,
        port,
        "timeout 240 spark-submit --master \"spark://$SPARK_LOCAL_IP:7077\" \"$SPARK_HOME/examples/src/main/python/pi.py\" 8",
    );
    assert_eq!(code, 0, "spark-submit failed:\n{out}\n{err}");
    assert!(out.contains("Pi is roughly 3.1"), "{out}\n{err}");

    // 2 -> 1: the removed worker stops, its node's ports are free.
    scale(&server, TENANT, &id, 1);
    wait_until_settled(&server, TENANT, &id, "ready", Duration::from_secs(300));
    wait_for_workers(&master, &[slave(1)]);
    assert!(!port_in_use(server.node_address(2), 8081));

    // Suspend stops Spark; resume brings the master back and the worker re-registers.
    let suspend = act(&server, TENANT, &id, "suspend", "");
    assert_eq!(suspend.status, 202, "{}", suspend.body);
    wait_until_settled(&server, TENANT, &id, "suspended", Duration::from_secs(60));
    assert!(!port_in_use(server.node_address(0), 8080));
    assert!(!port_in_use(server.node_address(1), 8081));
    let resume = act(&server, TENANT, &id, "resume", "");
    assert_eq!(resume.status, 202, "{}", resume.body);
    wait_until_settled(&server, TENANT, &id, "ready", Duration::from_secs(300));
    assert_eq!(alive_workers(&master), [slave(1)]);
    let (code, _, err) = ssh(&key, &user, &master, port, "true");
    assert_eq!(code, 0, "the key no longer logs in after resume: {err}");
}
