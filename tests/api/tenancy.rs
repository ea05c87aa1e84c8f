//! Tenants never see each other's clusters; DELETE on the collection never wipes a tenant;
//! passwords are never stored, shown or logged.

use crate::support::*;
use std::time::Duration;

const SMALL: &str = r#"icclab.disco.components.heat.slavecount="0""#;

#[test]
fn another_tenant_can_neither_list_read_nor_delete_a_cluster() {
    let server = TestServer::start();
    let id = create_ok(&server, "tenant-a", SMALL);
    assert_eq!(listed(&server, "tenant-a"), vec![id.clone()]);
    assert!(listed(&server, "tenant-b").is_empty());
    let read = get(
        &server.url(&format!("/disco/{id}")),
        "tenant-b",
        "text/plain",
    );
    assert_eq!(read.status, 404);
    let delete = send(
        "DELETE",
        &server.url(&format!("/disco/{id}")),
        &[("X-Tenant-Name", b"tenant-b")],
        None,
    );
    assert_eq!(delete.status, 404);
    let delete_listed = send(
        "DELETE",
        &server.url("/disco/"),
        &[
            ("X-Tenant-Name", b"tenant-b"),
            ("X-OCCI-Location", format!("/disco/{id}").as_bytes()),
        ],
        None,
    );
    assert_eq!(delete_listed.status, 404);
    wait_for_state(&server, "tenant-a", &id, "ready", Duration::from_secs(30));
}

#[test]
fn delete_on_the_collection_without_a_selection_is_refused() {
    let server = TestServer::start();
    let a = create_ok(&server, "t", SMALL);
    let b = create_ok(&server, "t", SMALL);
    let response = send(
        "DELETE",
        &server.url("/disco/"),
        &[("X-Tenant-Name", b"t")],
        None,
    );
    assert_eq!(response.status, 400);
    assert!(
        response.body.contains("X-OCCI-Location"),
        "{}",
        response.body
    );
    let mut ids = listed(&server, "t");
    ids.sort();
    let mut expected = vec![a, b];
    expected.sort();
    assert_eq!(ids, expected);
}

#[test]
fn delete_on_the_collection_deletes_exactly_the_named_clusters_or_nothing() {
    let server = TestServer::start();
    let keep = create_ok(&server, "t", SMALL);
    let drop = create_ok(&server, "t", SMALL);
    let foreign = create_ok(&server, "other", SMALL);
    // One foreign id in the selection: 404 and nothing is deleted.
    let response = send(
        "DELETE",
        &server.url("/disco/"),
        &[
            ("X-Tenant-Name", b"t"),
            (
                "X-OCCI-Location",
                format!("/disco/{drop}, /disco/{foreign}").as_bytes(),
            ),
        ],
        None,
    );
    assert_eq!(response.status, 404);
    assert_eq!(listed(&server, "t").len(), 2);
    // A text/uri-list body naming one cluster deletes just that one.
    let response = send(
        "DELETE",
        &server.url("/disco/"),
        &[("X-Tenant-Name", b"t"), ("Content-Type", b"text/uri-list")],
        Some(server.url(&format!("/disco/{drop}")).as_bytes()),
    );
    assert_eq!(response.status, 200, "{}", response.body);
    wait_until_gone(&server, "t", &drop, Duration::from_secs(30));
    assert_eq!(listed(&server, "t"), vec![keep]);
    assert_eq!(listed(&server, "other"), vec![foreign]);
}

#[test]
fn passwords_from_headers_and_attributes_are_never_stored_shown_or_logged() {
    let server = TestServer::start();
    let response = send(
        "POST",
        &server.url("/disco/"),
        &[
            ("Category", KIND.as_bytes()),
            ("X-Tenant-Name", b"t"),
            ("X-User-Name", b"alice"),
            ("X-Password", b"header-secret-4711"),
            (
                "X-OCCI-Attribute",
                br#"icclab.disco.deployer.password="attribute-secret-4712", icclab.disco.deployer.username="alice""#,
            ),
        ],
        None,
    );
    assert_eq!(response.status, 201, "{}", response.body);
    let id = response
        .header("Location")
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let attrs = wait_for_state(&server, "t", &id, "ready", Duration::from_secs(30));
    let shown = attrs.to_string();
    assert!(!shown.contains("secret-471"), "password shown: {shown}");
    assert!(shown.contains("alice"));
    let mut everything = server.log().into_bytes();
    for entry in walk(server.data_dir.path()) {
        everything.extend(std::fs::read(entry).unwrap_or_default());
    }
    for secret in [&b"header-secret-4711"[..], b"attribute-secret-4712"] {
        assert!(
            !everything.windows(secret.len()).any(|w| w == secret),
            "{} found on disk or in the log",
            String::from_utf8_lossy(secret)
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn with_configured_users_only_the_right_password_gets_in_and_the_tenant_is_the_users() {
    let (code, hash, _) = {
        use std::io::Write;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_disco"))
            .arg("hash-password")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"correct horse\n")
            .unwrap();
        let output = child.wait_with_output().unwrap();
        (
            output.status.code(),
            String::from_utf8(output.stdout).unwrap(),
            (),
        )
    };
    assert_eq!(code, Some(0));
    let users = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        users.path(),
        format!("# user tenant hash\nalice research {}", hash.trim()),
    )
    .unwrap();
    let server = TestServer::start_with(ServerOptions {
        extra_config: format!(
            "[auth]\nmode = static\nusers_file = {}\n",
            users.path().display()
        ),
        ..ServerOptions::default()
    });
    let attempt = |user: &[u8], password: &[u8], tenant: &[u8]| {
        send(
            "POST",
            &server.url("/disco/"),
            &[
                ("Category", KIND.as_bytes()),
                ("X-User-Name", user),
                ("X-Password", password),
                ("X-Tenant-Name", tenant),
                ("X-OCCI-Attribute", SMALL.as_bytes()),
            ],
            None,
        )
    };
    assert_eq!(attempt(b"alice", b"wrong", b"research").status, 401);
    assert_eq!(
        attempt(b"mallory", b"correct horse", b"research").status,
        401
    );
    assert_eq!(attempt(b"alice", b"correct horse", b"physics").status, 403);
    let missing = send(
        "GET",
        &server.url("/disco/"),
        &[("X-Tenant-Name", b"research")],
        None,
    );
    assert_eq!(missing.status, 401);
    assert!(missing.body.contains("X-User-Name"), "{}", missing.body);
    let created = attempt(b"alice", b"correct horse", b"research");
    assert_eq!(created.status, 201, "{}", created.body);
    let listed = send(
        "GET",
        &server.url("/disco/"),
        &[
            ("X-User-Name", b"alice"),
            ("X-Password", b"correct horse"),
            ("Accept", b"text/uri-list"),
        ],
        None,
    );
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body.lines().count(), 1);
}
