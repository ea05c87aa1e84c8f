//! The openstack backend when Keystone and Heat misbehave: the real disco binary against the
//! in-test fake of `fake_openstack.rs` (real Keystone and Heat cannot fail on cue; they are
//! exercised for real by tests/openstack/).

use crate::fake_agent::FakeAgent;
use crate::fake_openstack::{Call, FakeCloud, Fault, Revoke, DEMO, DISCO};
use crate::support::{self, ServerOptions, TestServer, KIND};
use std::time::{Duration, Instant};

const PATIENCE: Duration = Duration::from_secs(30);

/// disco with the openstack backend against `auth_url`, its own identity from OS_* variables,
/// and `settings` (DISCO_<SECTION>__<KEY> overrides).
pub fn disco_with(auth_url: &str, settings: &[(&str, &str)]) -> TestServer {
    let repo = support::repo_root();
    TestServer::start_with(ServerOptions {
        extra_config: format!(
            "[backend]\nkind = openstack\n[auth]\nmode = keystone\n\
             [openstack]\nauth_url = {auth_url}\nregion = RegionOne\ngateway_cidr = 127.0.0.1/32\n\
             templates_dir = {templates}\n\
             poll_min_secs = 1\npoll_max_secs = 1\nrequest_timeout_secs = 1\n",
            templates = repo.join("templates/heat").display(),
        ),
        env: [
            ("OS_AUTH_URL", auth_url),
            ("OS_USERNAME", DISCO.name),
            ("OS_PASSWORD", DISCO.password),
            ("OS_PROJECT_NAME", DISCO.project),
            ("OS_USER_DOMAIN_NAME", "Default"),
            ("OS_PROJECT_DOMAIN_NAME", "Default"),
            ("DISCO_LOGGING__LEVEL", "info,disco=debug"),
        ]
        .iter()
        .chain(settings)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        ..ServerOptions::default()
    })
}

fn disco(fake: &FakeCloud) -> TestServer {
    disco_with(&fake.auth_url(), &[])
}

pub fn demo_credentials() -> Vec<(&'static str, String)> {
    vec![
        ("X-User-Name", DEMO.name.into()),
        ("X-Password", DEMO.password.into()),
        ("X-Tenant-Name", DEMO.project.into()),
        ("X-Region-Name", "RegionOne".into()),
    ]
}

/// POST /disco/ as the demo user with these attributes.
fn post_cluster(server: &TestServer, attributes: &str) -> support::Response {
    support::send_as(
        server,
        "POST",
        "/disco/",
        &demo_credentials(),
        &[
            ("Category", KIND),
            ("Content-Type", "text/occi"),
            ("X-OCCI-Attribute", attributes),
        ],
    )
}

/// Creates a 1 master + 1 slave shell cluster as the demo user; returns its id.
fn create(server: &TestServer, fake: &FakeCloud) -> String {
    let created = post_cluster(
        server,
        "icclab.disco.components.heat.slavecount=\"1\", \
         icclab.disco.dependencies.inject=\"{'shell': ''}\"",
    );
    assert_eq!(
        created.status,
        201,
        "{}\n{}\n{}",
        created.body,
        server.log(),
        fake.log()
    );
    created
        .header("Location")
        .and_then(|l| l.rsplit('/').next().map(str::to_string))
        .expect("Location names the cluster")
}

fn attributes(server: &TestServer, id: &str) -> Option<serde_json::Value> {
    support::attributes_as(server, &demo_credentials(), id)
}

