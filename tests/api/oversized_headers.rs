//! Requests whose head HTTP's own limits refuse get a clean answer, not a dead worker.
//!
//! actix-http 3.20.0 unwrapped `HeaderName::from_bytes` on every header name httparse
//! accepted; a name of 65,536 bytes or more (`http`'s limit is 65,535) panicked the worker
//! and dropped the connection. disco builds against a patched copy (vendor/actix-http).

use crate::support::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Sends `head` (a request without its final blank line) over a raw TCP connection and
/// returns everything the server answered before it closed the connection.
fn raw_exchange(server: &TestServer, head: &[u8]) -> String {
    let mut stream = TcpStream::connect(server.address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("read timeout");
    stream.write_all(head).expect("send head");
    stream.write_all(b"\r\n").expect("send end of head");
    let mut answer = Vec::new();
    // The server closes the connection after answering a malformed request; a reset after
    // the answer is fine, so an error here only ends the read.
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

fn request_with_header_name(length: usize) -> Vec<u8> {
    let mut head = b"GET /-/ HTTP/1.1\r\nHost: localhost\r\n".to_vec();
    head.extend(std::iter::repeat_n(b'x', length));
    head.extend_from_slice(b": 1\r\n");
    head
}

#[test]
fn a_header_name_of_64_kib_or_more_gets_400_and_the_server_keeps_serving() {
    let server = TestServer::start();
    for length in [65_536, 65_537, 100_000] {
        let answer = raw_exchange(&server, &request_with_header_name(length));
        let status_line = answer.lines().next().unwrap_or_default();
        assert!(
            status_line.starts_with("HTTP/1.1 400") || status_line.starts_with("HTTP/1.1 431"),
            "a {length}-byte header name got `{status_line}` (answer of {} bytes)\n{}",
            answer.len(),
            server.log()
        );
        let after = get(&server.url("/-/"), "demo", "text/plain");
        assert_eq!(
            after.status,
            200,
            "the server stopped serving: {}",
            server.log()
        );
    }
    // Just below the limit is a valid (if silly) header: the request is served as usual.
    let answer = raw_exchange(&server, &request_with_header_name(65_535));
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "{}",
        answer.lines().next().unwrap_or_default()
    );
    let log = server.log();
    for sign_of_a_panic in ["panicked", "backtrace", "RUST_BACKTRACE"] {
        assert!(
            !log.contains(sign_of_a_panic),
            "the server log shows a panic (`{sign_of_a_panic}`):\n{log}"
        );
    }
}
