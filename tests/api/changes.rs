//! Changing a cluster through the interface: actions, partial and full updates, their
//! refusals (each a clear 4xx that changes nothing), lifetime, and retry-safe creates.

use crate::support::*;
use std::time::Duration;

const TENANT: &str = "changer";
const SHELL: &str = r#"icclab.disco.components.heat.slavecount="1", icclab.disco.dependencies.inject="{'shell': ''}", icclab.disco.components.shell.command="true""#;

fn ready_cluster(server: &TestServer) -> String {
    let id = create_ok(server, TENANT, SHELL);
    wait_until_settled(server, TENANT, &id, "ready", Duration::from_secs(60));
    id
}

fn generation(server: &TestServer, id: &str) -> i64 {
    attributes(server, TENANT, id).unwrap()["icclab.disco.generation"]
        .as_i64()
        .unwrap()
}

fn post(server: &TestServer, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut all: Vec<(&str, &[u8])> = vec![("X-Tenant-Name", TENANT.as_bytes())];
    all.extend(headers.iter().map(|(k, v)| (*k, v.as_bytes())));
    send("POST", &server.url(path), &all, None)
}

#[test]
fn the_query_interface_advertises_the_actions_with_their_attributes() {
    let server = TestServer::start();
    let response = get(&server.url("/-/"), TENANT, "text/plain");
    for term in ["scale", "suspend", "resume"] {
        assert!(
            response.body.contains(&format!(
                "Category: {term}; scheme=\"http://schemas.cloudcomplab.ch/occi/sm/disco/action#\"; class=\"action\""
            )),
            "{term} missing: {}",
            response.body
        );
    }
    assert!(response
        .body
        .contains("attributes=\"icclab.disco.components.heat.slavecount\""));
    assert!(response
        .body
        .contains("actions=\"http://schemas.cloudcomplab.ch/occi/sm/disco/action#scale"));
    let json = get(&server.url("/-/"), TENANT, "application/occi+json");
    let value: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    let scale = value["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["term"] == "scale")
        .expect("scale in the JSON query interface");
    assert_eq!(
        scale["attributes"]["icclab.disco.components.heat.slavecount"]["type"],
        "number"
    );
}

#[test]
fn bad_actions_and_updates_get_a_clear_4xx_and_change_nothing() {
    let server = TestServer::start();
    let id = ready_cluster(&server);
    let path = format!("/disco/{id}");
    let before = generation(&server, &id);
    let scale_category = action_category("scale");
    let cases: Vec<(Response, u16, &str)> = vec![
        (
            post(
                &server,
                &format!("{path}?action=explode"),
                &[("Category", &action_category("explode"))],
            ),
            400,
            "a cluster has the actions scale, suspend, resume",
        ),
        (
            post(
                &server,
                &format!("{path}?action=scale"),
                &[(
                    "X-OCCI-Attribute",
                    "icclab.disco.components.heat.slavecount=\"2\"",
                )],
            ),
            400,
            "must carry the action's category",
        ),
        (
            post(
                &server,
                &format!("{path}?action=scale"),
                &[("Category", &scale_category)],
            ),
            400,
            "needs X-OCCI-Attribute: icclab.disco.components.heat.slavecount",
        ),
        (
            post(
                &server,
                &format!("{path}?action=scale"),
                &[
                    ("Category", &scale_category),
                    (
                        "X-OCCI-Attribute",
                        "icclab.disco.components.heat.slavecount=\"99\"",
                    ),
                ],
            ),
            400,
            "above this service's maximum",
        ),
        (
            post(
                &server,
                &format!("{path}?action=suspend"),
                &[
                    ("Category", &action_category("suspend")),
                    (
                        "X-OCCI-Attribute",
                        "icclab.disco.components.heat.slavecount=\"2\"",
                    ),
                ],
            ),
            400,
            "the suspend action takes no attributes",
        ),
        (
            post(
                &server,
                &format!("{path}?action=resume"),
                &[("Category", &action_category("resume"))],
            ),
            409,
            "the cluster is ready, not suspended",
        ),
        (
            post(
                &server,
                &path,
                &[(
                    "X-OCCI-Attribute",
                    "icclab.disco.components.heat.masterimage=\"other\"",
                )],
            ),
            400,
            "icclab.disco.components.heat.masterimage (it is unset, the request says `other`)",
        ),
        (
            post(
                &server,
                &path,
                &[(
                    "X-OCCI-Attribute",
                    "icclab.disco.dependencies.inject=\"{'spark': ''}\"",
                )],
            ),
            400,
            "icclab.disco.dependencies.inject (it is `shell`, the request says `spark`)",
        ),
        (
            post(
                &server,
                &path,
                &[("X-OCCI-Attribute", "icclab.disco.lifetime=\"soon\"")],
            ),
            400,
            "icclab.disco.lifetime: `soon` is not a lifetime",
        ),
        (post(&server, &path, &[]), 400, "nothing to update"),
        (
            post(
                &server,
                &path,
                &[("X-OCCI-Attribute", "occi.core.id=\"x\"")],
            ),
            400,
            "occi.core.id cannot change",
        ),
        (
            post(
                &server,
                &path,
                &[(
                    "X-OCCI-Attribute",
                    &format!("occi.core.id=\"{id}\", occi.core.title=\"same id\""),
                )],
            ),
            202,
            "same id",
        ),
        (
            post(
                &server,
                "/disco/4f0c5c8e-6a8b-4f57-9d2c-2a1f0e5b7c11?action=scale",
                &[("Category", &scale_category)],
            ),
            404,
            "no cluster",
        ),
    ];
    for (response, status, message) in cases {
        assert_eq!(response.status, status, "{}", response.body);
        assert!(
            response.body.contains(message),
            "`{message}` not in `{}`",
            response.body
        );
    }
    // Only the accepted change (the same id, a new title) counted.
    assert_eq!(
        generation(&server, &id),
        before + 1,
        "a refused change changed the cluster"
    );
    let attributes = attributes(&server, TENANT, &id).unwrap();
    assert_eq!(attributes["icclab.disco.components.heat.slavecount"], 1);

    // Deleting: nothing can change any more.
    send(
        "DELETE",
        &server.url(&path),
        &[("X-Tenant-Name", TENANT.as_bytes())],
        None,
    );
    let late = post(
        &server,
        &format!("{path}?action=scale"),
        &[
            ("Category", &scale_category),
            (
                "X-OCCI-Attribute",
                "icclab.disco.components.heat.slavecount=\"2\"",
            ),
        ],
    );
    assert!(
        late.status == 409 || late.status == 404,
        "{} {}",
        late.status,
        late.body
    );
}

#[test]
fn a_building_cluster_cannot_be_scaled_yet() {
    let server = TestServer::start();
    let id = create_ok(
        &server,
        TENANT,
        r#"icclab.disco.dependencies.inject="{'shell': ''}", icclab.disco.components.shell.command="sleep 30""#,
    );
    wait_for_state(&server, TENANT, &id, "building", Duration::from_secs(30));
    let response = act(
        &server,
        TENANT,
        &id,
        "scale",
        "icclab.disco.components.heat.slavecount=\"2\"",
    );
    assert_eq!(response.status, 409, "{}", response.body);
    assert!(
        response
            .body
            .contains("the cluster is building: wait until it is ready, then scale it"),
        "{}",
        response.body
    );
}

#[test]
fn a_full_update_keeps_immutable_attributes_and_replaces_the_rest() {
    let server = TestServer::start();
    let id = create_ok(
        &server,
        TENANT,
        &format!(
            "{SHELL}, occi.core.title=\"first\", icclab.disco.components.heat.masterimage=\"img\""
        ),
    );
    wait_until_settled(&server, TENANT, &id, "ready", Duration::from_secs(60));
    let put = |attributes: &str| {
        send(
            "PUT",
            &server.url(&format!("/disco/{id}")),
            &[
                ("X-Tenant-Name", TENANT.as_bytes()),
                ("Category", KIND.as_bytes()),
                ("X-OCCI-Attribute", attributes.as_bytes()),
            ],
            None,
        )
    };
    let refused = put(&format!("{SHELL}, occi.core.title=\"second\""));
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains(
        "icclab.disco.components.heat.masterimage (it is `img`, the request says unset)"
    ));
    let accepted = put(&format!(
        "{SHELL}, occi.core.title=\"second\", icclab.disco.components.heat.masterimage=\"img\", icclab.disco.state=\"whatever\""
    ));
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    let attributes = wait_until_settled(&server, TENANT, &id, "ready", Duration::from_secs(30));
    assert_eq!(attributes["occi.core.title"], "second");
    assert_eq!(attributes["icclab.disco.generation"], 2);
    assert!(event_messages(&server, TENANT, &id).contains(&"update requested: title".to_string()));
}

