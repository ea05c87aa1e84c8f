//! `disco plan`: the stack a create request would send to Heat, without any cloud; the same
//! refusals as the HTTP API.

use crate::support::*;
use base64::Engine;
use std::io::Read;
use std::process::{Command, Output};

/// `disco plan` with a configuration limiting slaves as the test server does, `args` after.
fn plan(dir: &std::path::Path, args: &[&str]) -> Output {
    let config = dir.join("plan.cfg");
    std::fs::write(
        &config,
        format!(
            "[limits]\nmax_slavecount = {}\n[frameworks]\ndir = {}\n[openstack]\ntemplates_dir = {}\n",
            ServerOptions::default().max_slavecount,
            repo_root().join("frameworks").display(),
            repo_root().join("templates/heat").display()
        ),
    )
    .expect("write config");
    Command::new(env!("CARGO_BIN_EXE_disco"))
        .arg("plan")
        .arg("--config")
        .arg(&config)
        .args(args)
        .current_dir(dir)
        // No cloud is contacted: nothing tells disco where one would be.
        .env_remove("OS_AUTH_URL")
        .env_remove("OS_CLOUD")
        .output()
        .expect("run disco plan")
}

#[test]
fn the_plan_refuses_what_the_api_refuses_with_the_same_message() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let cases = [
        ("icclab.disco.components.heat.slavecount", "many"),
        ("icclab.disco.components.heat.slavecount", "5"),
        (
            "icclab.disco.dependencies.inject",
            "{'spark': '', 'nosuch': ''}",
        ),
        ("icclab.disco.components.spark.version", "3.5; rm -rf /"),
        ("icclab.disco.components.heat.masterimage", "ubuntu\tnext"),
        ("icclab.disco.components.heat.nosuch", "x"),
    ];
    for (name, value) in cases {
        // A tab is the one control character an HTTP header can carry.
        let header = format!("{name}=\"{value}\"");
        let api = create(&server, "t", &header);
        assert_eq!(api.status, 400, "{name}={value:?}: {}", api.body);
        let output = plan(dir.path(), &["-a", &format!("{name}={value}")]);
        assert_eq!(output.status.code(), Some(2), "{name}={value:?}");
        assert!(output.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&output.stderr);
        let message = stderr
            .trim_end()
            .strip_prefix("disco plan: ")
            .unwrap_or_else(|| panic!("{stderr}"));
        assert!(
            api.body.contains(message),
            "{name}={value:?}: the API said {:?}, disco plan {message:?}",
            api.body
        );
    }
    assert!(listed(&server, "t").is_empty());
}

#[test]
fn the_plan_shows_parameters_installers_and_template_and_prints_json_for_programs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let flags = [
        "-a",
        "icclab.disco.dependencies.inject={'spark': ''}",
        "-a",
        "icclab.disco.components.heat.slavecount=3",
        "-a",
        "icclab.disco.components.heat.masterflavor=m1.xlarge",
    ];
    let readable = plan(dir.path(), &flags);
    assert!(readable.status.success(), "{readable:?}");
    let text = String::from_utf8_lossy(&readable.stdout);
    for expected in [
        "# Heat parameters",
        "master_flavor = m1.xlarge",
        "slave_count = 3",
        "# Installer run by cloud-init on every master node",
        "# Installer run by cloud-init on every slave node",
        "\"heat_template_version\"",
    ] {
        assert!(text.contains(expected), "no {expected:?} in\n{text}");
    }

    let mut json_flags = flags.to_vec();
    json_flags.extend(["--output", "json"]);
    let json = plan(dir.path(), &json_flags);
    assert!(json.status.success(), "{json:?}");
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).expect("one JSON");
    assert_eq!(document["template"]["heat_template_version"], "2018-08-31");
    assert_eq!(document["parameters"]["slave_count"], 3);
    assert_eq!(document["parameters"]["master_flavor"], "m1.xlarge");
    assert!(document["files"]["slave.yaml"].is_string());
    // The master's framework files travel as one gzip+base64 JSON bundle; decoded, it holds
    // Spark's master installer.
    let bundle = document["files"]["frameworks/master.json"]
        .as_str()
        .expect("the master's bundle");
    let compressed = base64::engine::general_purpose::STANDARD
        .decode(bundle)
        .expect("base64");
    let mut text = String::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_string(&mut text)
        .expect("gzip");
    let files: serde_json::Value = serde_json::from_str(&text).expect("JSON bundle");
    assert!(
        files["spark/install-master.sh"]["content"]
            .as_str()
            .is_some_and(|script| script.contains("spark")),
        "{text}"
    );
    for role in ["master", "slave"] {
        let script = document["installers"][role].as_str().expect("installer");
        assert!(script.starts_with("#!/bin/bash"), "{script}");
        assert!(script.contains("spark:"), "{script}");
    }

    // The same request from a file in X-OCCI-Attribute syntax gives the same document.
    let file = dir.path().join("request.occi");
    std::fs::write(
        &file,
        "# a Spark cluster\n\
         X-OCCI-Attribute: icclab.disco.dependencies.inject=\"{'spark': ''}\", \
         icclab.disco.components.heat.slavecount=\"3\"\n\
         icclab.disco.components.heat.masterflavor=\"m1.xlarge\"\n",
    )
    .expect("write request");
    let from_file = plan(
        dir.path(),
        &["--file", &file.display().to_string(), "--output", "json"],
    );
    assert!(from_file.status.success(), "{from_file:?}");
    assert_eq!(from_file.stdout, json.stdout);
}

#[test]
fn the_plan_shows_the_users_own_public_key_as_a_create_sends_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGPj+wbJvx2/Ue3/wMUyL6UKzY1p5xf6rveP1C90MMmy me@laptop";
    let json = plan(
        dir.path(),
        &[
            "-a",
            "icclab.disco.dependencies.inject={'shell': ''}",
            "-a",
            &format!("icclab.disco.components.heat.sshpublickey={key}"),
            "--output",
            "json",
        ],
    );
    assert!(json.status.success(), "{json:?}");
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).expect("one JSON");
    assert_eq!(document["parameters"]["ssh_public_key"], key);

    // The readable plan too; without a key of their own, a placeholder says disco makes one.
    let readable = plan(
        dir.path(),
        &[
            "-a",
            &format!("icclab.disco.components.heat.sshpublickey={key}"),
        ],
    );
    let text = String::from_utf8_lossy(&readable.stdout);
    assert!(
        text.contains(&format!("ssh_public_key = {key}\n")),
        "{text}"
    );
    let generated = plan(dir.path(), &["--output", "json"]);
    let document: serde_json::Value = serde_json::from_slice(&generated.stdout).expect("one JSON");
    let placeholder = document["parameters"]["ssh_public_key"]
        .as_str()
        .expect("a key");
    assert!(placeholder.ends_with(" disco-plan"), "{placeholder}");
}
