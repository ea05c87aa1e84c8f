//! A cluster keeps the plan it was admitted with: editing the framework catalog afterwards
//! (here, a parameter's default) does not change it, not even for slaves added later.

use crate::support::*;
use std::time::Duration;

const TENANT: &str = "frozen";

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn a_catalog_edit_does_not_change_an_existing_cluster_or_its_new_slaves() {
    let catalog = tempfile::tempdir().unwrap();
    copy_dir(&repo_root().join("frameworks"), catalog.path());
    let mut server = TestServer::start_with(ServerOptions {
        env: vec![(
            "DISCO_FRAMEWORKS__DIR".into(),
            catalog.path().display().to_string(),
        )],
        ..ServerOptions::default()
    });
    // The command runs on every node, as shell's `roles` defaults to `all` today.
    let id = create_ok(
        &server,
        TENANT,
        r#"icclab.disco.components.heat.slavecount="1", icclab.disco.dependencies.inject="{'shell': ''}", icclab.disco.components.shell.command="touch \"$DISCO_NODE_ROOT/ran\"""#,
    );
    wait_until_settled(&server, TENANT, &id, "ready", Duration::from_secs(60));

    // The operator changes the default to the master only, and restarts disco.
    let manifest = catalog.path().join("shell/manifest.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let edited = text.replacen("default = \"all\"", "default = \"master\"", 1);
    assert_ne!(text, edited, "the manifest no longer has that default");
    std::fs::write(&manifest, edited).unwrap();
    server.restart();

    scale(&server, TENANT, &id, 2);
    wait_until_settled(&server, TENANT, &id, "ready", Duration::from_secs(60));
    let new_slave = server.clusters_dir().join(&id).join("slave-2");
    assert!(
        new_slave.join("ran").exists(),
        "the new slave followed the edited catalog instead of the cluster's plan"
    );
    // A new cluster gets the edited catalog.
    let other = create_ok(
        &server,
        TENANT,
        r#"icclab.disco.components.heat.slavecount="1", icclab.disco.dependencies.inject="{'shell': ''}", icclab.disco.components.shell.command="touch \"$DISCO_NODE_ROOT/ran\"""#,
    );
    wait_until_settled(&server, TENANT, &other, "ready", Duration::from_secs(60));
    assert!(!server
        .clusters_dir()
        .join(&other)
        .join("slave-1/ran")
        .exists());
}
