//! Bad input gets a clear 4xx and changes nothing.

use crate::support::*;
use std::time::Duration;

struct Case {
    name: &'static str,
    headers: Vec<(&'static str, Vec<u8>)>,
    body: Option<Vec<u8>>,
    status: u16,
    says: &'static str,
}

fn attrs(value: &str) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("Category", KIND.as_bytes().to_vec()),
        ("X-OCCI-Attribute", value.as_bytes().to_vec()),
    ]
}

fn case(
    name: &'static str,
    headers: Vec<(&'static str, Vec<u8>)>,
    status: u16,
    says: &'static str,
) -> Case {
    Case {
        name,
        headers,
        body: None,
        status,
        says,
    }
}

fn cases() -> Vec<Case> {
    let sm = "http://schemas.cloudcomplab.ch/occi/sm#";
    vec![
        case("category without separators", vec![("Category", format!("disco scheme=\"{sm}\" class=\"kind\"").into_bytes())], 400, "not a valid category term"),
        case("category without scheme", vec![("Category", b"disco; class=\"kind\"".to_vec())], 400, "scheme is missing"),
        case("wrong kind", vec![("Category", format!("haas; scheme=\"{sm}\"; class=\"kind\";").into_bytes())], 400, "unknown category"),
        case("wrong scheme", vec![("Category", b"disco; scheme=\"http://example.org/occi#\"; class=\"kind\"".to_vec())], 400, "unknown category"),
        case("no category", vec![("X-OCCI-Attribute", b"icclab.disco.components.heat.slavecount=\"1\"".to_vec())], 400, "names no kind"),
        case("a mixin", {
            let mut h = attrs("icclab.disco.components.heat.slavecount=\"1\"");
            h.push(("Category", format!("spark; scheme=\"{sm}\"; class=\"mixin\"").into_bytes()));
            h
        }, 400, "unknown mixin"),
        case("unknown attribute", attrs("icclab.disco.components.heat.slavecount=\"1\", icclab.disco.colour=\"blue\""), 400, "unknown attribute icclab.disco.colour"),
        case("slavecount not a number", attrs("icclab.disco.components.heat.slavecount=\"two\""), 400, "must be a whole number"),
        case("slavecount negative", attrs("icclab.disco.components.heat.slavecount=\"-1\""), 400, "must not be negative"),
        case("slavecount above the maximum", attrs("icclab.disco.components.heat.slavecount=\"99\""), 400, "above this service's maximum of 4"),
        case("unterminated quotes", attrs("icclab.disco.components.heat.slavecount=\"1, icclab.disco.components.heat.masterimage=\"x"), 400, "after the closing quote"),
        case("unterminated last quote", attrs("icclab.disco.components.heat.masterimage=\"ubuntu"), 400, "not terminated"),
        case("unquoted word", attrs("icclab.disco.components.heat.masterimage=ubuntu"), 400, "quoted string"),
        case("duplicate attribute", attrs("icclab.disco.components.heat.slavecount=\"1\", icclab.disco.components.heat.slavecount=\"2\""), 400, "more than once"),
        case("non-UTF-8 attribute bytes", attrs_bytes(b"icclab.disco.components.heat.masterimage=\"\xff\xfe\""), 400, "not valid UTF-8"),
        case("non-UTF-8 tenant", {
            let mut h = attrs("icclab.disco.components.heat.slavecount=\"1\"");
            h.push(("X-Tenant-Name", b"caf\xe9".to_vec()));
            h
        }, 400, "not valid UTF-8"),
        case("huge header", attrs(&format!("icclab.disco.components.shell.command=\"{}\"", "x".repeat(200_000))), 431, ""),
        case("inject that is a list", attrs("icclab.disco.dependencies.inject=\"['shell']\""), 400, "must be a dictionary"),
        case("inject that is code", attrs("icclab.disco.dependencies.inject=\"__import__('os').system('touch /tmp/disco-pwned')\""), 400, "not a literal"),
        case("inject with a bad value", attrs("icclab.disco.dependencies.inject=\"{'shell': 42}\""), 400, "must be '' or a dictionary"),
        case("unknown framework", attrs("icclab.disco.dependencies.inject=\"{'sparkle': ''}\""), 400, "unknown framework `sparkle`"),
        case("unknown framework parameter", attrs("icclab.disco.components.shell.colour=\"blue\""), 400, "unknown attribute icclab.disco.components.shell.colour"),
        case("parameter of an unknown framework", attrs("icclab.disco.components.sparkle.workers=\"2\""), 400, "unknown framework `sparkle`"),
        case("enum parameter out of range", attrs("icclab.disco.components.shell.roles=\"everyone\""), 400, "must be one of all, master, slaves"),
        case("an output attribute", attrs("external_ip=\"10.0.0.1\""), 400, "reported by disco"),
        case("an image name with a newline escape is fine but a tab is not", attrs("icclab.disco.components.heat.masterimage=\"a\tb\""), 400, "control characters"),
        case("impossible Accept", {
            let mut h = attrs("icclab.disco.components.heat.slavecount=\"1\"");
            h.push(("Accept", b"image/png".to_vec()));
            h
        }, 406, "text/plain"),
        Case {
            name: "garbage text/plain body",
            headers: vec![("Content-Type", b"text/plain".to_vec())],
            body: Some(b"Category: disco; scheme=\"http://schemas.cloudcomplab.ch/occi/sm#\"; class=\"kind\"\nthis is not occi\n".to_vec()),
            status: 400,
            says: "line 2",
        },
        Case {
            name: "invalid JSON body",
            headers: vec![("Content-Type", b"application/occi+json".to_vec())],
            body: Some(b"{\"kind\": ".to_vec()),
            status: 400,
            says: "not valid JSON",
        },
        Case {
            name: "an unreadable body type",
            headers: vec![("Content-Type", b"application/xml".to_vec())],
            body: Some(b"<disco/>".to_vec()),
            status: 415,
            says: "application/xml",
        },
    ]
}

fn attrs_bytes(value: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("Category", KIND.as_bytes().to_vec()),
        ("X-OCCI-Attribute", value.to_vec()),
    ]
}

