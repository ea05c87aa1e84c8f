//! The README's curl session, executed as written (only the service URL changed).

use crate::support::*;
use std::process::Command;

/// The shell block after `marker` in README.md.
fn readme_block(marker: &str) -> String {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let start = readme
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in README.md"));
    let block = &readme[start..];
    let body_start = block.find("```sh\n").expect("```sh after the marker") + "```sh\n".len();
    let body_end = block[body_start..].find("```").expect("closing fence") + body_start;
    block[body_start..body_end].to_string()
}

/// Runs a README block with bash against `server` (only the service URL changed).
fn run_block(server: &TestServer, marker: &str) -> (String, String) {
    let session = readme_block(marker);
    assert!(session.contains("DISCO=http://127.0.0.1:8888"));
    let script = session.replace("http://127.0.0.1:8888", &server.url(""));
    let home = tempfile::tempdir().unwrap();
    let output = Command::new("timeout")
        .args(["120", "bash", "-euo", "pipefail", "-c", &script])
        .current_dir(home.path())
        .env("HOME", home.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "the block after {marker} failed:\n{stdout}\n{stderr}\n{}",
        server.log()
    );
    (stdout, stderr)
}

#[test]
fn the_readme_session_runs_as_written() {
    let server = TestServer::start();
    let (stdout, stderr) = run_block(&server, "<!-- readme-session -->");
    assert!(stdout.contains("Category: disco;"), "{stdout}");
    assert!(stdout.contains("icclab.disco.state=\"ready\""), "{stdout}");
    assert!(
        stdout.contains("deployment finished"),
        "ssh did not show the log: {stdout}"
    );
    assert!(stdout.contains("hello from master"), "{stdout}");
    assert!(stdout.contains("status.json"), "{stdout}");
    assert!(stdout.trim_end().ends_with("deleted"), "{stdout}");
    assert!(
        !stderr.contains("Permanently added"),
        "the host key was not pinned: {stderr}"
    );
}

#[test]
fn the_readme_lifecycle_runs_as_written() {
    let server = TestServer::start();
    let (stdout, _) = run_block(&server, "<!-- readme-lifecycle -->");
    let settled: Vec<&str> = stdout
        .lines()
        .filter(|l| ["ready", "suspended"].contains(l))
        .collect();
    assert_eq!(
        settled,
        ["ready", "ready", "ready", "suspended", "ready"],
        "{stdout}"
    );
    assert!(stdout.contains(r#"\"name\":\"slave-3\""#), "{stdout}");
    assert!(stdout.contains("icclab.disco.expires_at="), "{stdout}");
    assert!(
        stdout.contains("action update requested: lifetime none -> 2h"),
        "{stdout}"
    );
    // The live stream ran until the cluster was deleted.
    assert!(
        stdout
            .trim_end()
            .ends_with(r#""message":"deleting -> deleted","node":null}"#),
        "{stdout}"
    );
}
