//! `GET /disco/<id>` answers from a rendering kept until the cluster changes
//! (`src/api/clusters/shown.rs`). Each change must show in the very next GET: one the
//! reconciler records, a user's update and a delete here; one another process commits
//! (`disco forget`) in `openstack_faults.rs`.

use crate::support::{attributes, create_ok, event_messages, send, TestServer};
use std::time::{Duration, Instant};

const TENANT: &str = "kept";

/// Waits until the cluster's history (read from the store, never kept) has `message`.
fn wait_for_event(server: &TestServer, id: &str, message: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !event_messages(server, TENANT, id)
        .iter()
        .any(|m| m == message)
    {
        assert!(
            Instant::now() < deadline,
            "no `{message}` event:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn shown(server: &TestServer, id: &str, attribute: &str) -> String {
    attributes(server, TENANT, id).expect("the cluster exists")[attribute]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn every_change_shows_in_the_next_get() {
    let server = TestServer::start();
    let id = create_ok(
        &server,
        TENANT,
        r#"icclab.disco.components.heat.slavecount="0""#,
    );
    // Asked for while the cluster is building, twice: the second answer is a kept one.
    shown(&server, &id, "icclab.disco.state");
    shown(&server, &id, "icclab.disco.state");
    wait_for_event(&server, &id, "building -> ready");
    assert_eq!(shown(&server, &id, "icclab.disco.state"), "ready");

    let updated = send(
        "POST",
        &server.url(&format!("/disco/{id}")),
        &[
            ("X-Tenant-Name", TENANT.as_bytes()),
            ("X-OCCI-Attribute", b"occi.core.title=\"renamed\""),
        ],
        None,
    );
    assert!(updated.status < 300, "{}", updated.body);
    assert_eq!(shown(&server, &id, "occi.core.title"), "renamed");

    let deleted = send(
        "DELETE",
        &server.url(&format!("/disco/{id}")),
        &[("X-Tenant-Name", TENANT.as_bytes())],
        None,
    );
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let state = attributes(&server, TENANT, &id).map(|a| a["icclab.disco.state"].clone());
    assert!(state.as_ref().is_none_or(|s| s == "deleting"), "{state:?}");
}
