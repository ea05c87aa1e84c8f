//! Capacity of the local backend: N nodes do not cost N threads, and a framework's slow local
//! check neither holds an HTTP worker nor a request for longer than `local.check_timeout_secs`.

use crate::support::*;
use std::time::{Duration, Instant};

/// Threads of the process `pid`.
fn threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|entries| entries.count())
        .unwrap_or(0)
}

#[test]
fn eleven_building_nodes_do_not_cost_eleven_threads() {
    let server = TestServer::start_with(ServerOptions {
        max_slavecount: 10,
        ..ServerOptions::default()
    });
    let pid = server.pid().expect("server runs");
    assert!(listed(&server, "t").is_empty());
    let before = threads(pid);
    let id = create_ok(
        &server,
        "t",
        r#"icclab.disco.components.heat.slavecount="10", icclab.disco.dependencies.inject="{'shell': ''}", icclab.disco.components.shell.command="sleep 8""#,
    );
    // Every node's deploy driver started (each is a child of disco, running the command).
    let deadline = Instant::now() + Duration::from_secs(30);
    let drivers = |server: &TestServer| {
        (0..=10)
            .filter(|i| {
                let node = if *i == 0 {
                    "master".to_string()
                } else {
                    format!("slave-{i}")
                };
                server
                    .clusters_dir()
                    .join(&id)
                    .join(node)
                    .join("run/disco/deploy.pid")
                    .exists()
            })
            .count()
    };
    while drivers(&server) < 11 {
        assert!(
            Instant::now() < deadline,
            "not every driver started: {}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut during = 0;
    for _ in 0..20 {
        during = during.max(threads(pid));
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("server threads: {before} before, at most {during} with 11 nodes building");
    assert_eq!(state(&server, "t", &id).as_deref(), Some("building"));
    assert!(
        during <= before + 5,
        "{before} threads before, {during} with 11 nodes building"
    );
}

/// A copy of the catalog whose `shell` has a local check that takes 30 s.
fn catalog_with_slow_check() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(
        "cp",
        &[
            "-r",
            &repo_root().join("frameworks").display().to_string(),
            &dir.path().display().to_string(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let shell = dir.path().join("frameworks/shell");
    let manifest = std::fs::read_to_string(shell.join("manifest.toml")).unwrap();
    std::fs::write(
        shell.join("manifest.toml"),
        manifest.replace("[local]\n", "[local]\ncheck = \"local-check.sh\"\n"),
    )
    .unwrap();
    std::fs::write(
        shell.join("local-check.sh"),
        "#!/usr/bin/env bash\nsleep 30 &\necho $! > \"$(dirname \"$0\")/sleep.pid\"\nwait\n",
    )
    .unwrap();
    dir
}

#[test]
fn a_slow_local_check_times_out_with_503_without_holding_the_only_worker() {
    let catalog = catalog_with_slow_check();
    let frameworks = catalog.path().join("frameworks");
    let server = TestServer::start_with(ServerOptions {
        env: vec![
            (
                "DISCO_FRAMEWORKS__DIR".into(),
                frameworks.display().to_string(),
            ),
            ("DISCO_LOCAL__CHECK_TIMEOUT_SECS".into(), "3".into()),
            ("DISCO_SERVER__WORKERS".into(), "1".into()),
        ],
        ..ServerOptions::default()
    });
    let url = server.url("/disco/");
    let started = Instant::now();
    let creating = std::thread::spawn(move || {
        send(
            "POST",
            &url,
            &[
                ("Category", KIND.as_bytes()),
                ("X-Tenant-Name", b"t"),
                (
                    "X-OCCI-Attribute",
                    br#"icclab.disco.dependencies.inject="{'shell': ''}""#,
                ),
            ],
            None,
        )
    });
    std::thread::sleep(Duration::from_millis(500));
    // The one HTTP worker answers while the check runs.
    let asked = Instant::now();
    assert!(listed(&server, "t").is_empty());
    assert!(
        asked.elapsed() < Duration::from_millis(1500),
        "a GET waited {:?} for the check",
        asked.elapsed()
    );
    let response = creating.join().unwrap();
    let took = started.elapsed();
    assert_eq!(response.status, 503, "{}", response.body);
    assert!(
        response.body.contains("did not finish within 3 s")
            && response.body.contains("local.check_timeout_secs"),
        "{}",
        response.body
    );
    assert!(took < Duration::from_secs(8), "the create took {took:?}");
    // The check's whole process group was stopped, its sleep included.
    let script = frameworks
        .join("shell/local-check.sh")
        .display()
        .to_string();
    std::thread::sleep(Duration::from_millis(200));
    assert!(processes_mentioning(&script).is_empty());
    let sleep: i32 = std::fs::read_to_string(frameworks.join("shell/sleep.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{sleep}/stat")).unwrap_or_default();
    assert!(
        stat.is_empty() || stat.contains(") Z "),
        "the check's sleep survived: {stat}"
    );
    assert!(listed(&server, "t").is_empty());
}
