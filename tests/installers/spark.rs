use crate::sandbox::*;
use disco::frameworks::HookEvent;

const TARBALL: &[u8] = b"a stand-in for spark-3.5.5-bin-hadoop3.tgz";

/// Stubs that play the network: downloads write TARBALL, the master's JSON lists this worker;
/// or, once a test called `workers`, those workers and this node's once it started one.
fn spark_sandbox(slaves: usize) -> Sandbox {
    let mut sandbox = Sandbox::new(slaves);
    sandbox.stub(
        "curl",
        &format!(
            r#"for a in "$@"; do case "$a" in */json/)
    me=$(printf '{{"host":"%s","state":"ALIVE"}}' "$DISCO_NODE_ADDR")
    if [ -e "$DISCO_STUB_LOG.workers" ]; then
        list=$(cat "$DISCO_STUB_LOG.workers")
        grep -qaP 'enable\x1f--now\x1fdisco-spark-worker' "$DISCO_STUB_LOG" && list="$list${{list:+,}}$me"
        printf '{{"workers":[%s]}}' "$list"
    else
        printf '{{"workers":[%s]}}' "$me"
    fi
    exit 0;; esac; done
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

/// What the Spark master's /json/ lists from now on: these hosts, with their state.
fn workers(sandbox: &Sandbox, workers: &[(String, &str)]) {
    let list: Vec<String> = workers
        .iter()
        .map(|(host, state)| format!(r#"{{"host":"{host}","state":"{state}"}}"#))
        .collect();
    std::fs::write(
        format!("{}.workers", sandbox.log_file().display()),
        list.join(","),
    )
    .unwrap();
}

fn has_unit(run: &Run, service: &str) -> bool {
    run.root
        .join(format!("etc/systemd/system/disco-{service}.service"))
        .exists()
}

fn recorded_services(run: &Run) -> String {
    std::fs::read_to_string(run.root.join("run/disco/services/order")).unwrap_or_default()
}

#[test]
fn a_leaving_slave_stops_its_worker_for_good() {
    let sandbox = spark_sandbox(2);
    let sha = checksum();
    let frameworks: &[(&str, &[(&str, &str)])] = &[("spark", &[("sha256", &sha)])];
    let deployed = sandbox.deploy(2, frameworks);
    assert!(deployed.success, "{}", deployed.output);
    assert_eq!(recorded_services(&deployed), "agent\nspark-worker\n");
    let run = sandbox.hook(2, frameworks, HookEvent::Leave, &[2], &[]);
    assert!(run.success, "{}", run.output);
    let stop = run.assert_called("systemctl", &["disable"]);
    assert_eq!(stop.args, ["disable", "--now", "disco-spark-worker"]);
    assert_eq!(recorded_services(&run), "agent\n");
    assert_eq!(run.status["done"], serde_json::json!(["spark"]));
}

#[test]
fn when_the_last_slaves_leave_the_master_runs_a_worker_again() {
    for (leaving, master_runs_one) in [(&[1, 2][..], true), (&[2][..], false)] {
        let sandbox = spark_sandbox(2);
        let sha = checksum();
        let frameworks: &[(&str, &[(&str, &str)])] = &[("spark", &[("sha256", &sha)])];
        let deployed = sandbox.deploy(0, frameworks);
        assert!(deployed.success, "{}", deployed.output);
        assert!(!has_unit(&deployed, "spark-worker"));
        let alive: Vec<(String, &str)> = sandbox.addresses[1..]
            .iter()
            .map(|a| (a.to_string(), "ALIVE"))
            .collect();
        workers(&sandbox, &alive);
        let run = sandbox.hook(0, frameworks, HookEvent::Leave, leaving, &[]);
        assert!(run.success, "{}", run.output);
        assert_eq!(
            has_unit(&run, "spark-worker"),
            master_runs_one,
            "{leaving:?}"
        );
        if master_runs_one {
            let unit = run.unit("spark-worker");
            let master = sandbox.addresses[0];
            for part in [
                format!("\"--host\" \"{master}\""),
                format!("\"spark://{master}:7077\""),
            ] {
                assert!(unit.contains(&part), "{part} not in {unit}");
            }
            assert!(recorded_services(&run).ends_with("spark-worker\n"));
        }
    }
}

#[test]
fn slaves_joining_stop_the_masters_own_worker_once_another_is_alive() {
    for (others_alive, stopped) in [(true, true), (false, false)] {
        let sandbox = spark_sandbox(1);
        let sha = checksum();
        let frameworks: &[(&str, &[(&str, &str)])] = &[("spark", &[("sha256", &sha)])];
        // Built without slaves: the master runs a worker.
        let deployed = sandbox.deploy_with(0, frameworks, &[("DISCO_SLAVE_ADDRS", "")]);
        assert!(deployed.success, "{}", deployed.output);
        assert!(has_unit(&deployed, "spark-worker"));
        let slave = sandbox.addresses[1].to_string();
        let state = if others_alive { "ALIVE" } else { "DEAD" };
        workers(&sandbox, &[(slave, state)]);
        let run = sandbox.hook(0, frameworks, HookEvent::Join, &[1], &[]);
        assert!(run.success, "{}", run.output);
        let stop = run.find("systemctl", &["disable", "--now", "disco-spark-worker"]);
        assert_eq!(stop.is_some(), stopped, "{}", run.output);
        assert_eq!(recorded_services(&run).contains("spark-worker"), !stopped);
    }
}

/// The `systemctl start` calls of a run, in order.
fn started_units(run: &Run) -> Vec<String> {
    run.calls_to("systemctl")
        .iter()
        .filter(|c| c.args.first().map(String::as_str) == Some("start"))
        .map(|c| c.args[1..].join(" "))
        .collect()
}

#[test]
fn resume_restarts_the_services_in_their_start_order_and_waits_for_the_worker() {
    let sandbox = spark_sandbox(1);
    let sha = checksum();
    let frameworks: &[(&str, &[(&str, &str)])] = &[("spark", &[("sha256", &sha)])];
    let run = sandbox.deploy_then_hook(0, frameworks, HookEvent::Resume, &[]);
    assert!(run.success, "{}", run.output);
    assert_eq!(
        started_units(&run),
        [
            "disco-agent",
            "disco-logserver",
            "disco-spark-master",
            "disco-spark-history"
        ]
    );
    assert!(
        run.output.contains("no Spark worker on this node"),
        "{}",
        run.output
    );

    let run = sandbox.deploy_then_hook(1, frameworks, HookEvent::Resume, &[]);
    assert!(run.success, "{}", run.output);
    assert_eq!(started_units(&run), ["disco-agent", "disco-spark-worker"]);
    // Then it waited until the master listed the worker as ALIVE again.
    let start = run
        .calls
        .iter()
        .position(|c| c.program == "systemctl" && c.args[0] == "start")
        .unwrap();
    let look = run
        .calls
        .iter()
        .position(|c| c.program == "curl" && c.line().ends_with(":8080/json/"))
        .expect("the worker's registration was checked");
    assert!(start < look);
    assert!(run.output.contains("registered with"), "{}", run.output);
}

/// Every file under `dir` whose content contains `needle`.
fn files_containing(dir: &std::path::Path, needle: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if std::fs::read(&path).is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle)) {
            found.push(path);
        }
    }
    found
}

#[test]
fn spark_authenticates_with_the_clusters_secret_kept_in_a_file_only_the_login_user_reads() {
    let sandbox = spark_sandbox(0);
    let sha = checksum();
    let secret = "Gen3ratedSparkSecretX";
    let run = sandbox.deploy_with(
        0,
        &[("spark", &[("sha256", &sha)])],
        &[
            ("DISCO_SPARK_SECRET", secret),
            ("DISCO_LOGIN_USER", "debian"),
            ("DISCO_SECRET_VARS", "DISCO_SPARK_SECRET:spark"),
        ],
    );
    assert!(run.success, "{}", run.output);
    let defaults = run.file("etc/spark/spark-defaults.conf");
    assert!(
        defaults.contains("spark.authenticate              true\n")
            && defaults.contains(&format!("spark.authenticate.secret       {secret}\n")),
        "{defaults}"
    );
    let mode = std::fs::metadata(run.root.join("etc/spark/spark-defaults.conf"))
        .unwrap()
        .permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );
    run.assert_called("chown", &["debian", "etc/spark/spark-defaults.conf"]);
    // Not on any command line, in no log, in no unit: only in spark-defaults.conf.
    for call in &run.calls {
        assert!(!call.line().contains(secret), "{}", call.line());
    }
    assert!(!run.output.contains(secret));
    let holders = files_containing(&run.root, secret);
    assert_eq!(
        holders,
        vec![run.root.join("etc/spark/spark-defaults.conf")],
        "{holders:?}"
    );
}
