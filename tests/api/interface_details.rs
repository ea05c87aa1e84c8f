//! Details of the interface found by trying it as a user would: each was wrong once.

use crate::support::*;
use std::io::{Read, Write};
use std::time::Duration;

const TENANT: &str = "details";
const SHELL: &str = r#"icclab.disco.dependencies.inject="{'shell': ''}", icclab.disco.components.shell.command="true""#;

#[test]
fn text_occi_clients_get_text_occi_messages_too() {
    let server = TestServer::start();
    let created = send(
        "POST",
        &server.url("/disco/"),
        &[
            ("Category", KIND.as_bytes()),
            ("Accept", b"text/occi"),
            ("X-Tenant-Name", TENANT.as_bytes()),
            ("X-OCCI-Attribute", SHELL.as_bytes()),
        ],
        None,
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let content_type = |r: &Response| r.header("Content-Type").unwrap_or_default();
    assert!(
        content_type(&created).starts_with("text/occi"),
        "{:?}",
        created.headers
    );
    let missing = send(
        "GET",
        &server.url("/disco/4f0c5c8e-6a8b-4f57-9d2c-2a1f0e5b7c11"),
        &[
            ("Accept", b"text/occi"),
            ("X-Tenant-Name", TENANT.as_bytes()),
        ],
        None,
    );
    assert_eq!(missing.status, 404);
    assert!(
        content_type(&missing).starts_with("text/occi"),
        "{:?}",
        missing.headers
    );
}

#[test]
fn a_category_with_a_repeated_parameter_is_refused() {
    let server = TestServer::start();
    let response = send(
        "POST",
        &server.url("/disco/"),
        &[
            (
                "Category",
                br#"disco; scheme="http://evil.example/#"; scheme="http://schemas.cloudcomplab.ch/occi/sm#"; class="kind""#,
            ),
            ("X-Tenant-Name", TENANT.as_bytes()),
            ("X-OCCI-Attribute", SHELL.as_bytes()),
        ],
        None,
    );
    assert_eq!(response.status, 400, "{}", response.body);
    assert!(
        response.body.contains("scheme is given twice"),
        "{}",
        response.body
    );
    assert!(listed(&server, TENANT).is_empty());
}

#[test]
fn method_not_allowed_says_which_methods_are() {
    let server = TestServer::start();
    for (method, path, allow) in [
        ("PATCH", "/disco/", "GET, POST, DELETE"),
        ("PUT", "/-/", "GET"),
        (
            "PATCH",
            "/disco/4f0c5c8e-6a8b-4f57-9d2c-2a1f0e5b7c11",
            "GET, POST, PUT, DELETE",
        ),
    ] {
        let response = send(method, &server.url(path), &[], None);
        assert_eq!(response.status, 405, "{method} {path}");
        assert_eq!(
            response.header("Allow").as_deref(),
            Some(allow),
            "{method} {path}"
        );
    }
}

#[test]
fn a_password_that_is_not_text_is_refused() {
    let server = TestServer::start();
    for value in ["42", "true"] {
        let response = create(
            &server,
            TENANT,
            &format!("{SHELL}, icclab.disco.deployer.password={value}"),
        );
        assert_eq!(response.status, 400, "{}", response.body);
        assert!(
            response
                .body
                .contains("icclab.disco.deployer.password must be a string"),
            "{}",
            response.body
        );
    }
}

#[test]
fn a_new_cluster_shows_its_frameworks_and_is_provisioned_once() {
    let server = TestServer::start();
    let id = create_ok(
        &server,
        TENANT,
        &format!("icclab.disco.components.heat.slavecount=\"1\", {SHELL}"),
    );
    let first = attributes(&server, TENANT, &id).unwrap();
    let progress = first["icclab.disco.progress"].as_str().unwrap();
    assert!(
        progress.starts_with("0/2 frameworks installed"),
        "{progress}"
    );
    wait_for_state(&server, TENANT, &id, "ready", Duration::from_secs(60));
    let log = server.log();
    assert!(
        !log.contains("continuing it"),
        "a new cluster was taken for an interrupted one:\n{log}"
    );
    for node in ["master", "slave-1"] {
        let deployment = std::fs::read_to_string(
            server
                .clusters_dir()
                .join(&id)
                .join(node)
                .join("var/log/disco/deployment.log"),
        )
        .unwrap();
        assert_eq!(
            deployment.matches("] [deploy] deployment of").count(),
            1,
            "{node}'s driver started more than once:\n{deployment}"
        );
    }
}

#[test]
fn malformed_http_is_answered_400_and_not_logged_as_a_server_error() {
    let server = TestServer::start();
    let mut stream = std::net::TcpStream::connect(server.address).unwrap();
    stream
        .write_all(b"GET /-/ HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n")
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    std::thread::sleep(Duration::from_millis(300));
    let log = server.log();
    assert!(log.contains("not valid HTTP"), "{log}");
    assert!(!log.contains("ERROR"), "{log}");
}
