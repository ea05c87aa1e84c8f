//! Start-up: a bad configuration stops the server with a message naming the key.

use crate::support::repo_root;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `disco serve` and returns (exit code, stderr) if it exits within a few seconds.
fn serve_with(config: &str, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sm.cfg");
    std::fs::write(
        &path,
        format!(
            "{config}\n[store]\ndata_dir = {}\n[frameworks]\ndir = {}\n",
            dir.path().join("var").display(),
            repo_root().join("frameworks").display()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_disco"))
        .args(["serve", "--config"])
        .arg(&path)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
            return (status.code(), stderr);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return (None, String::new());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_bad_value_stops_start_up_naming_the_key() {
    let (code, stderr) = serve_with(
        "[local]\nssh_port = twenty-two\n[server]\nbind = 127.0.0.1:0",
        &[],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("ssh_port"), "{stderr}");
}

#[test]
fn an_unknown_key_stops_start_up_naming_it() {
    let (code, stderr) = serve_with("[server]\nbind = 127.0.0.1:0\nbnid = x", &[]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("bnid"), "{stderr}");
}

#[test]
fn a_public_bind_without_users_is_refused() {
    let (code, stderr) = serve_with("[server]\nbind = 0.0.0.0:0", &[]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("server.bind") && stderr.contains("loopback"),
        "{stderr}"
    );
}

#[test]
fn the_environment_overrides_the_file_and_is_checked_the_same_way() {
    let (code, stderr) = serve_with(
        "[server]\nbind = 127.0.0.1:0",
        &[("DISCO_LOCAL__ADDRESS_RANGE", "10.0.0.0/8")],
    );
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("local.address_range") && stderr.contains("loopback"),
        "{stderr}"
    );
}

#[test]
fn a_broken_framework_manifest_stops_start_up() {
    let frameworks = tempfile::tempdir().unwrap();
    let copy = |name: &str| {
        let dir = frameworks.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    };
    let spark = copy("spark");
    std::fs::write(
        spark.join("manifest.toml"),
        "name = \"spark\"\nversion = \"1\"\ndescription = \"d\"\nroles = [\"master\"]\ndependencies = [\"hadoop\"]\n",
    )
    .unwrap();
    std::fs::write(spark.join("install.sh"), "#!/bin/sh\n").unwrap();
    let (code, stderr) = serve_with(
        "[server]\nbind = 127.0.0.1:0",
        &[("DISCO_FRAMEWORKS__DIR", frameworks.path().to_str().unwrap())],
    );
    assert_eq!(code, Some(2));
    assert!(stderr.contains("depends on hadoop"), "{stderr}");
}