/// Waits for the cluster's state; a `failed` cluster ends the wait for any other state.
fn wait_for(server: &TestServer, fake: &FakeCloud, id: &str, wanted: &str) -> serde_json::Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let current = attributes(server, id).expect("the cluster exists");
        let state = current["icclab.disco.state"].as_str().unwrap_or("");
        if state == wanted {
            return current;
        }
        assert!(
            state != "failed" && Instant::now() < deadline,
            "waited for {wanted}; the cluster is {current}\n{}\n{}",
            server.log(),
            fake.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn wait_until_gone(server: &TestServer, fake: &FakeCloud, id: &str) {
    let deadline = Instant::now() + PATIENCE;
    while attributes(server, id).is_some() {
        assert!(
            Instant::now() < deadline,
            "cluster {id} still there\n{}\n{}",
            server.log(),
            fake.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn wait_until(what: &str, fake: &FakeCloud, done: impl Fn() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "waited for {what}\n{}",
            fake.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A fake cloud, disco, and a cluster that is ready at `external_ip`.
fn ready_cluster(external_ip: &str) -> (FakeCloud, TestServer, String) {
    let fake = FakeCloud::start();
    let server = disco(&fake);
    let id = create(&server, &fake);
    fake.wait_for_stack(PATIENCE);
    fake.complete_stacks(external_ip);
    let ready = wait_for(&server, &fake, &id, "ready");
    assert_eq!(ready["external_ip"], external_ip, "{ready}");
    (fake, server, id)
}

fn delete(server: &TestServer, id: &str) {
    let deleted = support::send_as(
        server,
        "DELETE",
        &format!("/disco/{id}"),
        &demo_credentials(),
        &[],
    );
    assert_eq!(deleted.status, 200, "{}", deleted.body);
}

/// The cluster's trust exists and is the demo user's, handed to disco.
fn assert_one_trust_from_demo_to_disco(fake: &FakeCloud) {
    let trusts = fake.trusts();
    assert_eq!(trusts.len(), 1, "{trusts:?}");
    assert_eq!(
        (
            trusts[0].trustor.as_str(),
            trusts[0].trustee.as_str(),
            trusts[0].project_id.as_str()
        ),
        (DEMO.id, DISCO.id, DEMO.project_id)
    );
    assert!(trusts[0].impersonation);
    assert_eq!(trusts[0].roles, ["member", "reader"]);
}

#[test]
fn a_token_heat_refuses_mid_build_is_replaced_and_the_build_goes_on() {
    let fake = FakeCloud::start();
    let server = disco(&fake);
    let id = create(&server, &fake);
    let stack = fake.wait_for_stack(PATIENCE);
    assert_eq!(stack.name, format!("disco-{}", id.replace('-', "")));
    wait_for(&server, &fake, &id, "building");
    assert_one_trust_from_demo_to_disco(&fake);

    // Every trust token stops working, as after expiry: Heat answers 401 to the next poll.
    let issued = fake.count(Call::TrustToken);
    fake.revoke_tokens(Revoke::TrustScoped);
    wait_until("a poll refused with 401", &fake, || {
        fake.count_status(Call::StackList, 401) > 0
    });
    fake.complete_stacks("203.0.113.7");
    let ready = wait_for(&server, &fake, &id, "ready");
    assert_eq!(ready["external_ip"], "203.0.113.7", "{ready}");
    assert_eq!(ready["icclab.disco.log_url"], "http://203.0.113.7:8084/");
    assert!(fake.count(Call::TrustToken) > issued, "{}", fake.log());
    assert_eq!(fake.stacks().len(), 1);
    assert_eq!(fake.count(Call::StackCreate), 1);
}

#[test]
fn progress_counts_the_nodes_whose_installers_have_finished() {
    let fake = FakeCloud::start();
    let server = disco(&fake);
    let id = create(&server, &fake);
    fake.wait_for_stack(PATIENCE);
    let progress = |server: &TestServer| {
        attributes(server, &id).expect("cluster")["icclab.disco.progress"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    let expected = "installing the frameworks: 0 of 2 nodes finished (stack CREATE_IN_PROGRESS)";
    wait_until("progress of no node", &fake, || {
        progress(&server).ends_with(expected)
    });
    fake.signal_nodes(1);
    let expected = "installing the frameworks: 1 of 2 nodes finished (stack CREATE_IN_PROGRESS)";
    wait_until("progress of one node", &fake, || {
        progress(&server).ends_with(expected)
    });
    fake.complete_stacks("203.0.113.13");
    let ready = wait_for(&server, &fake, &id, "ready");
    assert_eq!(ready["icclab.disco.progress"], "2/2 frameworks installed");
}

#[test]
fn heat_errors_and_late_answers_are_retried_without_making_a_second_stack() {
    let fake = FakeCloud::start();
    // The look for an existing stack fails once with 502; the first create gets 503; the
    // second is carried out but answered after disco's 1 s timeout.
    fake.inject(Call::StackList, Fault::Status(502));
    fake.inject(Call::StackCreate, Fault::Status(503));
    fake.inject(
        Call::StackCreate,
        Fault::AnswerLate(Duration::from_millis(2500)),
    );
    let server = disco(&fake);
    let id = create(&server, &fake);
    wait_until("two create attempts", &fake, || {
        fake.count(Call::StackCreate) == 2
    });
    // The retry after the late answer finds the stack it made and keeps polling it.
    wait_until("polls after the late answer", &fake, || {
        fake.count_status(Call::StackList, 200) >= 4
    });
    assert_eq!(fake.count(Call::StackCreate), 2, "{}", fake.log());
    assert_eq!(fake.stacks().len(), 1, "{}", fake.log());
    assert_eq!(
        attributes(&server, &id).expect("cluster")["icclab.disco.state"],
        "building"
    );
    fake.complete_stacks("203.0.113.8");
    let ready = wait_for(&server, &fake, &id, "ready");
    assert_eq!(ready["external_ip"], "203.0.113.8");
    assert_eq!(fake.stacks().len(), 1);
    assert!(server.log().contains("will retry"), "{}", server.log());
}

#[test]
fn a_failed_stack_fails_the_cluster_with_heats_reason_and_the_failed_resources() {
    let fake = FakeCloud::start();
    let server = disco(&fake);
    let id = create(&server, &fake);
    fake.wait_for_stack(PATIENCE);
    wait_for(&server, &fake, &id, "building");
    fake.fail_stacks(
        "Resource CREATE failed: WaitConditionFailure: resources.slaves.resources[0]: \
         shell failed on slave-1: exit 3",
        &[
            (
                "wait",
                "WaitConditionFailure: shell failed on slave-1: exit 3",
            ),
            ("slaves", "resources[0]: WaitConditionFailure"),
        ],
    );
    let failed = wait_for(&server, &fake, &id, "failed");
    let reason = failed["icclab.disco.state_reason"].as_str().unwrap_or("");
    assert!(
        reason.contains("CREATE_FAILED")
            && reason.contains("shell failed on slave-1: exit 3")
            && reason.contains("failed resources: wait, slaves"),
        "{reason}"
    );
    assert_eq!(failed["stack_status"], "CREATE_FAILED");

    // A failed cluster is deleted like any other: the stack, then the trust.
    delete(&server, &id);
    wait_until_gone(&server, &fake, &id);
    assert!(fake.stacks().is_empty(), "{}", fake.log());
    assert!(fake.trusts().iter().all(|t| t.deleted), "{}", fake.log());
}

#[test]
fn a_stack_gone_before_its_delete_counts_as_deleted() {
    let (fake, server, id) = ready_cluster("203.0.113.9");

    // Someone removes the stack between disco's look and its DELETE: Heat answers 404.
    fake.inject(Call::StackDelete, Fault::VanishThen404);
    delete(&server, &id);
    wait_until_gone(&server, &fake, &id);
    assert_eq!(
        fake.count_status(Call::StackDelete, 404),
        1,
        "{}",
        fake.log()
    );
    assert!(fake.stacks().is_empty());
    assert!(fake.trusts().iter().all(|t| t.deleted), "{}", fake.log());
    assert!(!server.log().contains("will retry"), "{}", server.log());
}

#[test]
fn a_delete_heat_fails_is_shown_with_heats_reason_and_asked_again() {
    let (fake, server, id) = ready_cluster("203.0.113.14");

    let why = "Resource DELETE failed: Conflict: resources.master_port: Port is in use";
    fake.inject(Call::StackDelete, Fault::DeleteFails(why.into()));
    delete(&server, &id);
    let shown = |server: &TestServer| attributes(server, &id);
    wait_until("the failed delete shown to the owner", &fake, || {
        shown(&server).is_some_and(|a| {
            a["icclab.disco.state"] == "deleting"
                && a["icclab.disco.state_reason"]
                    .as_str()
                    .is_some_and(|r| r.contains(&format!("DELETE_FAILED: {why}")))
        })
    });
    wait_until_gone(&server, &fake, &id);
    assert_eq!(fake.count(Call::StackDelete), 2, "{}", fake.log());
    assert!(fake.stacks().is_empty());
    assert!(fake.trusts().iter().all(|t| t.deleted));
}

#[test]
fn heats_redirect_of_a_stack_lookup_is_followed_with_the_token() {
    let fake = FakeCloud::start();
    fake.inject(Call::StackShow, Fault::Redirect);
    let server = disco(&fake);
    let id = create(&server, &fake);
    fake.wait_for_stack(PATIENCE);
    fake.complete_stacks("203.0.113.10");
    let ready = wait_for(&server, &fake, &id, "ready");
    assert_eq!(ready["external_ip"], "203.0.113.10");
    assert_eq!(fake.count_status(Call::StackShow, 302), 1, "{}", fake.log());
    assert!(fake.count_status(Call::StackShow, 200) >= 1);
}

#[test]
fn heats_redirect_to_another_host_is_not_followed_and_the_token_never_reaches_it() {
    // Another host: a listener on another loopback address that records what it receives.
    let elsewhere = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
    let origin = format!("http://{}", elsewhere.local_addr().unwrap());
    let received = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let recorder = received.clone();
    std::thread::spawn(move || {
        for stream in elsewhere.incoming().flatten() {
            use std::io::{Read, Write};
            let mut stream = stream;
            let mut buffer = [0u8; 65536];
            let n = stream.read(&mut buffer).unwrap_or(0);
            recorder
                .lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buffer[..n]));
            let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
        }
    });
    let fake = FakeCloud::start();
    fake.inject(Call::StackShow, Fault::RedirectTo(origin.clone()));
    let server = disco(&fake);
    let id = create(&server, &fake);
    fake.wait_for_stack(PATIENCE);
    fake.complete_stacks("203.0.113.12");
    // The cluster fails with a reason that says why (a misconfigured endpoint does not heal);
    // nothing, and no token, reached the other host.
    let failed = wait_for(&server, &fake, &id, "failed");
    let received = received.lock().unwrap().clone();
    assert!(received.is_empty(), "the other host got: {received}");
    let reason = failed["icclab.disco.state_reason"].as_str().unwrap_or("");
    assert!(
        reason.contains(&format!(
            "redirected to another host ({origin}); disco does not send the owner's token there"
        )),
        "{failed}"
    );
    assert_eq!(fake.count_status(Call::StackShow, 302), 1, "{}", fake.log());
    // Delete still removes the stack (the list and delete calls are not redirected).
    delete(&server, &id);
    wait_until_gone(&server, &fake, &id);
    assert!(fake.stacks().is_empty());
}

#[test]
fn a_delete_after_the_owner_revoked_the_trust_stays_deleting_and_says_how_an_operator_ends_it() {
    let fake = FakeCloud::start();
    let server = disco(&fake);
    let id = create(&server, &fake);
    fake.wait_for_stack(PATIENCE);
    fake.complete_stacks("203.0.113.13");
    wait_for(&server, &fake, &id, "ready");
    fake.revoke_trusts();
    delete(&server, &id);
    let stack = format!("disco-{}", id.replace('-', ""));
    let reason_of = |server: &TestServer| {
        attributes(server, &id).and_then(|a| {
            (a["icclab.disco.state"] == "deleting")
                .then(|| a["icclab.disco.state_reason"].as_str().map(str::to_string))
                .flatten()
        })
    };
    wait_until("the reason shown to the owner", &fake, || {
        reason_of(&server).is_some_and(|r| r.contains("no longer act"))
    });
    let reason = reason_of(&server).unwrap();
    for part in [
        "disco can no longer act for the cluster's owner",
        "Could not find trust.",
        &format!("Stack {stack} in project p-demo may remain"),
        &format!("`openstack stack delete {stack}`"),
        &format!("then `disco forget {id}`"),
    ] {
        assert!(reason.contains(part), "{part} not in {reason}");
    }
    // It does not pretend: the stack is still there, and so is the cluster, retried.
    std::thread::sleep(Duration::from_secs(3));
    assert!(reason_of(&server).is_some(), "{}", server.log());
    assert_eq!(fake.stacks().len(), 1);
    assert_eq!(fake.count(Call::StackDelete), 0, "{}", fake.log());

    // The operator removed the stack by hand; disco forget ends the cluster.
    let forget = |id: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_disco"))
            .args(["forget", "--config"])
            .arg(&server.config_path)
            .arg(id)
            .output()
            .unwrap()
    };
    let other = forget("00000000-0000-0000-0000-000000000000");
    assert_eq!(other.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&other.stderr).contains("is deleting"));
    let forgotten = forget(&id);
    assert!(forgotten.status.success(), "{forgotten:?}");
    wait_until_gone(&server, &fake, &id);
}

#[test]
fn trust_tokens_are_renewed_before_they_expire() {
    let fake = FakeCloud::start();
    // disco renews a token with 5 minutes or less left, so these last 2 s in disco's eyes.
    fake.set_trust_token_lifetime(Duration::from_secs(5 * 60 + 2));
    let server = disco(&fake);
    let id = create(&server, &fake);
    fake.wait_for_stack(PATIENCE);
    wait_until("a third trust token", &fake, || {
        fake.count(Call::TrustToken) >= 3
    });
    fake.complete_stacks("203.0.113.11");
    wait_for(&server, &fake, &id, "ready");
    for call in [Call::StackList, Call::StackShow, Call::StackCreate] {
        assert_eq!(fake.count_status(call, 401), 0, "{}", fake.log());
    }
    assert!(fake
        .heat_token_lifetimes()
        .iter()
        .all(|left| *left > Duration::from_secs(5 * 60 - 5)));
}

#[test]
fn work_goes_on_after_the_users_tokens_expire_and_no_password_or_token_is_kept() {
    let fake = FakeCloud::start();
    let server = disco(&fake);
    let id = create(&server, &fake);
    fake.wait_for_stack(PATIENCE);
    // Every token the user ever got stops working; disco acts through the trust.
    fake.revoke_tokens(Revoke::OfUser(&DEMO));
    fake.complete_stacks("203.0.113.12");
    // The user logs in again to look (a new token), as a user would.
    let ready = wait_for(&server, &fake, &id, "ready");
    assert_eq!(ready["external_ip"], "203.0.113.12");
    delete(&server, &id);
    wait_until_gone(&server, &fake, &id);
    assert!(fake.stacks().is_empty());
    assert!(fake.trusts().iter().all(|t| t.deleted));

    // Neither the password nor any token is in disco's files (database, WAL, log, keys).
    let mut secrets = vec![DEMO.password.to_string(), DISCO.password.to_string()];
    secrets.extend(fake.issued_tokens());
    for file in files_under(server.data_dir.path()) {
        let bytes = std::fs::read(&file).unwrap_or_default();
        for secret in &secrets {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} holds {secret}",
                file.display()
            );
        }
    }
}

#[test]
fn keystone_refusals_are_401_and_keystone_failures_503_and_nothing_is_stored() {
    let fake = FakeCloud::start();
    let server = disco(&fake);
    let mut wrong = demo_credentials();
    wrong[1].1 = "not-the-password".into();
    let refused = support::send_as(&server, "GET", "/disco/", &wrong, &[]);
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("Keystone refused user demo for project demo"),
        "{}",
        refused.body
    );

    fake.inject(Call::PasswordAuth, Fault::Status(500));
    let failing = support::send_as(&server, "GET", "/disco/", &demo_credentials(), &[]);
    assert_eq!(failing.status, 503, "{}", failing.body);
    assert!(failing.body.contains("Keystone"), "{}", failing.body);
    assert!(failing.body.contains("500"), "{}", failing.body);

    fake.inject(
        Call::PasswordAuth,
        Fault::AnswerLate(Duration::from_millis(2500)),
    );
    let slow = support::send_as(&server, "GET", "/disco/", &demo_credentials(), &[]);
    assert_eq!(slow.status, 503, "{}", slow.body);
    assert!(
        slow.body.contains("did not answer in time"),
        "{}",
        slow.body
    );

    // Creating a trust fails: the create is refused and nothing is stored.
    fake.inject(Call::CreateTrust, Fault::Status(503));
    let created = post_cluster(
        &server,
        "icclab.disco.dependencies.inject=\"{'shell': ''}\"",
    );
    assert_eq!(created.status, 503, "{}", created.body);
    let listed = support::send_as(
        &server,
        "GET",
        "/disco/",
        &demo_credentials(),
        &[("Accept", "text/uri-list")],
    );
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body.trim(), "", "{}", listed.body);
    assert!(fake.stacks().is_empty());

    // Keystone not listening at all.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let port = closed.local_addr().expect("address").port();
    drop(closed);
    let lonely = disco_with(&format!("http://127.0.0.1:{port}/v3"), &[]);
    let unreachable = support::send_as(&lonely, "GET", "/disco/", &demo_credentials(), &[]);
    assert_eq!(unreachable.status, 503, "{}", unreachable.body);
    assert!(
        unreachable.body.contains("cannot be reached"),
        "{}",
        unreachable.body
    );
}

