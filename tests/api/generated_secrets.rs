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
