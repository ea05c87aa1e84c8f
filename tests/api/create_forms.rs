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