/// Every regular file under `dir`.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else if path.is_file() {
            found.push(path);
        }
    }
    found
}

#[test]
fn a_create_that_is_refused_after_its_trust_was_made_leaves_no_trust_behind() {
    let fake = FakeCloud::start();
    let server = disco_with(
        &fake.auth_url(),
        &[("DISCO_LIMITS__MAX_CLUSTERS_PER_TENANT", "1")],
    );
    // Two creates race past the first look at the tenant's limit while Keystone takes its
    // time over their trusts; the store then takes only one.
    for _ in 0..2 {
        fake.inject(
            Call::CreateTrust,
            Fault::AnswerLate(Duration::from_millis(600)),
        );
    }
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let racers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    post_cluster(
                        &server,
                        "icclab.disco.dependencies.inject=\"{'shell': ''}\"",
                    )
                    .status
                })
            })
            .collect();
        racers
            .into_iter()
            .map(|r| r.join().expect("racer"))
            .collect()
    });
    let mut sorted = statuses.clone();
    sorted.sort();
    assert_eq!(sorted, [201, 403], "{}", server.log());
    let trusts = fake.trusts();
    assert_eq!(trusts.len(), 2, "{}", fake.log());
    assert_eq!(
        trusts.iter().filter(|t| !t.deleted).count(),
        1,
        "{trusts:?}\n{}",
        fake.log()
    );
}

