//! `auth.mode = static` under load: a verified password is hashed once per `auth.cache_secs`,
//! parallel password guesses get `429` beyond the limit without the server's memory growing,
//! and the right password still gets in as designed.

use crate::support::*;
use std::io::Write;
use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

const ALICE: &str = "correct horse";
const BOB: &str = "battery staple";

fn hash(password: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_disco"))
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("disco hash-password");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(password.as_bytes())
        .expect("write the password");
    let output = child.wait_with_output().expect("hash");
    assert!(output.status.success());
    String::from_utf8(output.stdout)
        .expect("UTF-8")
        .trim()
        .to_string()
}

/// A static-mode server with users alice and bob, logging every argon2 verification.
fn server_with(auth: &str) -> (TestServer, tempfile::NamedTempFile) {
    let users = tempfile::NamedTempFile::new().expect("users file");
    std::fs::write(
        users.path(),
        format!(
            "alice research {}\nbob physics {}\n",
            hash(ALICE),
            hash(BOB)
        ),
    )
    .expect("write users");
    let server = TestServer::start_with(ServerOptions {
        extra_config: format!(
            "[auth]\nmode = static\nusers_file = {}\n{auth}",
            users.path().display()
        ),
        env: vec![("DISCO_LOGGING__LEVEL".into(), "info,disco=debug".into())],
        ..ServerOptions::default()
    });
    (server, users)
}

fn client(from: IpAddr) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .local_address(from)
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(0)
        .build()
        .expect("client")
}

/// `GET /disco/` as `user` from the address `from`: the status and `Retry-After`.
fn list_as(
    client: &reqwest::blocking::Client,
    server: &TestServer,
    user: &str,
    password: &str,
) -> (u16, Option<String>) {
    let response = client
        .get(server.url("/disco/"))
        .header("X-User-Name", user)
        .header("X-Password", password)
        .send()
        .expect("request");
    let retry = response
        .headers()
        .get("Retry-After")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (response.status().as_u16(), retry)
}

fn verifications(server: &TestServer) -> usize {
    server.log().matches("argon2 verification").count()
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_right_password_is_hashed_once_per_cache_time_and_parallel_logins_share_one_hash() {
    let (server, _users) = server_with("cache_secs = 2\n");
    let local = client(IpAddr::from([127, 0, 0, 1]));
    for _ in 0..20 {
        assert_eq!(list_as(&local, &server, "alice", ALICE).0, 200);
    }
    assert_eq!(verifications(&server), 1, "{}", server.log());

    // Twenty of bob's first requests at once: one verification between them.
    let start = Arc::new(Barrier::new(20));
    let threads: Vec<_> = (0..20)
        .map(|_| {
            let (start, local, url) = (Arc::clone(&start), local.clone(), server.url("/disco/"));
            std::thread::spawn(move || {
                start.wait();
                local
                    .get(url)
                    .header("X-User-Name", "bob")
                    .header("X-Password", BOB)
                    .send()
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            })
        })
        .collect();
    for thread in threads {
        assert_eq!(thread.join().expect("thread"), 200);
    }
    assert_eq!(verifications(&server), 2, "{}", server.log());

    // The cached login ends after cache_secs: the next request verifies again.
    std::thread::sleep(Duration::from_millis(2200));
    assert_eq!(list_as(&local, &server, "alice", ALICE).0, 200);
    assert_eq!(verifications(&server), 3, "{}", server.log());
}

#[test]
fn two_hundred_parallel_guesses_get_429_beyond_the_limit_without_growing_the_servers_memory() {
    let (server, _users) = server_with("");
    let pid = server.pid().expect("server pid");
    let local = client(IpAddr::from([127, 0, 0, 1]));
    // Alice logged in before the attack; her login is cached.
    assert_eq!(list_as(&local, &server, "alice", ALICE).0, 200);
    let before = rss_kib(pid);

    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(before));
    let sampler = {
        let (done, peak) = (Arc::clone(&done), Arc::clone(&peak));
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                peak.fetch_max(rss_kib(pid), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let start = Arc::new(Barrier::new(200));
    let guesses: Vec<_> = (0..200)
        .map(|n| {
            let (start, local, url) = (Arc::clone(&start), local.clone(), server.url("/disco/"));
            std::thread::spawn(move || {
                start.wait();
                let response = local
                    .get(url)
                    .header("X-User-Name", "alice")
                    .header("X-Password", format!("guess {n}"))
                    .send()
                    .expect("request");
                let retry = response
                    .headers()
                    .get("Retry-After")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok());
                (response.status().as_u16(), retry)
            })
        })
        .collect();
    let answers: Vec<(u16, Option<u64>)> = guesses
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    done.store(true, Ordering::SeqCst);
    sampler.join().expect("sampler");
    let growth_mib = (peak.load(Ordering::SeqCst).saturating_sub(before)) / 1024;

    let refused = answers.iter().filter(|(s, _)| *s == 401).count();
    let throttled: Vec<_> = answers.iter().filter(|(s, _)| *s == 429).collect();
    assert_eq!(refused, 10, "{answers:?}");
    assert_eq!(throttled.len(), 190, "{answers:?}");
    assert!(
        throttled
            .iter()
            .all(|(_, retry)| retry.is_some_and(|r| (1..=60).contains(&r))),
        "{throttled:?}"
    );
    // Only ten guesses were hashed, two at a time (19 MiB each).
    assert_eq!(verifications(&server), 1 + 10, "{}", server.log());
    assert!(
        growth_mib < 64,
        "the server grew by {growth_mib} MiB during the guesses"
    );
    eprintln!("RSS before {} MiB, growth {growth_mib} MiB", before / 1024);

    // As designed: alice's cached login still works; anyone else from this address, and
    // alice's name from anywhere, wait until the minute is over; bob from another address
    // gets in.
    assert_eq!(list_as(&local, &server, "alice", ALICE).0, 200);
    let (status, retry) = list_as(&local, &server, "bob", BOB);
    assert_eq!(status, 429);
    assert!(retry.is_some());
    let elsewhere = client(IpAddr::from([127, 0, 0, 2]));
    assert_eq!(list_as(&elsewhere, &server, "alice", "guess 200").0, 429);
    assert_eq!(list_as(&elsewhere, &server, "bob", BOB).0, 200);
    let body = local
        .get(server.url("/disco/"))
        .header("X-User-Name", "carol")
        .header("X-Password", "x")
        .send()
        .expect("request")
        .text()
        .unwrap_or_default();
    assert!(body.contains("too many failed logins"), "{body}");
}
