//! The UI gateway with real nodes on the local backend: base's deployment log, and a tiny
//! echo server standing in for a web UI (tests/fixtures/gateway-echo) to see what reaches a
//! node and what comes back. Who may use the gateway: the owner only.

use crate::support::*;
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

const SMALL: &str = r#"icclab.disco.components.heat.slavecount="0""#;

/// The repository's catalog plus the echo framework.
fn catalog_with_echo(dir: &Path) -> std::path::PathBuf {
    let root = dir.join("frameworks");
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(repo_root().join("frameworks"))
        .arg(&root)
        .status()
        .unwrap();
    assert!(status.success());
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(repo_root().join("tests/fixtures/gateway-echo"))
        .arg(root.join("echo"))
        .status()
        .unwrap();
    assert!(status.success());
    root
}

fn ready_echo_cluster() -> (TestServer, tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(ServerOptions {
        frameworks_dir: Some(catalog_with_echo(dir.path())),
        ..ServerOptions::default()
    });
    let id = create_ok(
        &server,
        "owner",
        &format!(r#"{SMALL}, icclab.disco.dependencies.inject="{{'echo': ''}}""#),
    );
    wait_for_state(&server, "owner", &id, "ready", Duration::from_secs(60));
    (server, dir, id)
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

#[test]
fn the_deployment_log_is_served_to_its_owner_through_the_gateway_and_listed() {
    let server = TestServer::start();
    let id = create_ok(&server, "owner", SMALL);
    let attrs = wait_for_state(&server, "owner", &id, "ready", Duration::from_secs(60));
    let url = attrs["icclab.disco.ui.log"].as_str().unwrap_or_default();
    assert_eq!(url, server.url(&format!("/disco/{id}/ui/log/")), "{attrs}");

    let index = get(url, "owner", "text/html");
    assert_eq!(index.status, 200, "{}", index.body);
    // The log server's own page, with a relative link that works below the prefix.
    assert!(index.body.contains("deployment.log"), "{}", index.body);
    let log = get(&format!("{url}deployment.log"), "owner", "*/*");
    assert_eq!(log.status, 200);
    assert!(!log.body.is_empty());

    let bare = client()
        .get(server.url(&format!("/disco/{id}/ui/log")))
        .header("X-Tenant-Name", "owner")
        .send()
        .unwrap();
    assert_eq!(bare.status(), 308);
    assert_eq!(
        bare.headers()["location"],
        format!("/disco/{id}/ui/log/").as_str()
    );

    // Another tenant, an unknown cluster and an unknown UI are all "not found".
    assert_eq!(get(url, "intruder", "*/*").status, 404);
    let unknown = get(
        &server.url(&format!("/disco/{}/ui/log/", uuid::Uuid::new_v4())),
        "owner",
        "*/*",
    );
    assert_eq!(unknown.status, 404);
    let no_ui = get(
        &server.url(&format!("/disco/{id}/ui/spark-master/")),
        "owner",
        "*/*",
    );
    assert_eq!(no_ui.status, 404);
    assert!(no_ui.body.contains("it has log"), "{}", no_ui.body);
}

#[test]
fn a_suspended_cluster_s_ui_is_a_conflict_that_says_so() {
    let server = TestServer::start();
    let id = create_ok(&server, "owner", SMALL);
    wait_for_state(&server, "owner", &id, "ready", Duration::from_secs(60));
    let suspend = act(&server, "owner", &id, "suspend", "");
    assert_eq!(suspend.status, 202, "{}", suspend.body);
    let attrs = wait_for_state(&server, "owner", &id, "suspended", Duration::from_secs(60));
    assert!(attrs.get("icclab.disco.ui.log").is_none(), "{attrs}");
    let answer = get(&server.url(&format!("/disco/{id}/ui/log/")), "owner", "*/*");
    assert_eq!(answer.status, 409);
    assert!(answer.body.contains("suspended"), "{}", answer.body);
}

#[test]
fn credentials_and_hop_by_hop_headers_do_not_reach_the_node_and_forwarding_headers_do() {
    let (server, _dir, id) = ready_echo_cluster();
    let base = server.url(&format!("/disco/{id}/ui/echo"));
    let answer = client()
        .get(format!("{base}/headers?q=1"))
        .header("X-Tenant-Name", "owner")
        .header("X-Password", "hunter2")
        .header("X-Auth-Token", "gAAAAtoken")
        .header("X-User-Name", "alice")
        .header("Authorization", "Basic YWxpY2U6aHVudGVyMg==")
        .header("Cookie", "disco_session=s3cret; ui_cookie=kept")
        .header("Connection", "keep-alive, X-Private-Hop")
        .header("X-Private-Hop", "hop")
        .header("X-Forwarded-For", "6.6.6.6")
        .header("X-Custom", "kept")
        .send()
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert!(answer.headers().get("x-node-private").is_none());
    assert!(answer.headers().get("keep-alive").is_none());
    let seen: serde_json::Value = answer.json().unwrap();
    assert_eq!(seen["path"], "/headers?q=1");
    let headers: Vec<(String, String)> = serde_json::from_value(seen["headers"].clone()).unwrap();
    let text = format!("{headers:?}");
    for secret in [
        "hunter2",
        "gAAAAtoken",
        "alice",
        "YWxpY2U",
        "s3cret",
        "6.6.6.6",
        "hop",
    ] {
        assert!(
            !text.contains(secret),
            "`{secret}` reached the node: {text}"
        );
    }
    let value = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(value("x-custom"), Some("kept"));
    assert_eq!(value("cookie"), Some("ui_cookie=kept"));
    assert_eq!(value("x-forwarded-for"), Some("127.0.0.1"));
    assert_eq!(value("x-forwarded-host"), Some(server.host_port().as_str()));
    assert_eq!(
        value("x-forwarded-prefix"),
        Some(format!("/disco/{id}/ui/echo").as_str())
    );
}

#[test]
fn redirects_of_the_node_are_rewritten_to_the_gateway() {
    let (server, _dir, id) = ready_echo_cluster();
    let base = server.url(&format!("/disco/{id}/ui/echo"));
    for (page, expected) in [
        ("redirect-absolute", format!("{base}/headers?via=url")),
        (
            "redirect-path",
            format!("/disco/{id}/ui/echo/headers?via=path"),
        ),
    ] {
        let answer = client()
            .get(format!("{base}/{page}"))
            .header("X-Tenant-Name", "owner")
            .send()
            .unwrap();
        assert_eq!(answer.status(), 302);
        assert_eq!(answer.headers()["location"], expected.as_str());
    }
}

#[test]
fn bodies_stream_through_the_gateway_both_ways() {
    let (server, _dir, id) = ready_echo_cluster();
    let base = server.url(&format!("/disco/{id}/ui/echo"));
    // The node sends its first chunk and waits: the client gets it before the node's last.
    let mut slow = client()
        .get(format!("{base}/slow"))
        .header("X-Tenant-Name", "owner")
        .send()
        .unwrap();
    assert_eq!(slow.status(), 200);
    let mut first = [0u8; 6];
    slow.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"first:");
    let release = get(&format!("{base}/release"), "owner", "*/*");
    assert_eq!(release.body, "released");
    let mut rest = String::new();
    slow.read_to_string(&mut rest).unwrap();
    assert!(rest.ends_with(":last"));

    // 256 MiB up: the server's peak memory grows by far less than that.
    let pid = processes_mentioning(&server.config_path.to_string_lossy())[0];
    let peak = || -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    };
    let before = peak();
    let size: u64 = 256 << 20;
    let started = Instant::now();
    let upload = client()
        .post(format!("{base}/upload"))
        .header("X-Tenant-Name", "owner")
        .body(reqwest::blocking::Body::sized(
            std::io::repeat(b'x').take(size),
            size,
        ))
        .timeout(Duration::from_secs(120))
        .send()
        .unwrap();
    assert_eq!(upload.status(), 200);
    assert_eq!(upload.text().unwrap(), size.to_string());
    let grown_kib = peak().saturating_sub(before);
    assert!(
        grown_kib < 32 * 1024,
        "the server's peak memory grew by {grown_kib} KiB for a 256 MiB upload"
    );
    eprintln!(
        "256 MiB through the gateway in {:?}, peak memory +{grown_kib} KiB",
        started.elapsed()
    );
}