#[test]
fn a_request_whose_user_data_nova_would_refuse_is_a_400_and_creates_nothing() {
    let fake = FakeCloud::start();
    let server = disco(&fake);
    // A 60 KB command, in a text/plain body (headers that long are refused before).
    let command = "echo hello; ".repeat(5000);
    let body = format!(
        "Category: {KIND}\nX-OCCI-Attribute: icclab.disco.dependencies.inject=\"{{'shell': ''}}\"\n\
         X-OCCI-Attribute: icclab.disco.components.shell.command=\"{command}\"\n"
    );
    let credentials = demo_credentials();
    let mut headers: Vec<(&str, &[u8])> = credentials
        .iter()
        .map(|(k, v)| (*k, v.as_bytes()))
        .collect();
    headers.push(("Content-Type", b"text/plain"));
    let refused = support::send(
        "POST",
        &server.url("/disco/"),
        &headers,
        Some(body.as_bytes()),
    );
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused.body.contains("more than the 64 KiB Nova accepts")
            && refused.body.contains("shell.command"),
        "{}",
        refused.body
    );
    assert!(fake.trusts().is_empty(), "{}", fake.log());
    assert!(fake.stacks().is_empty());
}

/// Runs an action on the cluster as the demo user; returns the status.
fn act(server: &TestServer, id: &str, term: &str, attributes: &str) -> u16 {
    let response = support::act_as(server, &demo_credentials(), id, term, attributes);
    assert!(response.status < 500, "{}", response.body);
    response.status
}