#[test]
fn a_cluster_is_deleted_when_its_lifetime_runs_out() {
    let server = TestServer::start();
    let id = create_ok(
        &server,
        TENANT,
        &format!("{SHELL}, icclab.disco.lifetime=\"1h\""),
    );
    let attributes = wait_until_settled(&server, TENANT, &id, "ready", Duration::from_secs(60));
    assert_eq!(attributes["icclab.disco.lifetime"], "1h");
    let created = chrono::DateTime::parse_from_rfc3339(
        attributes["icclab.disco.created_at"].as_str().unwrap(),
    )
    .unwrap();
    let expires = chrono::DateTime::parse_from_rfc3339(
        attributes["icclab.disco.expires_at"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!((expires - created).num_seconds(), 3600);

    // A lifetime that has already passed is refused; a short one set by update applies.
    std::thread::sleep(Duration::from_millis(1100));
    let refused = post(
        &server,
        &format!("/disco/{id}"),
        &[("X-OCCI-Attribute", "icclab.disco.lifetime=\"1\"")],
    );
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused.body.contains("would have ended already"),
        "{}",
        refused.body
    );
    // Lifetimes count from creation: end it 4 s from now, however long the build took.
    let age = (chrono::Utc::now() - created.with_timezone(&chrono::Utc)).num_seconds();
    let lifetime = format!("{}s", age + 4);
    let shortened = post(
        &server,
        &format!("/disco/{id}"),
        &[(
            "X-OCCI-Attribute",
            &format!("icclab.disco.lifetime=\"{lifetime}\""),
        )],
    );
    assert_eq!(shortened.status, 202, "{}", shortened.body);
    wait_until_gone(&server, TENANT, &id, Duration::from_secs(30));
    let history = event_messages(&server, TENANT, &id);
    assert!(
        history
            .iter()
            .any(|m| m.starts_with("lifetime of ") && m.ends_with(" ran out: delete requested")),
        "{history:#?}"
    );
    assert_eq!(
        history.last().map(String::as_str),
        Some("deleting -> deleted")
    );
}

fn create_with_key(server: &TestServer, key: &str, attributes: &str) -> Response {
    send(
        "POST",
        &server.url("/disco/"),
        &[
            ("Category", KIND.as_bytes()),
            ("X-Tenant-Name", TENANT.as_bytes()),
            ("Idempotency-Key", key.as_bytes()),
            ("X-OCCI-Attribute", attributes.as_bytes()),
        ],
        None,
    )
}

#[test]
fn a_create_retried_with_its_idempotency_key_gets_the_same_cluster() {
    let server = TestServer::start();
    let first = create_with_key(&server, "retry-1", SHELL);
    assert_eq!(first.status, 201, "{}", first.body);
    let again = create_with_key(&server, "retry-1", SHELL);
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.header("Location"), first.header("Location"));
    let other = create_with_key(
        &server,
        "retry-1",
        &format!("{SHELL}, occi.core.title=\"x\""),
    );
    assert_eq!(other.status, 409, "{}", other.body);
    assert!(
        other.body.contains("Idempotency-Key `retry-1` was used"),
        "{}",
        other.body
    );
    let bad = create_with_key(&server, "with space", SHELL);
    assert_eq!(bad.status, 400);

    // Two retries racing with one key make one cluster.
    let racers: Vec<_> = (0..2)
        .map(|_| {
            let url = server.url("/disco/");
            std::thread::spawn(move || {
                send(
                    "POST",
                    &url,
                    &[
                        ("Category", KIND.as_bytes()),
                        ("X-Tenant-Name", TENANT.as_bytes()),
                        ("Idempotency-Key", b"race"),
                        ("X-OCCI-Attribute", SHELL.as_bytes()),
                    ],
                    None,
                )
            })
        })
        .collect();
    let locations: Vec<Option<String>> = racers
        .into_iter()
        .map(|r| {
            let response = r.join().unwrap();
            assert_eq!(response.status, 201, "{}", response.body);
            response.header("Location")
        })
        .collect();
    assert_eq!(locations[0], locations[1]);
    assert_eq!(listed(&server, TENANT).len(), 2);
    // Without a key, the same request twice makes two clusters, as before.
    create_ok(&server, TENANT, SHELL);
    create_ok(&server, TENANT, SHELL);
    assert_eq!(listed(&server, TENANT).len(), 4);
}
