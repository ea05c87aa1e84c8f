//! Every way OCCI lets a client say "create": one comma-joined header, repeated header lines,
//! the text/plain body and the JSON body.

use crate::support::*;

fn assert_created_with_two_slaves_and_title(server: &TestServer, response: Response, title: &str) {
    assert_eq!(response.status, 201, "{}", response.body);
    let id = response
        .header("Location")
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let attrs = attributes(server, "forms", &id).expect("created cluster");
    assert_eq!(attrs["icclab.disco.components.heat.slavecount"], 2);
    assert_eq!(attrs["occi.core.title"], title);
    assert!(attrs["icclab.disco.dependencies.inject"]
        .as_str()
        .unwrap()
        .contains("shell"));
}

#[test]
fn repeated_attribute_header_lines_create_like_one_joined_line() {
    let server = TestServer::start();
    let response = send(
        "POST",
        &server.url("/disco/"),
        &[
            ("Category", KIND.as_bytes()),
            ("X-Tenant-Name", b"forms"),
            (
                "X-OCCI-Attribute",
                b"icclab.disco.components.heat.slavecount=\"2\"",
            ),
            (
                "X-OCCI-Attribute",
                b"occi.core.title=\"repeated, with a comma\"",
            ),
            (
                "X-OCCI-Attribute",
                b"icclab.disco.dependencies.inject=\"{'shell': ''}\"",
            ),
        ],
        None,
    );
    assert_created_with_two_slaves_and_title(&server, response, "repeated, with a comma");
}

#[test]
fn the_text_plain_body_form_creates() {
    let server = TestServer::start();
    let body = format!(
        "Category: {KIND}\nX-OCCI-Attribute: icclab.disco.components.heat.slavecount=\"2\"\n\
         X-OCCI-Attribute: occi.core.title=\"from the body\", icclab.disco.dependencies.inject=\"{{'shell': ''}}\"\n"
    );
    let response = send(
        "POST",
        &server.url("/disco/"),
        &[("X-Tenant-Name", b"forms"), ("Content-Type", b"text/plain")],
        Some(body.as_bytes()),
    );
    assert_created_with_two_slaves_and_title(&server, response, "from the body");
}

#[test]
fn the_json_body_form_creates_and_answers_in_json() {
    let server = TestServer::start();
    let body = serde_json::json!({
        "kind": "http://schemas.cloudcomplab.ch/occi/sm#disco",
        "attributes": {
            "icclab.disco.components.heat.slavecount": 2,
            "occi.core.title": "json",
            "icclab.disco.dependencies.inject": {"shell": {}},
        }
    });
    let response = send(
        "POST",
        &server.url("/disco/"),
        &[
            ("X-Tenant-Name", b"forms"),
            ("Content-Type", b"application/occi+json"),
            ("Accept", b"application/occi+json"),
        ],
        Some(body.to_string().as_bytes()),
    );
    let json: serde_json::Value = serde_json::from_str(&response.body).unwrap();
    assert_eq!(
        json["location"],
        response.header("Location").unwrap().as_str()
    );
    assert_created_with_two_slaves_and_title(&server, response, "json");
}

#[test]
fn text_occi_create_answers_ok_with_the_location_in_headers() {
    let server = TestServer::start();
    let response = send(
        "POST",
        &server.url("/disco/"),
        &[
            ("Category", KIND.as_bytes()),
            ("X-Tenant-Name", b"forms"),
            ("Accept", b"text/occi"),
            ("X-OCCI-Attribute", b"icclab.disco.components.heat.slavecount=\"2\", occi.core.title=\"occi\", icclab.disco.dependencies.inject=\"{'shell': ''}\""),
        ],
        None,
    );
    assert_eq!(response.body.trim(), "OK");
    assert!(response
        .header("X-OCCI-Location")
        .unwrap()
        .contains("/disco/"));
    assert_created_with_two_slaves_and_title(&server, response, "occi");
}

#[test]
fn a_cluster_can_use_the_callers_own_public_key_and_then_reports_no_private_key() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let key = dir.path().join("mine");
    let (status, _, stderr) = run(
        "ssh-keygen",
        &[
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "me@laptop",
            "-f",
            &key.display().to_string(),
        ],
    );
    assert_eq!(status, 0, "{stderr}");
    let public = std::fs::read_to_string(dir.path().join("mine.pub")).expect("public key");
    let id = create_ok(
        &server,
        "byok",
        &format!(
            "icclab.disco.dependencies.inject=\"{{'shell': ''}}\", \
             icclab.disco.components.heat.sshpublickey=\"{}\"",
            public.trim()
        ),
    );
    let ready = wait_for_state(
        &server,
        "byok",
        &id,
        "ready",
        std::time::Duration::from_secs(60),
    );
    assert_eq!(ready["ssh_public_key"], public.trim());
    assert!(ready.get("ssh_private_key").is_none(), "{ready}");
    let address = ready["external_ip"].as_str().expect("external_ip");
    let port = ready["icclab.disco.ssh_port"].as_u64().expect("port") as u16;
    let user = ready["icclab.disco.ssh_user"].as_str().expect("user");
    let (status, out, err) = ssh(&key, user, address, port, "echo hello");
    assert_eq!((status, out.trim()), (0, "hello"), "{err}");

    let refused = create(
        &server,
        "byok",
        "icclab.disco.components.heat.sshpublickey=\"ssh-ed25519 not-base64 $(id)\"",
    );
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("sshpublickey"), "{}", refused.body);
}
