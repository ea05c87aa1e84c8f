use crate::sandbox::*;

#[test]
fn the_log_server_runs_unprivileged_on_the_masters_address() {
    let mut sandbox = Sandbox::new(1);
    sandbox.listen(0, 8084);
    let run = sandbox.deploy(0, &[]);
    assert!(run.success, "{}", run.output);
    run.assert_called("apt-get", &["install", "python3"]);
    let unit = run.unit("logserver");
    assert!(unit.contains("User=nobody"), "{unit}");
    let master = sandbox.addresses[0].to_string();
    assert!(
        unit.contains(&format!(
            "/base/logserver.py\" \"8084\" \"--bind\" \"{master}\""
        )),
        "{unit}"
    );
    run.assert_called("systemctl", &["enable", "--now", "disco-logserver"]);
    assert_eq!(run.status["state"], "ready");
    assert_eq!(run.status["done"], serde_json::json!(["base"]));
}

#[test]
fn slaves_run_no_base_step() {
    let sandbox = Sandbox::new(1);
    let run = sandbox.deploy(1, &[]);
    assert!(run.success, "{}", run.output);
    // Only disco's agent starts (every VM runs one); no base installer.
    assert!(
        run.calls.iter().all(|c| c.program == "systemctl"),
        "{:?}",
        run.calls
    );
    run.assert_called("systemctl", &["enable", "--now", "disco-agent"]);
    assert_eq!(run.status["done"], serde_json::json!([]));
}
