use crate::sandbox::*;

const HOSTILE: &str = r#"printf '%s' '$(touch pwned) `id` ; rm -rf / #' > received"#;

#[test]
fn the_command_reaches_bash_byte_for_byte_on_every_node() {
    let mut sandbox = Sandbox::new(1);
    sandbox.listen(0, 8084);
    for node in [0, 1] {
        let run = sandbox.deploy(node, &[("shell", &[("command", HOSTILE)])]);
        assert!(run.success, "{}", run.output);
        assert_eq!(
            std::fs::read_to_string(run.root.join("received")).unwrap(),
            "$(touch pwned) `id` ; rm -rf / #"
        );
        assert!(!run.root.join("pwned").exists());
    }
}

#[test]
fn roles_limit_where_the_command_runs() {
    let mut sandbox = Sandbox::new(1);
    sandbox.listen(0, 8084);
    let params: &[(&str, &str)] = &[("command", "touch ran"), ("roles", "slaves")];
    let master = sandbox.deploy(0, &[("shell", params)]);
    let slave = sandbox.deploy(1, &[("shell", params)]);
    assert!(
        master.success && slave.success,
        "{}{}",
        master.output,
        slave.output
    );
    assert!(!master.root.join("ran").exists());
    assert!(slave.root.join("ran").exists());
}

#[test]
fn a_failing_command_fails_the_node_with_a_reason() {
    let sandbox = Sandbox::new(1);
    let run = sandbox.deploy(1, &[("shell", &[("command", "exit 4")])]);
    assert!(!run.success);
    assert_eq!(run.status["state"], "failed");
    assert_eq!(run.status["current"], "shell");
    assert!(
        run.status["reason"].as_str().unwrap().contains("status 4"),
        "{}",
        run.status
    );
}

#[test]
fn a_failing_commands_last_output_lines_are_in_the_reason() {
    let sandbox = Sandbox::new(1);
    let command =
        "for i in 1 2 3 4 5 6 7; do echo \"line $i\"; done\necho 'no such file' >&2\nexit 3";
    let run = sandbox.deploy(1, &[("shell", &[("command", command)])]);
    assert!(!run.success);
    let reason = run.status["reason"].as_str().unwrap();
    assert!(
        reason.contains("status 3 on slave-1")
            && reason.contains("line 4 | line 5 | line 6 | line 7 | no such file"),
        "{reason}"
    );
    // Only the last five lines, and nothing the runtime logged before the command ran.
    assert!(
        !reason.contains("line 3") && !reason.contains("running the command"),
        "{reason}"
    );
}
