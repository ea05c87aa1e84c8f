//! DISCO's README curl session, replayed with curl for every rendering.

use crate::support::*;
use std::process::Command;
use std::time::Duration;

/// The values the README's single-quoted headers send literally (see the fixture's comment).
const TENANT: &str = "$OS_TENANT_NAME";

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

fn step(server: &TestServer, name: &str, accept: &str, uuid: &str) -> Reply {
    let output = Command::new("bash")
        .arg(repo_root().join("tests/fixtures/disco_readme.sh"))
        .arg(name)
        .env("DISCO_HOST", server.host_port())
        .env("OS_USERNAME", "$OS_USERNAME")
        .env("OS_PASSWORD", "$OS_PASSWORD")
        .env("OS_TENANT_NAME", TENANT)
        .env("OS_REGION_NAME", "$OS_REGION_NAME")
        .env("TOKEN", "")
        .env("ACCEPT", accept)
        .env("UUID", uuid)
        .output()
        .expect("run curl");
    let trace = String::from_utf8_lossy(&output.stderr);
    let mut status = 0;
    let mut headers = Vec::new();
    for line in trace.lines() {
        let Some(line) = line.strip_prefix("< ") else {
            continue;
        };
        let line = line.trim_end_matches('\r');
        if let Some(rest) = line.strip_prefix("HTTP/1.1 ") {
            status = rest[..3].parse().unwrap_or(0);
        } else if let Some((name, value)) = line.split_once(": ") {
            headers.push((name.to_string(), value.to_string()));
        }
    }
    assert_ne!(status, 0, "no HTTP status in curl's trace:\n{trace}");
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&output.stdout).into_owned(),
    }
}

/// Undoes OCCI quoting: `"a\nb"` → a, newline, b.
fn occi_unquote(quoted: &str) -> String {
    let inner = quoted.trim().trim_start_matches('"').trim_end_matches('"');
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// An attribute's value from any rendering of a resource.
fn attribute(reply: &Reply, accept: &str, name: &str) -> Option<String> {
    if accept == "application/occi+json" {
        let json: serde_json::Value = serde_json::from_str(&reply.body).ok()?;
        return json["attributes"][name].as_str().map(str::to_string);
    }
    let prefix = format!("{name}=");
    let lines: Vec<String> = if accept == "text/occi" {
        reply
            .all("x-occi-attribute")
            .into_iter()
            .map(str::to_string)
            .collect()
    } else {
        reply
            .body
            .lines()
            .filter_map(|l| l.strip_prefix("X-OCCI-Attribute: ").map(str::to_string))
            .collect()
    };
    lines
        .iter()
        .find_map(|l| l.strip_prefix(&prefix).map(occi_unquote))
}

#[test]
fn discos_readme_session_works_in_every_rendering() {
    let server = TestServer::start();
    for accept in ["text/occi", "text/plain", "application/occi+json", "*/*"] {
        let query = step(&server, "query", accept, "");
        assert_eq!(query.status, 200, "{accept}: {}", query.body);
        assert!(query.header("server").unwrap_or("").contains("OCCI/1.1"));
        let categories = format!("{}{}", query.all("category").join("\n"), query.body);
        assert!(
            categories.contains("disco")
                && categories.contains("http://schemas.cloudcomplab.ch/occi/sm#"),
            "{accept}: no disco kind in {categories}"
        );

        let created = step(&server, "create", accept, "");
        assert_eq!(created.status, 201, "{accept}: {}", created.body);
        let location = created.header("location").expect("Location").to_string();
        assert_eq!(created.header("x-occi-location"), Some(location.as_str()));
        assert!(location.starts_with(&format!("http://{}/disco/", server.host_port())));
        let uuid = location.rsplit('/').next().unwrap().to_string();

        let list = step(&server, "list", accept, "");
        assert_eq!(list.status, 200);
        let listed = format!("{}{}", list.all("x-occi-location").join("\n"), list.body);
        assert!(
            listed.contains(&uuid),
            "{accept}: {uuid} not listed in {listed}"
        );

        wait_for_state(&server, TENANT, &uuid, "ready", Duration::from_secs(30));
        let shown = step(&server, "show", accept, &uuid);
        assert_eq!(shown.status, 200, "{}", shown.body);
        let render = if accept == "*/*" {
            "text/plain"
        } else {
            accept
        };
        let ip = attribute(&shown, render, "external_ip").expect("external_ip");
        assert_eq!(
            attribute(&shown, render, "icclab.disco.state").as_deref(),
            Some("ready")
        );
        assert_eq!(
            attribute(&shown, render, "icclab.disco.components.heat.masterflavor").as_deref(),
            Some("m1.large")
        );
        assert!(
            !format!("{:?}{}", shown.headers, shown.body).contains("$OS_PASSWORD"),
            "the password came back"
        );
        let key = attribute(&shown, render, "ssh_private_key").expect("ssh_private_key");
        let key_file = server.data_dir.path().join(format!("key-{}", uuid));
        std::fs::write(&key_file, &key).unwrap();
        std::fs::set_permissions(
            &key_file,
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        let attrs = attributes(&server, TENANT, &uuid).unwrap();
        let user = attrs["icclab.disco.ssh_user"].as_str().unwrap();
        let port = attrs["icclab.disco.ssh_port"].as_u64().unwrap() as u16;
        let (code, out, err) = ssh(&key_file, user, &ip, port, "echo logged-in");
        assert_eq!(
            (code, out.trim()),
            (0, "logged-in"),
            "ssh with the key from {accept}: {err}"
        );

        let deleted = step(&server, "delete", accept, &uuid);
        assert_eq!(deleted.status, 200, "{}", deleted.body);
        wait_until_gone(&server, TENANT, &uuid, Duration::from_secs(30));
        let list = step(&server, "list", accept, "");
        assert!(!format!("{:?}{}", list.headers, list.body).contains(&uuid));
    }
}

#[test]
fn the_readme_create_with_its_placeholders_unfilled_is_refused_naming_slavecount() {
    let server = TestServer::start();
    let reply = step(&server, "create-unfilled", "text/occi", "");
    assert_eq!(reply.status, 400);
    assert!(
        reply
            .body
            .contains("icclab.disco.components.heat.slavecount"),
        "{}",
        reply.body
    );
    assert!(listed(&server, TENANT).is_empty());
}
