//! What the local backend writes is private to disco's user, and the deployment log server
//! serves only its directory.

use crate::support::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn the_data_directory_database_nodes_and_logs_are_private_even_when_they_were_not() {
    let mut server = TestServer::start();
    let id = create_ok(
        &server,
        "t",
        r#"icclab.disco.dependencies.inject="{'shell': ''}", icclab.disco.components.shell.command="echo hello > $DISCO_NODE_ROOT/made-by-the-command""#,
    );
    wait_for_state(&server, "t", &id, "ready", Duration::from_secs(60));
    let var = server.data_dir.path().join("var");
    let master = server.clusters_dir().join(&id).join("master");
    assert_eq!(mode(&var), 0o700);
    for path in [
        var.join("disco.db"),
        var.join("secret.key"),
        master.clone(),
        master.join("var/log/disco/deployment.log"),
        master.join("var/log/disco/shell.log"),
        master.join("made-by-the-command"),
    ] {
        assert_eq!(
            mode(&path) & 0o077,
            0,
            "{} is {:o}",
            path.display(),
            mode(&path)
        );
    }
    // A data directory an older disco left open is closed at start.
    std::fs::set_permissions(&var, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(var.join("disco.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    server.restart();
    assert_eq!(mode(&var), 0o700);
    assert_eq!(mode(&var.join("disco.db")), 0o600);
}

#[test]
fn the_log_server_follows_no_symbolic_link_out_of_its_directory() {
    let server = TestServer::start();
    let id = create_ok(
        &server,
        "t",
        r#"icclab.disco.dependencies.inject="{'shell': ''}", icclab.disco.components.shell.command="ln -s /etc/passwd $DISCO_NODE_ROOT/var/log/disco/passwd; ln -s /etc $DISCO_NODE_ROOT/var/log/disco/etc""#,
    );
    let ready = wait_for_state(&server, "t", &id, "ready", Duration::from_secs(60));
    let log_url = ready["icclab.disco.log_url"].as_str().unwrap().to_string();
    let logs = server.clusters_dir().join(&id).join("master/var/log/disco");
    assert!(logs.join("passwd").is_symlink() && logs.join("etc").is_symlink());
    for path in [
        "passwd",
        "etc/passwd",
        "etc/",
        "../../../../etc/passwd",
        "%2e%2e/%2e%2e/etc/passwd",
    ] {
        let response = send("GET", &format!("{log_url}{path}"), &[], None);
        assert_eq!(response.status, 404, "{path}: {}", response.body);
        assert!(
            !response.body.contains("root:"),
            "{path} served /etc/passwd"
        );
    }
    let listing = send("GET", &log_url, &[], None);
    assert_eq!(listing.status, 200);
    assert!(listing.body.contains("deployment.log"), "{}", listing.body);
    assert!(!listing.body.contains("passwd"), "{}", listing.body);
    let log = send("GET", &format!("{log_url}deployment.log"), &[], None);
    assert_eq!(log.status, 200);
    assert!(log.body.contains("deployment finished"), "{}", log.body);
}
