//! The query interface and content negotiation.

use crate::support::*;

#[test]
fn the_query_interface_lists_core_kinds_and_the_disco_kind_with_marked_attributes() {
    let server = TestServer::start();
    for path in ["/-/", "/.well-known/org/ogf/occi/-/"] {
        let response = get(&server.url(path), "t", "text/plain");
        assert_eq!(response.status, 200);
        assert!(response.header("Server").unwrap().contains("OCCI/1.1"));
        assert!(response
            .header("Content-Type")
            .unwrap()
            .starts_with("text/plain"));
        let disco = response
            .body
            .lines()
            .find(|l| l.starts_with("Category: disco;"))
            .expect("disco kind");
        assert!(disco.contains("scheme=\"http://schemas.cloudcomplab.ch/occi/sm#\""));
        assert!(disco.contains("class=\"kind\""));
        assert!(disco.contains("location=\"/disco/\""));
        assert!(disco.contains("icclab.disco.components.heat.slavecount"));
        assert!(disco.contains("icclab.disco.dependencies.inject"));
        assert!(disco.contains("icclab.disco.components.shell.command"));
        assert!(disco.contains("external_ip{immutable}"));
        assert!(disco.contains("ssh_private_key{immutable}"));
        for core in ["entity", "resource", "link"] {
            assert!(response.body.contains(&format!(
                "Category: {core}; scheme=\"http://schemas.ogf.org/occi/core#\""
            )));
        }
        assert!(response.body.contains("occi.core.source{required}"));
    }
}

#[test]
fn category_filtering_returns_only_the_named_kind() {
    let server = TestServer::start();
    let response = send(
        "GET",
        &server.url("/-/"),
        &[("Category", KIND.as_bytes()), ("Accept", b"text/occi")],
        None,
    );
    assert_eq!(response.status, 200);
    let categories = response.header_lines("Category");
    assert_eq!(categories.len(), 1, "{categories:?}");
    assert!(categories[0].starts_with("disco;"));
    assert_eq!(response.body.trim(), "OK");
}

#[test]
fn the_json_rendering_describes_attribute_types_and_flags() {
    let server = TestServer::start();
    let response = get(&server.url("/-/"), "t", "application/occi+json");
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("Content-Type").as_deref(),
        Some("application/occi+json")
    );
    let json: serde_json::Value = serde_json::from_str(&response.body).unwrap();
    let disco = json["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["term"] == "disco")
        .unwrap();
    assert_eq!(disco["location"], "/disco/");
    let slavecount = &disco["attributes"]["icclab.disco.components.heat.slavecount"];
    assert_eq!(slavecount["type"], "number");
    assert_eq!(slavecount["mutable"], true);
    assert_eq!(disco["attributes"]["external_ip"]["mutable"], false);
}

#[test]
fn an_impossible_accept_is_406_and_uri_list_is_only_for_collections() {
    let server = TestServer::start();
    assert_eq!(get(&server.url("/-/"), "t", "image/png").status, 406);
    assert_eq!(get(&server.url("/-/"), "t", "text/uri-list").status, 406);
    let list = get(&server.url("/disco/"), "t", "text/uri-list");
    assert_eq!(list.status, 200);
    assert!(list
        .header("Content-Type")
        .unwrap()
        .starts_with("text/uri-list"));
}

#[test]
fn unknown_paths_and_methods_get_404_and_405() {
    let server = TestServer::start();
    assert_eq!(get(&server.url("/nothing/"), "t", "text/plain").status, 404);
    assert_eq!(send("PUT", &server.url("/disco/"), &[], None).status, 405);
    assert_eq!(send("DELETE", &server.url("/-/"), &[], None).status, 405);
}