/// Asks for `slaves` slaves (202) and waits until Heat is updating the stack.
fn scale_and_wait_for_the_update(server: &TestServer, fake: &FakeCloud, id: &str, slaves: u32) {
    let slavecount = format!("icclab.disco.components.heat.slavecount=\"{slaves}\"");
    assert_eq!(act(server, id, "scale", &slavecount), 202);
    wait_until("the stack update", fake, || {
        fake.stacks()[0].status == "UPDATE_IN_PROGRESS"
    });
}

#[test]
fn a_stack_update_heat_fails_shows_heats_reason_and_the_cluster_can_be_scaled_again() {
    let (fake, server, id) = ready_cluster("203.0.113.21");
    scale_and_wait_for_the_update(&server, &fake, &id, 2);
    let scaling = wait_for(&server, &fake, &id, "scaling");
    assert_eq!(scaling["stack_status"], "UPDATE_IN_PROGRESS");
    assert_eq!(scaling["mcn.service.state"], "updating");
    fake.fail_updates(
        "Resource UPDATE failed: WaitConditionTimeout",
        &[("wait", "0 of 1 received")],
    );
    let failed = wait_for(&server, &fake, &id, "failed");
    let reason = failed["icclab.disco.state_reason"].as_str().unwrap();
    assert!(
        reason.contains("UPDATE_FAILED")
            && reason.contains("WaitConditionTimeout")
            && reason.contains("wait: 0 of 1 received")
            && reason.contains("scale again to retry"),
        "{reason}"
    );
    assert_eq!(failed["stack_status"], "UPDATE_FAILED");
    assert_eq!(fake.stacks()[0].changes, ["update slave_count=2"]);

    // Asked again, disco updates the stack again, and this time it works.
    assert_eq!(
        act(
            &server,
            &id,
            "scale",
            "icclab.disco.components.heat.slavecount=\"2\""
        ),
        202
    );
    wait_until("a second stack update", &fake, || {
        fake.stacks()[0].changes.len() == 2
    });
    fake.complete_changes();
    let ready = wait_for(&server, &fake, &id, "ready");
    assert_eq!(ready["stack_status"], "UPDATE_COMPLETE");
    assert_eq!(
        support::node_names(&ready),
        ["master", "slave-1", "slave-2"]
    );
    assert_eq!(
        ready["icclab.disco.nodes"][2]["address"], "10.20.1.1",
        "{ready}"
    );
}

