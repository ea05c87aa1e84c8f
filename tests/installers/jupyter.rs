use crate::sandbox::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// `python3 -m venv DIR` makes a virtual environment whose pip and jupyter are the sandbox's
/// recording stubs; any other python3 call runs the machine's python3.
const PYTHON3: &str = r#"if [ "${1:-}" = -m ] && [ "${2:-}" = venv ]; then
    dir="${*: -1}"; stubs=$(dirname "$0")
    mkdir -p "$dir/bin"
    ln -sf "$stubs/pip3" "$dir/bin/pip"
    ln -sf "$stubs/jupyter" "$dir/bin/jupyter"
    exit 0
fi
PATH=${PATH#*:} exec python3 "$@""#;

const TOKEN: &str = "0f3c9a6d1e2b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d";
const HOSTILE: &str = "pa'ss\"word $(touch pwned) `touch pwned2`; rm -rf / #\n\\n${HOME} ü";

fn jupyter_sandbox() -> Sandbox {
    let mut sandbox = Sandbox::new(1);
    sandbox.stub("python3", PYTHON3);
    sandbox.listen(0, 8084);
    sandbox.listen(0, 8888);
    sandbox
}

fn config(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.file("etc/jupyter/jupyter_server_config.json")).unwrap()
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if kind.is_file() {
            let bytes = std::fs::read(&path).unwrap_or_default();
            if bytes.windows(needle.len()).any(|w| w == needle) {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

fn assert_in_no_argv(run: &Run, secret: &str) {
    for call in &run.calls {
        assert!(
            !call.args.iter().any(|a| a.contains(secret)),
            "a secret is on the command line of {}",
            call.program
        );
    }
}

#[test]
fn without_a_password_the_generated_token_guards_jupyterlab_on_the_masters_address() {
    let sandbox = jupyter_sandbox();
    let run = sandbox.deploy_with(0, &[("jupyter", &[])], &[("DISCO_JUPYTER_TOKEN", TOKEN)]);
    assert!(run.success, "{}", run.output);
    let master = sandbox.addresses[0].to_string();
    run.assert_called("apt-get", &["install", "python3-venv"]);
    run.assert_called("useradd", &["--system", "jupyter"]);
    run.assert_called("python3", &["-m", "venv", "opt/jupyter"]);
    run.assert_called("pip", &["install", "jupyterlab==4.6.6"]);

    let config = config(&run);
    assert_eq!(config["ServerApp"]["ip"], master.as_str());
    assert_eq!(config["ServerApp"]["port"], 8888);
    assert_eq!(config["ServerApp"]["open_browser"], false);
    assert_eq!(config["ServerApp"]["allow_root"], false);
    assert_eq!(config["IdentityProvider"]["token"], TOKEN);
    assert_eq!(config["PasswordIdentityProvider"]["hashed_password"], "");
    assert_eq!(
        config["PasswordIdentityProvider"]["password_required"],
        false
    );
    let mode = std::fs::metadata(run.root.join("etc/jupyter/jupyter_server_config.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    run.assert_called(
        "chown",
        &["jupyter:jupyter", "etc/jupyter/jupyter_server_config.json"],
    );

    let unit = run.unit("jupyter");
    assert!(unit.contains("User=jupyter"), "{unit}");
    assert!(
        unit.contains("/opt/jupyter/bin/jupyter\" \"lab\""),
        "{unit}"
    );
    assert!(unit.contains("\"JUPYTER_CONFIG_DIR="), "{unit}");
    run.assert_called("systemctl", &["enable", "--now", "disco-jupyter"]);
    // The token is in the configuration only: not in the unit, a log, or a command line.
    assert_in_no_argv(&run, TOKEN);
    let holders = files_containing(&run.root, TOKEN.as_bytes());
    assert_eq!(holders.len(), 1, "{holders:?}");
    assert!(holders[0].ends_with("etc/jupyter/jupyter_server_config.json"));
}

#[test]
fn a_password_is_required_and_kept_only_as_a_salted_hash() {
    let sandbox = jupyter_sandbox();
    let run = sandbox.deploy_with(
        0,
        &[("jupyter", &[("password", HOSTILE)])],
        &[("DISCO_JUPYTER_TOKEN", TOKEN)],
    );
    assert!(run.success, "{}", run.output);
    let config = config(&run);
    assert_eq!(config["ServerApp"]["ip"], sandbox.addresses[0].to_string());
    let provider = &config["PasswordIdentityProvider"];
    assert_eq!(provider["password_required"], true);
    // With a password the token is off: the password is required.
    assert_eq!(config["IdentityProvider"]["token"], "");
    let hashed = provider["hashed_password"].as_str().unwrap();
    let mut parts = hashed.splitn(3, ':');
    let (algorithm, salt, hex) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    assert_eq!(algorithm, "sha256");
    assert_eq!(salt.len(), 12);
    // jupyter_server's passwd_check: hash(password + salt).
    assert_eq!(hex, sha256_hex(format!("{HOSTILE}{salt}").as_bytes()));

    assert_in_no_argv(&run, HOSTILE);
    assert_in_no_argv(&run, "pa'ss");
    for needle in [HOSTILE, "pa'ss\"word", TOKEN] {
        let holders = files_containing(&run.root, needle.as_bytes());
        assert!(holders.is_empty(), "{needle:?} is in {holders:?}");
    }
    assert!(!run.root.join("pwned").exists());
    assert!(!run.root.join("pwned2").exists());
}

#[test]
fn a_hostile_token_is_inert_json_data() {
    let sandbox = jupyter_sandbox();
    let token = "t'o\"k$(touch pwned)`touch pwned2`;\nrm -rf / #\\";
    let run = sandbox.deploy_with(0, &[("jupyter", &[])], &[("DISCO_JUPYTER_TOKEN", token)]);
    assert!(run.success, "{}", run.output);
    assert_eq!(config(&run)["IdentityProvider"]["token"], token);
    assert_in_no_argv(&run, token);
    assert!(!run.root.join("pwned").exists());
    assert!(!run.root.join("pwned2").exists());
}

#[test]
fn without_password_or_token_jupyterlab_is_not_started() {
    let sandbox = jupyter_sandbox();
    let run = sandbox.deploy(0, &[("jupyter", &[])]);
    assert!(!run.success);
    assert_eq!(run.status["state"], "failed");
    assert_eq!(run.status["current"], "jupyter");
    let reason = run.status["reason"].as_str().unwrap();
    assert!(reason.contains("needs a password or the token"), "{reason}");
    assert!(!run
        .root
        .join("etc/systemd/system/disco-jupyter.service")
        .exists());
    assert!(run.calls_to("pip").is_empty());
}

#[test]
fn a_second_run_installs_nothing_and_keeps_the_same_hash() {
    let sandbox = jupyter_sandbox();
    let params: &[(&str, &str)] = &[("password", "correct horse battery staple")];
    let first = sandbox.deploy(0, &[("jupyter", params)]);
    assert!(first.success, "{}", first.output);
    let before = first.file("etc/jupyter/jupyter_server_config.json");
    std::fs::remove_dir_all(first.root.join("run/disco/done")).unwrap();
    let second = sandbox.deploy(0, &[("jupyter", params)]);
    assert!(second.success, "{}", second.output);
    assert!(second.calls_to("pip").is_empty());
    assert!(second.find("python3", &["venv"]).is_none());
    assert_eq!(
        second.file("etc/jupyter/jupyter_server_config.json"),
        before
    );
}

#[test]
fn a_failing_install_fails_the_node_and_says_why() {
    // pip checks what it downloads against PyPI's hashes; the failure disco can see is pip's.
    let sandbox = jupyter_sandbox();
    sandbox.stub(
        "pip3",
        "echo 'ERROR: THESE PACKAGES DO NOT MATCH THE HASHES' >&2; exit 1",
    );
    let run = sandbox.deploy_with(0, &[("jupyter", &[])], &[("DISCO_JUPYTER_TOKEN", TOKEN)]);
    assert!(!run.success);
    assert_eq!(run.status["current"], "jupyter");
    let reason = run.status["reason"].as_str().unwrap();
    assert!(
        reason.contains("pip could not install jupyterlab 4.6.6"),
        "{reason}"
    );
    assert!(!run
        .root
        .join("etc/systemd/system/disco-jupyter.service")
        .exists());
}

#[test]
fn the_port_and_version_are_parameters() {
    let mut sandbox = jupyter_sandbox();
    sandbox.listen(0, 9999);
    let run = sandbox.deploy_with(
        0,
        &[("jupyter", &[("port", "9999"), ("version", "4.5.0")])],
        &[("DISCO_JUPYTER_TOKEN", TOKEN)],
    );
    assert!(run.success, "{}", run.output);
    assert_eq!(config(&run)["ServerApp"]["port"], 9999);
    run.assert_called("pip", &["jupyterlab==4.5.0"]);
}

#[test]
fn parameters_refuse_values_that_are_not_plain_data() {
    let catalog = catalog();
    let jupyter = catalog.find("jupyter").unwrap();
    assert!(jupyter.manifest.parameters["password"].secret);
    assert!(jupyter.manifest.generated.contains_key("token"));
    for (name, value) in [
        ("version", "4.6.6 --index-url=https://evil.example.org/"),
        ("version", "4.6.6\n-e git+https://evil.example.org/x"),
        ("port", "8888; rm -rf /"),
        ("port", "22"),
    ] {
        let spec = &jupyter.manifest.parameters[name];
        assert!(
            spec.parse(disco::frameworks::RawParam::Text(value))
                .is_err(),
            "{name} accepted {value:?}"
        );
    }
}