#[test]
fn every_kind_of_bad_create_gets_a_clear_4xx_and_changes_nothing() {
    let server = TestServer::start();
    let mut failures = Vec::new();
    for case in cases() {
        let mut headers: Vec<(&str, &[u8])> = vec![];
        let has_tenant = case.headers.iter().any(|(n, _)| *n == "X-Tenant-Name");
        if !has_tenant {
            headers.push(("X-Tenant-Name", b"t"));
        }
        for (name, value) in &case.headers {
            headers.push((name, value));
        }
        let response = send(
            "POST",
            &server.url("/disco/"),
            &headers,
            case.body.as_deref(),
        );
        if response.status != case.status || !response.body.contains(case.says) {
            failures.push(format!(
                "{}: expected {} saying `{}`, got {}: {}",
                case.name,
                case.status,
                case.says,
                response.status,
                response.body.trim()
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    assert!(
        listed(&server, "t").is_empty(),
        "a bad request created a cluster"
    );
    assert!(
        !server.clusters_dir().exists()
            || std::fs::read_dir(server.clusters_dir())
                .unwrap()
                .next()
                .is_none()
    );
    assert!(
        !std::path::Path::new("/tmp/disco-pwned").exists(),
        "inject was executed"
    );
}

#[test]
fn an_id_that_is_not_a_uuid_is_404_for_every_method() {
    let server = TestServer::start();
    for method in ["GET", "DELETE", "POST"] {
        let response = send(
            method,
            &server.url("/disco/not-a-uuid"),
            &[("X-Tenant-Name", b"t")],
            None,
        );
        assert_eq!(response.status, 404, "{method}");
        assert!(response.body.contains("UUID"), "{}", response.body);
    }
    let unknown = uuid::Uuid::new_v4();
    let response = get(&server.url(&format!("/disco/{unknown}")), "t", "text/plain");
    assert_eq!(response.status, 404);
}

#[test]
fn escaped_quotes_stay_inside_their_value_and_cannot_add_attributes() {
    let server = TestServer::start();
    let id = create_ok(
        &server,
        "t",
        r#"icclab.disco.components.shell.command="echo \"a, icclab.disco.components.heat.slavecount=\"3\" b\"""#,
    );
    let attrs = wait_for_state(&server, "t", &id, "ready", Duration::from_secs(30));
    assert_eq!(attrs["icclab.disco.components.heat.slavecount"], 0);
    assert_eq!(
        attrs["icclab.disco.components.shell.command"],
        r#"echo "a, icclab.disco.components.heat.slavecount="3" b""#
    );
    let (_, log) = {
        let master = attrs["external_ip"].as_str().unwrap();
        let response = send("GET", &format!("http://{master}:8084/shell.log"), &[], None);
        (response.status, response.body)
    };
    assert!(
        log.contains("a, icclab.disco.components.heat.slavecount=3 b"),
        "{log}"
    );
}

#[test]
fn hostile_values_reach_the_command_as_inert_data() {
    let server = TestServer::start();
    // The value is the command itself; what matters is that disco's own scripts never
    // re-interpret it: the marker proves the text arrived byte for byte.
    let hostile = r#"printf '%s' '$(touch /tmp/disco-spliced) `id` ; rm -rf / #' > received.txt"#;
    let id = create_ok(
        &server,
        "t",
        &format!(
            "icclab.disco.components.shell.command={}",
            occi_quote(hostile)
        ),
    );
    wait_for_state(&server, "t", &id, "ready", Duration::from_secs(30));
    let received =
        std::fs::read_to_string(server.clusters_dir().join(&id).join("master/received.txt"))
            .unwrap();
    assert_eq!(received, "$(touch /tmp/disco-spliced) `id` ; rm -rf / #");
    assert!(!std::path::Path::new("/tmp/disco-spliced").exists());
}

fn occi_quote(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}