#[test]
fn a_5xx_on_a_stack_update_heat_carried_out_does_not_update_twice() {
    let (fake, server, id) = ready_cluster("203.0.113.22");
    // The first PATCH is refused outright (nothing done), the second is carried out but
    // answered with 502: disco must retry the first and not repeat the second.
    fake.inject(Call::StackUpdate, Fault::Status(503));
    fake.inject(Call::StackUpdate, Fault::DoThenStatus(502));
    assert_eq!(
        act(
            &server,
            &id,
            "scale",
            "icclab.disco.components.heat.slavecount=\"3\""
        ),
        202
    );
    wait_until("the stack update Heat carried out", &fake, || {
        fake.stacks()[0].status == "UPDATE_IN_PROGRESS"
    });
    // Several polls later there is still exactly one update.
    let polls = fake.count(Call::StackShow);
    wait_until("more looks at the stack", &fake, || {
        fake.count(Call::StackShow) >= polls + 2
    });
    assert_eq!(fake.count(Call::StackUpdate), 2, "{}", fake.log());
    assert_eq!(fake.stacks()[0].changes, ["update slave_count=3"]);
    fake.complete_changes();
    let ready = wait_for(&server, &fake, &id, "ready");
    assert_eq!(support::node_names(&ready).len(), 4);
    assert_eq!(fake.stacks()[0].changes, ["update slave_count=3"]);
}