#[test]
fn a_node_that_does_not_answer_is_a_bad_gateway_naming_the_ui() {
    let (server, _dir, id) = ready_echo_cluster();
    let pids = processes_mentioning("echo.py");
    let mine: Vec<i32> = pids
        .into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .map(|e| String::from_utf8_lossy(&e).contains(&id))
                .unwrap_or(false)
        })
        .collect();
    assert_eq!(mine.len(), 1, "the echo server of this cluster");
    unsafe_kill(mine[0]);
    let answer = get(
        &server.url(&format!("/disco/{id}/ui/echo/headers")),
        "owner",
        "*/*",
    );
    assert_eq!(answer.status, 502);
    assert!(
        answer.body.contains("the UI `echo` on master"),
        "{}",
        answer.body
    );
}

fn unsafe_kill(pid: i32) {
    let status = std::process::Command::new("kill")
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
    std::thread::sleep(Duration::from_millis(300));
}

#[test]
fn with_configured_users_the_gateway_wants_credentials_and_keeps_tenants_apart() {
    let hash = |password: &str| {
        use std::io::Write;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_disco"))
            .arg("hash-password")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        String::from_utf8(child.wait_with_output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_string()
    };
    let users = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        users.path(),
        format!(
            "alice research {}\nmallory physics {}\n",
            hash("alice pw"),
            hash("mallory pw")
        ),
    )
    .unwrap();
    let server = TestServer::start_with(ServerOptions {
        extra_config: format!(
            "[auth]\nmode = static\nusers_file = {}\n",
            users.path().display()
        ),
        ..ServerOptions::default()
    });
    let alice = [
        ("X-User-Name", "alice".to_string()),
        ("X-Password", "alice pw".to_string()),
    ];
    let mallory = [
        ("X-User-Name", "mallory".to_string()),
        ("X-Password", "mallory pw".to_string()),
    ];
    let created = send(
        "POST",
        &server.url("/disco/"),
        &[
            ("Category", KIND.as_bytes()),
            ("X-User-Name", b"alice"),
            ("X-Password", b"alice pw"),
            ("X-OCCI-Attribute", SMALL.as_bytes()),
        ],
        None,
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created
        .header("Location")
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    while attributes_as(&server, &alice, &id).unwrap()["icclab.disco.state"] != "ready" {
        assert!(Instant::now() < deadline, "{}", server.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    let path = format!("/disco/{id}/ui/log/deployment.log");
    assert_eq!(send_as(&server, "GET", &path, &alice, &[]).status, 200);
    let anonymous = send_as(&server, "GET", &path, &[], &[]);
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    assert_eq!(send_as(&server, "GET", &path, &mallory, &[]).status, 404);
    let wrong = [
        ("X-User-Name", "alice".to_string()),
        ("X-Password", "guess".to_string()),
    ];
    assert_eq!(send_as(&server, "GET", &path, &wrong, &[]).status, 401);
}

#[test]
fn a_ui_that_cannot_be_told_its_prefix_gets_it_on_its_pages_root_relative_links() {
    let (server, _dir, id) = ready_echo_cluster();
    let get = |ui: &str, page: &str| {
        client()
            .get(server.url(&format!("/disco/{id}/ui/{ui}/{page}")))
            .header("X-Tenant-Name", "owner")
            .header("Accept-Encoding", "gzip")
            .send()
            .unwrap()
    };
    let answer = get("echo-links", "page");
    assert_eq!(answer.status(), 200);
    assert!(answer.headers().get("content-encoding").is_none());
    let page = answer.text().unwrap();
    let prefix = format!("/disco/{id}/ui/echo-links");
    for link in [
        format!(r#"href="{prefix}/static/yarn.css""#),
        format!(r#"href="{prefix}/cluster/apps""#),
        format!("href='{prefix}/cluster/nodes'"),
        format!(r#"src="{prefix}/static/logo.png""#),
        format!(r#"action="{prefix}/ws/v1""#),
        r#"href="relative/x""#.to_string(),
        r#"href="//cdn.example/x""#.to_string(),
    ] {
        assert!(page.contains(&link), "no {link} in {page}");
    }
    // A link on the rewritten page works through the gateway.
    let css = client()
        .get(server.url(&format!("{prefix}/headers")))
        .header("X-Tenant-Name", "owner")
        .send()
        .unwrap();
    assert_eq!(css.status(), 200);
    // The same page through a UI without rewriting, and JSON through this one, stay as sent.
    let plain = get("echo", "page").text().unwrap();
    assert!(plain.contains(r#"href="/cluster/apps""#), "{plain}");
    let json = get("echo-links", "page.json").text().unwrap();
    assert!(json.contains(r#"href="/cluster/apps""#), "{json}");
}
