use crate::sandbox::*;

const TARBALL: &[u8] = b"a stand-in for spark-3.5.5-bin-hadoop3.tgz";

/// Stubs that play the network: downloads write TARBALL, the master's JSON lists this worker.
fn spark_sandbox(slaves: usize) -> Sandbox {
    let mut sandbox = Sandbox::new(slaves);
    sandbox.stub(
        "curl",
        &format!(
            r#"for a in "$@"; do case "$a" in */json/) printf '{{"workers":[{{"host":"%s","state":"ALIVE"}}]}}' "$DISCO_NODE_ADDR"; exit 0;; esac; done
out=""; prev=""; for a in "$@"; do [ "$prev" = -o ] && out=$a; prev=$a; done
[ -z "$out" ] || printf '%s' '{}' > "$out""#,
            String::from_utf8_lossy(TARBALL)
        ),
    );
    sandbox.listen(0, 8084);
    sandbox.listen(0, 7077);
    sandbox.listen(0, 18080);
    sandbox
}

fn checksum() -> String {
    sha256_hex(TARBALL)
}

#[test]
fn the_master_downloads_and_verifies_spark_then_runs_master_and_history_server() {
    let sandbox = spark_sandbox(2);
    let sha = checksum();
    let run = sandbox.deploy(0, &[("spark", &[("sha256", &sha)])]);
    assert!(run.success, "{}", run.output);
    let master = sandbox.addresses[0].to_string();
    run.assert_called("apt-get", &["install", "openjdk-17-jre-headless"]);
    run.assert_called(
        "curl",
        &["https://archive.apache.org/dist/spark/spark-3.5.5/spark-3.5.5-bin-hadoop3.tgz"],
    );
    run.assert_called("tar", &["-xzf", "spark-3.5.5.tgz"]);
    let unit = run.unit("spark-master");
    for part in [
        "org.apache.spark.deploy.master.Master",
        &format!("\"--host\" \"{master}\""),
        "\"--port\" \"7077\"",
        &format!("\"SPARK_LOCAL_IP={master}\""),
    ] {
        assert!(unit.contains(part), "{part} not in {unit}");
    }
    assert!(run.unit("spark-history").contains("HistoryServer"));
    run.assert_called("systemctl", &["enable", "--now", "disco-spark-master"]);
    let defaults = run.file("etc/spark/spark-defaults.conf");
    assert!(
        defaults.contains(&format!(
            "spark.master                    spark://{master}:7077"
        )),
        "{defaults}"
    );
    let profile = run.file("etc/profile.d/disco.sh");
    assert!(profile.contains("export SPARK_HOME="), "{profile}");
    // Users who submit jobs (not root) can write their event logs: the VM test's SparkPi
    // as the image's user failed with "Permission denied" before.
    let events = std::fs::metadata(run.root.join("var/lib/spark/events")).expect("events dir");
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&events.permissions()) & 0o7777,
        0o1777
    );
    // With slaves, the master runs no worker itself.
    assert!(!run
        .root
        .join("etc/systemd/system/disco-spark-worker.service")
        .exists());
}

#[test]
fn a_worker_joins_the_masters_url_with_its_own_address_and_memory() {
    let sandbox = spark_sandbox(2);
    let sha = checksum();
    let run = sandbox.deploy(
        2,
        &[(
            "spark",
            &[
                ("sha256", &sha),
                ("worker_memory", "3g"),
                ("worker_cores", "2"),
            ],
        )],
    );
    assert!(run.success, "{}", run.output);
    let unit = run.unit("spark-worker");
    let master = sandbox.addresses[0];
    let me = sandbox.addresses[2];
    for part in [
        "org.apache.spark.deploy.worker.Worker".to_string(),
        format!("\"--host\" \"{me}\""),
        "\"--memory\" \"3g\"".to_string(),
        "\"--cores\" \"2\"".to_string(),
        format!("\"spark://{master}:7077\""),
    ] {
        assert!(unit.contains(&part), "{part} not in {unit}");
    }
    run.assert_called("curl", &[&format!("http://{master}:8080/json/")]);
    let defaults = run.file("etc/spark/spark-defaults.conf");
    assert!(
        defaults.contains("spark.executor.memory           3g"),
        "{defaults}"
    );
}

#[test]
fn without_slaves_the_master_runs_a_worker_too() {
    let sandbox = spark_sandbox(0);
    let sha = checksum();
    let run = sandbox.deploy(0, &[("spark", &[("sha256", &sha)])]);
    assert!(run.success, "{}", run.output);
    assert!(run
        .unit("spark-worker")
        .contains(&format!("spark://{}:7077", sandbox.addresses[0])));
}

#[test]
fn a_tarball_with_the_wrong_checksum_fails_the_node_and_says_why() {
    let sandbox = spark_sandbox(1);
    let wrong = "0".repeat(64);
    let run = sandbox.deploy(0, &[("spark", &[("sha256", &wrong)])]);
    run.assert_download_refused("spark");
}

#[test]
fn a_mirror_replaces_the_download_location() {
    let sandbox = spark_sandbox(1);
    let sha = checksum();
    let run = sandbox.deploy_with(
        0,
        &[("spark", &[("sha256", &sha)])],
        &[("DISCO_MIRROR", "https://mirror.example.org/artifacts/")],
    );
    assert!(run.success, "{}", run.output);
    run.assert_called(
        "curl",
        &["https://mirror.example.org/artifacts/spark-3.5.5-bin-hadoop3.tgz"],
    );
}