#[test]
fn suspend_and_resume_are_heats_stack_actions() {
    let (fake, server, id) = ready_cluster("203.0.113.23");
    assert_eq!(act(&server, &id, "suspend", ""), 202);
    wait_until("the suspend action", &fake, || {
        fake.stacks()[0].status == "SUSPEND_IN_PROGRESS"
    });
    let suspending = wait_for(&server, &fake, &id, "suspending");
    assert_eq!(suspending["stack_status"], "SUSPEND_IN_PROGRESS");
    fake.complete_changes();
    wait_for(&server, &fake, &id, "suspended");
    assert_eq!(act(&server, &id, "suspend", ""), 409);
    assert_eq!(act(&server, &id, "resume", ""), 202);
    wait_until("the resume action", &fake, || {
        fake.stacks()[0].status == "RESUME_IN_PROGRESS"
    });
    fake.complete_changes();
    let ready = wait_for(&server, &fake, &id, "ready");
    assert_eq!(ready["external_ip"], "203.0.113.23");
    assert_eq!(fake.stacks()[0].changes, ["suspend", "resume"]);
}

#[test]
fn scaling_runs_the_frameworks_hooks_through_the_masters_agent_around_heats_update() {
    let agent = FakeAgent::start();
    let fake = FakeCloud::start();
    let port = agent.port.to_string();
    let server = disco_with(&fake.auth_url(), &[("DISCO_OPENSTACK__AGENT_PORT", &port)]);
    let created = post_cluster(
        &server,
        "icclab.disco.components.heat.slavecount=\"1\", \
         icclab.disco.dependencies.inject=\"{'spark': ''}\"",
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created
        .header("Location")
        .and_then(|l| l.rsplit('/').next().map(str::to_string))
        .unwrap();
    fake.wait_for_stack(PATIENCE);
    // The master's floating IP is where the agent answers.
    fake.complete_stacks("127.0.0.1");
    wait_for(&server, &fake, &id, "ready");
    let secret = fake.stacks()[0].parameters["cluster_secret"]
        .as_str()
        .unwrap()
        .to_string();

    // Up: Heat builds slave-2, then the master's join hooks take it in.
    scale_and_wait_for_the_update(&server, &fake, &id, 2);
    assert!(
        agent.asked().is_empty(),
        "hooks before Heat built the slave"
    );
    fake.complete_changes();
    let ready = wait_for(&server, &fake, &id, "ready");
    assert_eq!(
        support::node_names(&ready),
        ["master", "slave-1", "slave-2"]
    );
    let joins: Vec<_> = agent
        .asked()
        .into_iter()
        .filter(|a| a.method == "POST")
        .collect();
    assert_eq!(joins[0].run, "join-slave-2");
    assert_eq!(joins[0].relay, None);
    assert_eq!(joins[0].event, "join");
    assert_eq!(joins[0].steps, "spark:join-master.sh");
    assert_eq!(joins[0].nodes, "slave-2=10.20.1.1");
    assert!(agent.asked().iter().all(|a| a.secret == secret));

    // Down: slave-2 leaves the frameworks (master's hooks, then its own, relayed) before
    // Heat is asked to remove it; then the master forgets its runs.
    agent.hold(Some("10.20.1.1"), "leave");
    let before = agent.asked().len();
    assert_eq!(
        act(
            &server,
            &id,
            "scale",
            "icclab.disco.components.heat.slavecount=\"1\""
        ),
        202
    );
    wait_until("the slave's own leave hooks", &fake, || {
        agent.asked()[before..]
            .iter()
            .any(|a| a.relay.as_deref() == Some("10.20.1.1") && a.run == "leave")
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        fake.stacks()[0].changes.len(),
        1,
        "Heat removed the slave before it left"
    );
    let asked = agent.asked()[before..].to_vec();
    assert_eq!(asked[0].run, "leave-slave-2");
    assert_eq!(asked[0].steps, "spark:leave-master.sh");
    agent.release(Some("10.20.1.1"), "leave");
    wait_until("the stack update", &fake, || {
        fake.stacks()[0].status == "UPDATE_IN_PROGRESS"
    });
    fake.complete_changes();
    let ready = wait_for(&server, &fake, &id, "ready");
    assert_eq!(support::node_names(&ready), ["master", "slave-1"]);
    let forgotten: Vec<String> = agent
        .asked()
        .into_iter()
        .filter(|a| a.method == "DELETE")
        .map(|a| a.run)
        .collect();
    assert_eq!(forgotten, ["join-slave-2", "leave-slave-2"]);

    // A hook that fails fails the scale with its reason; Heat is not asked.
    agent.fail(None, "leave-slave-1", "spark", "the worker would not stop");
    assert_eq!(
        act(
            &server,
            &id,
            "scale",
            "icclab.disco.components.heat.slavecount=\"0\""
        ),
        202
    );
    let failed = wait_for(&server, &fake, &id, "failed");
    let reason = failed["icclab.disco.state_reason"].as_str().unwrap();
    assert!(
        reason
            .contains("leave hooks for slave-1 on master: spark failed: the worker would not stop"),
        "{reason}"
    );
    assert_eq!(fake.stacks()[0].changes.len(), 2);
}
