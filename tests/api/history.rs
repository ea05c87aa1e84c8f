//! A cluster's history: in order, readable since an event, streamed live, tenant-isolated,
//! and kept a while after deletion.

use crate::support::*;
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

const TENANT: &str = "historian";
const SHELL: &str = r#"icclab.disco.components.heat.slavecount="1", icclab.disco.dependencies.inject="{'shell': ''}", icclab.disco.components.shell.command="sleep 1""#;

#[test]
fn events_come_in_order_and_since_returns_only_newer_ones() {
    let server = TestServer::start();
    let id = create_ok(&server, TENANT, SHELL);
    wait_for_state(&server, TENANT, &id, "ready", Duration::from_secs(60));
    let all = events(&server, TENANT, &id, 0);
    let messages: Vec<&str> = all.iter().map(|e| e["message"].as_str().unwrap()).collect();
    assert_eq!(messages[..2], ["create requested", "pending -> building"]);
    assert_eq!(messages.last(), Some(&"building -> ready"));
    for step in [
        "base installed on every node",
        "shell installed on every node",
    ] {
        assert!(messages.contains(&step), "{step} missing from {messages:?}");
    }
    let kinds: Vec<&str> = all.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds[..2], ["action", "state"]);
    // Each node's steps name the node.
    let installing: Vec<(&str, &str)> = all
        .iter()
        .filter(|e| e["message"].as_str().unwrap().starts_with("installing "))
        .map(|e| (e["node"].as_str().unwrap(), e["message"].as_str().unwrap()))
        .collect();
    assert!(
        installing.contains(&("master", "installing base")),
        "{installing:?}"
    );
    assert!(
        installing.contains(&("slave-1", "installing shell")),
        "{installing:?}"
    );
    let ids: Vec<i64> = all.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let times: Vec<&str> = all.iter().map(|e| e["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert_eq!(events(&server, TENANT, &id, ids[0]), all[1..].to_vec());
    assert!(events(&server, TENANT, &id, *ids.last().unwrap()).is_empty());

    // Text: one line per event with its time and kind.
    let text = get(
        &server.url(&format!("/disco/{id}/events")),
        TENANT,
        "text/plain",
    );
    assert_eq!(text.status, 200);
    let lines: Vec<&str> = text.body.lines().collect();
    assert_eq!(lines.len(), all.len());
    assert!(
        lines.last().unwrap().ends_with(" state building -> ready"),
        "{}",
        text.body
    );
    assert!(
        text.body.contains(" step [slave-1] installing shell\n"),
        "{}",
        text.body
    );

    // Another tenant sees no history; a bad `since` is a 400 that says what it wants.
    let foreign = get(
        &server.url(&format!("/disco/{id}/events")),
        "someone-else",
        "application/json",
    );
    assert_eq!(foreign.status, 404);
    let bad = get(
        &server.url(&format!("/disco/{id}/events?since=yesterday")),
        TENANT,
        "text/plain",
    );
    assert_eq!(bad.status, 400);
    assert!(
        bad.body.contains("since must be an event id"),
        "{}",
        bad.body
    );
}

#[test]
fn the_event_stream_delivers_changes_live_and_ends_when_the_cluster_is_deleted() {
    let server = TestServer::start();
    let id = create_ok(&server, TENANT, SHELL);
    wait_for_state(&server, TENANT, &id, "ready", Duration::from_secs(60));
    let seen = events(&server, TENANT, &id, 0);
    let last = seen.last().unwrap()["id"].as_i64().unwrap();

    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let response = client
        .get(server.url(&format!("/disco/{id}/events")))
        .header("X-Tenant-Name", TENANT)
        .header("Accept", "text/event-stream")
        .header("Last-Event-ID", last.to_string())
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let mut lines = BufReader::new(response).lines();
    // Nothing old is resent; the delete's events arrive as they happen.
    let asked = Instant::now();
    let deleted = send(
        "DELETE",
        &server.url(&format!("/disco/{id}")),
        &[("X-Tenant-Name", TENANT.as_bytes())],
        None,
    );
    assert_eq!(deleted.status, 200);
    let mut received = Vec::new();
    let mut first_after = None;
    for line in lines.by_ref() {
        let line = line.expect("stream line");
        if let Some(data) = line.strip_prefix("data: ") {
            let event: serde_json::Value = serde_json::from_str(data).unwrap();
            assert!(event["id"].as_i64().unwrap() > last, "resent {event}");
            first_after.get_or_insert_with(|| asked.elapsed());
            received.push(event["message"].as_str().unwrap().to_string());
        }
    }
    // The loop ended: the server closed the stream after the cluster was deleted.
    assert_eq!(
        received.first().map(String::as_str),
        Some("delete requested")
    );
    assert_eq!(
        received.last().map(String::as_str),
        Some("deleting -> deleted")
    );
    let first_after = first_after.unwrap();
    assert!(
        first_after < Duration::from_secs(2),
        "the first event took {first_after:?} to arrive"
    );

    // The history of a deleted cluster stays readable for a while.
    let history = event_messages(&server, TENANT, &id);
    assert_eq!(
        history.last().map(String::as_str),
        Some("deleting -> deleted")
    );
    assert_eq!(state(&server, TENANT, &id), None);
}

#[test]
fn a_deleted_clusters_history_is_kept_for_keep_deleted_secs_only() {
    let server = TestServer::start_with(ServerOptions {
        env: vec![("DISCO_LIFECYCLE__KEEP_DELETED_SECS".into(), "2".into())],
        ..ServerOptions::default()
    });
    let id = create_ok(&server, TENANT, SHELL);
    wait_for_state(&server, TENANT, &id, "ready", Duration::from_secs(60));
    send(
        "DELETE",
        &server.url(&format!("/disco/{id}")),
        &[("X-Tenant-Name", TENANT.as_bytes())],
        None,
    );
    wait_until_gone(&server, TENANT, &id, Duration::from_secs(30));
    let url = server.url(&format!("/disco/{id}/events"));
    assert_eq!(get(&url, TENANT, "text/plain").status, 200);
    assert_eq!(get(&url, "someone-else", "text/plain").status, 404);
    std::thread::sleep(Duration::from_millis(2500));
    let expired = get(&url, TENANT, "text/plain");
    assert_eq!(expired.status, 404, "{}", expired.body);
}
