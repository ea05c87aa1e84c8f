//! The README's curl session, executed as written (only the service URL changed).

use crate::support::*;
use std::process::Command;

fn readme_session() -> String {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let start = readme
        .find("<!-- readme-session -->")
        .expect("session marker in README.md");
    let block = &readme[start..];
    let body_start = block.find("```sh\n").expect("```sh after the marker") + "```sh\n".len();
    let body_end = block[body_start..].find("```").expect("closing fence") + body_start;
    block[body_start..body_end].to_string()
}

#[test]
fn the_readme_session_runs_as_written() {
    let server = TestServer::start();
    let session = readme_session();
    assert!(session.contains("DISCO=http://127.0.0.1:8888"));
    let script = session.replace("http://127.0.0.1:8888", &server.url(""));
    let home = tempfile::tempdir().unwrap();
    let output = Command::new("timeout")
        .args(["120", "bash", "-euo", "pipefail", "-c", &script])
        .current_dir(home.path())
        .env("HOME", home.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the session failed:\n{stdout}\n{stderr}\n{}",
        server.log()
    );
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
