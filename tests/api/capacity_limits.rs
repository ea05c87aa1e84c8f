//! disco's limits for all tenants together: `limits.max_clusters` and `limits.max_nodes`
//! (masters and slaves of every live cluster, scales included). A refusal is `503` naming the
//! limit and its value, and stores nothing.

use crate::support::*;
use std::time::Duration;

fn server_with(limits: &[(&str, &str)]) -> TestServer {
    TestServer::start_with(ServerOptions {
        env: limits
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..ServerOptions::default()
    })
}

fn slaves(n: u32) -> String {
    format!(r#"icclab.disco.components.heat.slavecount="{n}""#)
}

#[test]
fn a_cluster_beyond_max_clusters_is_refused_for_any_tenant_and_nothing_is_stored() {
    let server = server_with(&[("DISCO_LIMITS__MAX_CLUSTERS", "2")]);
    let a = create_ok(&server, "tenant-a", &slaves(0));
    let b = create_ok(&server, "tenant-b", &slaves(0));
    let refused = create(&server, "tenant-c", &slaves(0));
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert!(
        refused.body.contains("disco already has 2 clusters")
            && refused.body.contains("(limits.max_clusters)"),
        "{}",
        refused.body
    );
    assert!(listed(&server, "tenant-c").is_empty());
    assert_eq!(listed(&server, "tenant-a"), vec![a.clone()]);
    assert_eq!(listed(&server, "tenant-b"), vec![b]);
    // Once a cluster is gone there is room again.
    let deleted = send(
        "DELETE",
        &server.url(&format!("/disco/{a}")),
        &[("X-Tenant-Name", b"tenant-a")],
        None,
    );
    assert_eq!(deleted.status, 200);
    wait_until_gone(&server, "tenant-a", &a, Duration::from_secs(30));
    create_ok(&server, "tenant-c", &slaves(0));
}

#[test]
fn creates_and_scales_beyond_max_nodes_are_refused_and_change_nothing() {
    let server = server_with(&[("DISCO_LIMITS__MAX_NODES", "4")]);
    let a = create_ok(&server, "tenant-a", &slaves(1));
    // Two nodes are taken; three more do not fit.
    let refused = create(&server, "tenant-b", &slaves(2));
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("this needs 3 more node(s), but disco's clusters already use 2 of 4 nodes")
            && refused.body.contains("(limits.max_nodes)"),
        "{}",
        refused.body
    );
    assert!(listed(&server, "tenant-b").is_empty());
    let b = create_ok(&server, "tenant-b", &slaves(1));

    wait_for_state(&server, "tenant-a", &a, "ready", Duration::from_secs(60));
    let generation =
        attributes(&server, "tenant-a", &a).expect("a")["icclab.disco.generation"].clone();
    let grow = act(&server, "tenant-a", &a, "scale", &slaves(2));
    assert_eq!(grow.status, 503, "{}", grow.body);
    assert!(
        grow.body
            .contains("this needs 1 more node(s), but disco's clusters already use 4 of 4 nodes")
            && grow.body.contains("limits.max_nodes"),
        "{}",
        grow.body
    );
    let after = attributes(&server, "tenant-a", &a).expect("a");
    assert_eq!(after["icclab.disco.generation"], generation);
    assert_eq!(after["icclab.disco.components.heat.slavecount"], 1);
    // Shrinking always fits.
    scale(&server, "tenant-a", &a, 0);
    wait_for_state(&server, "tenant-b", &b, "ready", Duration::from_secs(60));
}
