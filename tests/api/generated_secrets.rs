//! Secrets a framework declares (`[generated.*]`) are created per cluster, reach the installers
//! as environment, are stored encrypted, and are shown to the owner once the cluster is ready.

use crate::support::*;
use std::path::Path;
use std::time::Duration;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The shipped runtime and base, plus `keeper`, which writes what it received to keeper.txt.
fn catalog_with_keeper() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let shipped = repo_root().join("frameworks");
    for part in ["lib", "base"] {
        copy_dir(&shipped.join(part), &dir.path().join(part));
    }
    let keeper = dir.path().join("keeper");
    std::fs::create_dir_all(&keeper).unwrap();
    std::fs::write(
        keeper.join("manifest.toml"),
        "name = \"keeper\"\nversion = \"1\"\ndescription = \"test framework\"\nroles = [\"master\", \"slave\"]\n\n\
         [generated.password]\ndescription = \"a password\"\n",
    )
    .unwrap();
    std::fs::write(
        keeper.join("install.sh"),
        "#!/usr/bin/env bash\nset -eu\nprintf '%s' \"$DISCO_KEEPER_PASSWORD\" > \"$DISCO_NODE_ROOT/keeper.txt\"\n",
    )
    .unwrap();
    dir
}

#[test]
fn a_generated_secret_reaches_every_node_and_its_owner_and_is_stored_encrypted() {
    let catalog = catalog_with_keeper();
    let server = TestServer::start_with(ServerOptions {
        extra_config: format!("[frameworks]\ndir = {}\n", catalog.path().display()),
        ..ServerOptions::default()
    });
    let query = get(&server.url("/-/"), "t", "text/plain");
    assert!(
        query
            .body
            .contains("icclab.disco.components.keeper.password{immutable}"),
        "{}",
        query.body
    );

    let id = create_ok(
        &server,
        "t",
        r#"icclab.disco.components.heat.slavecount="1", icclab.disco.dependencies.inject="{'keeper': ''}""#,
    );
    let attrs = wait_for_state(&server, "t", &id, "ready", Duration::from_secs(30));
    let password = attrs["icclab.disco.components.keeper.password"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(password.len(), 24);
    assert!(password.chars().all(|c| c.is_ascii_alphanumeric()));
    for node in ["master", "slave-1"] {
        let received = std::fs::read_to_string(
            server
                .clusters_dir()
                .join(&id)
                .join(node)
                .join("keeper.txt"),
        )
        .unwrap();
        assert_eq!(received, password, "{node} got another value");
    }
    // Not in clear in the database, its WAL, or the log.
    let var = server.data_dir.path().join("var");
    for file in ["disco.db", "disco.db-wal"] {
        let bytes = std::fs::read(var.join(file)).unwrap_or_default();
        assert!(
            !bytes
                .windows(password.len())
                .any(|w| w == password.as_bytes()),
            "{file}"
        );
    }
    assert!(!server.log().contains(&password));

    // Another cluster gets another secret.
    let other = create_ok(
        &server,
        "t",
        r#"icclab.disco.dependencies.inject="{'keeper': ''}""#,
    );
    let attrs = wait_for_state(&server, "t", &other, "ready", Duration::from_secs(30));
    assert_ne!(
        attrs["icclab.disco.components.keeper.password"],
        password.as_str()
    );
}

/// Every file under `root` (recursively) whose bytes contain `needle`.
fn files_containing(root: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(root) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if kind.is_file() {
            let bytes = std::fs::read(&path).unwrap_or_default();
            if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

/// The shipped runtime and base, plus `vault`, whose `passphrase` is a `secret = true`
/// parameter; its installer keeps only a digest of what it received.
fn catalog_with_vault() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let shipped = repo_root().join("frameworks");
    for part in ["lib", "base"] {
        copy_dir(&shipped.join(part), &dir.path().join(part));
    }
    let vault = dir.path().join("vault");
    std::fs::create_dir_all(&vault).unwrap();
    std::fs::write(
        vault.join("manifest.toml"),
        "name = \"vault\"\nversion = \"1\"\ndescription = \"test framework\"\nroles = [\"master\", \"slave\"]\n\n\
         [parameters.passphrase]\ntype = \"string\"\ndescription = \"a passphrase\"\ndefault = \"\"\nsecret = true\n\n\
         [generated.token]\ndescription = \"a token\"\n",
    )
    .unwrap();
    std::fs::write(
        vault.join("install.sh"),
        "#!/usr/bin/env bash\nset -eu\nprintf '%s' \"$DISCO_VAULT_PASSPHRASE\" | sha256sum | cut -d' ' -f1 > \"$DISCO_NODE_ROOT/vault.sha\"\n",
    )
    .unwrap();
    dir
}

#[test]
fn a_secret_parameter_reaches_the_nodes_but_no_file_log_or_other_tenant_and_the_owner_alone_sees_the_cluster_secrets(
) {
    let catalog = catalog_with_vault();
    let server = TestServer::start_with(ServerOptions {
        extra_config: format!("[frameworks]\ndir = {}\n", catalog.path().display()),
        ..ServerOptions::default()
    });
    let passphrase = format!("open-sesame-{}", std::process::id());
    let id = create_ok(
        &server,
        "owner",
        &format!(
            r#"icclab.disco.components.heat.slavecount="1", icclab.disco.dependencies.inject="{{'vault': ''}}", icclab.disco.components.vault.passphrase="{passphrase}""#
        ),
    );
    // A change of something else keeps the secret (the spec is rewritten sealed).
    let response = send(
        "POST",
        &server.url(&format!("/disco/{id}")),
        &[
            ("X-Tenant-Name", b"owner"),
            ("X-OCCI-Attribute", br#"occi.core.title="renamed""#),
        ],
        None,
    );
    assert!(response.status < 300, "{}", response.body);
    let attrs = wait_until_settled(&server, "owner", &id, "ready", Duration::from_secs(60));
    let token = attrs["icclab.disco.components.vault.token"]
        .as_str()
        .expect("the owner sees the generated token once ready")
        .to_string();
    let private_key = attrs["ssh_private_key"].as_str().unwrap().to_string();
    // The line of the OpenSSH key file that holds the private half (the first lines are the
    // same for every ed25519 key, or hold the public half).
    let key_body = private_key.lines().nth(4).unwrap().to_string();
    assert!(key_body.starts_with("AAAE"), "{private_key}");

    let digest = {
        let mut child = std::process::Command::new("sha256sum")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(passphrase.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8(out.stdout).unwrap()[..64].to_string()
    };
    for node in ["master", "slave-1"] {
        let received =
            std::fs::read_to_string(server.clusters_dir().join(&id).join(node).join("vault.sha"))
                .unwrap();
        assert_eq!(received.trim(), digest, "{node} did not get the passphrase");
    }

    // The owner's own view never shows the passphrase back.
    let shown = get(
        &server.url(&format!("/disco/{id}")),
        "owner",
        "application/json",
    );
    assert!(!shown.body.contains(&passphrase), "{}", shown.body);
    // Another tenant sees nothing of the cluster.
    for path in [format!("/disco/{id}"), "/disco/".to_string()] {
        let foreign = get(&server.url(&path), "intruder", "application/json");
        assert!(foreign.status == 404 || foreign.status == 200, "{path}");
        for secret in [&passphrase, &token, &key_body] {
            assert!(
                !foreign.body.contains(secret.as_str()),
                "{path}: {}",
                foreign.body
            );
        }
    }
    assert!(listed(&server, "intruder").is_empty());
    // No file disco wrote (database, WAL, node directories, deployment logs) and no line of
    // its log holds a secret of the cluster.
    for (what, secret) in [
        ("passphrase", &passphrase),
        ("generated token", &token),
        ("private key", &key_body),
    ] {
        let files = files_containing(server.data_dir.path(), secret);
        assert!(files.is_empty(), "the {what} is in {files:?}");
        assert!(
            !server.log().contains(secret.as_str()),
            "the {what} is in the log"
        );
    }
}
