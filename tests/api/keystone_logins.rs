//! `auth.mode = keystone`: a user's password or token is checked by Keystone once and reused
//! while polling (counted on the fake Keystone), failed guesses are throttled, and a revoked
//! token is honoured at most `auth.cache_secs`.

use crate::fake_openstack::{Call, FakeCloud, Revoke, DEMO};
use crate::openstack_faults::{demo_credentials, disco_with};
use crate::support::{self, TestServer};
use std::sync::{Arc, Barrier};
use std::time::Duration;

/// A token for the demo user, straight from the fake Keystone.
fn demo_token(fake: &FakeCloud) -> String {
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/auth/tokens", fake.auth_url()))
        .json(&serde_json::json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": DEMO.name, "password": DEMO.password, "domain": {"name": "Default"}}}},
            "scope": {"project": {"name": DEMO.project, "domain": {"name": "Default"}}}}}))
        .send()
        .expect("token");
    assert_eq!(response.status().as_u16(), 201);
    response
        .headers()
        .get("X-Subject-Token")
        .and_then(|v| v.to_str().ok())
        .expect("X-Subject-Token")
        .to_string()
}

fn token_credentials(token: &str) -> Vec<(&'static str, String)> {
    vec![
        ("X-Auth-Token", token.to_string()),
        ("X-Tenant-Name", DEMO.project.into()),
    ]
}

fn poll(server: &TestServer, credentials: &[(&str, String)]) -> support::Response {
    support::send_as(server, "GET", "/disco/", credentials, &[])
}

/// `n` polls at once with `credentials`; every answer's status.
fn parallel_polls(
    server: &TestServer,
    credentials: &[(&'static str, String)],
    n: usize,
) -> Vec<u16> {
    let start = Arc::new(Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let (start, url, credentials) = (
                Arc::clone(&start),
                server.url("/disco/"),
                credentials.to_vec(),
            );
            std::thread::spawn(move || {
                let headers: Vec<(&str, &[u8])> = credentials
                    .iter()
                    .map(|(k, v)| (*k, v.as_bytes()))
                    .collect();
                start.wait();
                support::send("GET", &url, &headers, None).status
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect()
}

#[test]
fn polls_with_one_token_or_one_password_make_one_keystone_call() {
    let fake = FakeCloud::start();
    let server = disco_with(&fake.auth_url(), &[]);
    let token = demo_token(&fake);

    // Thirty polls at once with a token nobody used yet, then thirty more one by one.
    assert!(parallel_polls(&server, &token_credentials(&token), 30)
        .iter()
        .all(|s| *s == 200));
    for _ in 0..30 {
        assert_eq!(poll(&server, &token_credentials(&token)).status, 200);
    }
    assert_eq!(fake.count(Call::TokenAuth), 1, "{}", fake.log());

    // The same with a password.
    let before = fake.count(Call::PasswordAuth);
    assert!(parallel_polls(&server, &demo_credentials(), 30)
        .iter()
        .all(|s| *s == 200));
    for _ in 0..30 {
        assert_eq!(poll(&server, &demo_credentials()).status, 200);
    }
    assert_eq!(fake.count(Call::PasswordAuth) - before, 1, "{}", fake.log());
}

#[test]
fn a_revoked_token_is_honoured_at_most_cache_secs() {
    let fake = FakeCloud::start();
    let server = disco_with(&fake.auth_url(), &[("DISCO_AUTH__CACHE_SECS", "1")]);
    let token = demo_token(&fake);
    assert_eq!(poll(&server, &token_credentials(&token)).status, 200);
    fake.revoke_tokens(Revoke::OfUser(&DEMO));
    // Within the second the cached login answers; after it Keystone is asked again.
    assert_eq!(poll(&server, &token_credentials(&token)).status, 200);
    std::thread::sleep(Duration::from_millis(1300));
    let stale = poll(&server, &token_credentials(&token));
    assert_eq!(stale.status, 401, "{}", stale.body);
    assert_eq!(fake.count(Call::TokenAuth), 2, "{}", fake.log());
}

#[test]
fn password_guesses_beyond_the_limit_get_429_and_do_not_reach_keystone() {
    let fake = FakeCloud::start();
    let server = disco_with(&fake.auth_url(), &[]);
    let before = fake.count(Call::PasswordAuth);
    let mut statuses = Vec::new();
    for n in 0..15 {
        let mut guess = demo_credentials();
        guess[1].1 = format!("guess {n}");
        let answer = poll(&server, &guess);
        if answer.status == 429 {
            assert!(answer.header("Retry-After").is_some());
        }
        statuses.push(answer.status);
    }
    assert_eq!(statuses[..10], [401; 10], "{statuses:?}");
    assert_eq!(statuses[10..], [429; 5], "{statuses:?}");
    assert_eq!(
        fake.count(Call::PasswordAuth) - before,
        10,
        "{}",
        fake.log()
    );
}
