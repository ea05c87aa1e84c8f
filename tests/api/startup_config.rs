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
    let mut command = Command::new(env!("CARGO_BIN_EXE_disco"));
    // Only what the test says about disco's own OpenStack identity counts.
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("OS_")) {
        command.env_remove(name);
    }
    let mut child = command
        .args(["serve", "--config"])
        .arg(&path)
        .env("HOME", dir.path())
        .current_dir(dir.path())
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
fn the_local_backend_refuses_a_public_bind_with_static_users_saying_why() {
    let (code, stderr) = serve_with(
        "[server]\nbind = 0.0.0.0:0\n[auth]\nmode = static\nusers_file = users",
        &[],
    );
    assert_eq!(code, Some(2), "{stderr}");
    for words in [
        "server.bind",
        "0.0.0.0:0 is not a loopback address",
        "as disco's own Unix user",
        "every tenant's keys and the database",
        "local.allow_remote_tenants = true",
    ] {
        assert!(stderr.contains(words), "`{words}` missing: {stderr}");
    }
}

#[test]
fn allowing_remote_tenants_logs_a_warning_at_every_start() {
    let mut server = crate::support::TestServer::start_with(crate::support::ServerOptions {
        env: vec![("DISCO_LOCAL__ALLOW_REMOTE_TENANTS".into(), "true".into())],
        ..Default::default()
    });
    let warning =
        "local.allow_remote_tenants = true: every tenant's commands run as this Unix user";
    assert_eq!(server.log().matches(warning).count(), 1, "{}", server.log());
    server.restart();
    assert_eq!(server.log().matches(warning).count(), 1, "{}", server.log());
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

#[test]
fn the_openstack_backend_without_an_identity_of_its_own_refuses_to_start_saying_how_to_give_one() {
    let config = format!(
        "[server]\nbind = 127.0.0.1:0\n[backend]\nkind = openstack\n[auth]\nmode = keystone\n\
         [openstack]\nauth_url = http://127.0.0.1:9/v3\ngateway_cidr = 127.0.0.1/32\ntemplates_dir = {}",
        repo_root().join("templates/heat").display()
    );
    let config = config.as_str();
    let (code, stderr) = serve_with(config, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("the OS_* environment"), "{stderr}");
    assert!(
        stderr.contains("set openstack.cloud (or OS_CLOUD) to a cloud of clouds.yaml"),
        "{stderr}"
    );
    // OS_CLOUD names the cloud as it does for the OpenStack client; this one is nowhere.
    let (code, stderr) = serve_with(config, &[("OS_CLOUD", "nowhere")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("cloud nowhere of clouds.yaml"), "{stderr}");
}

#[test]
fn the_openstack_backend_without_a_gateway_network_refuses_to_start_saying_what_to_set() {
    let config = format!(
        "[server]\nbind = 127.0.0.1:0\n[backend]\nkind = openstack\n[auth]\nmode = keystone\n\
         [openstack]\nauth_url = http://127.0.0.1:9/v3\ntemplates_dir = {}",
        repo_root().join("templates/heat").display()
    );
    let (code, stderr) = serve_with(&config, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("openstack.gateway_cidr: is required with backend.kind = openstack"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing but SSH is open"), "{stderr}");
    // An optional network that is set must be one.
    let (code, stderr) = serve_with(
        &config,
        &[
            ("DISCO_OPENSTACK__GATEWAY_CIDR", "127.0.0.1/32"),
            ("DISCO_OPENSTACK__SERVICE_CIDR", "everyone"),
        ],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("openstack.service_cidr: `everyone` is not an IPv4 network"),
        "{stderr}"
    );
}
