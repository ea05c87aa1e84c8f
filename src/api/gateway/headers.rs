//! Which headers cross the gateway. The caller's credentials for disco, hop-by-hop headers and
//! forwarding headers a client made up never reach the node; hop-by-hop headers of the node
//! never reach the client. No I/O: names are lower-case, as both HTTP stacks give them.

/// Headers that concern one connection only (RFC 9110 §7.6.1), plus `proxy-connection`.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// How callers prove who they are to disco (and to Keystone): for disco only.
const CREDENTIALS: &[&str] = &[
    "authorization",
    "x-auth-token",
    "x-subject-token",
    "x-password",
    "x-user-name",
    "x-tenant-name",
    "x-region-name",
];

/// Set by the gateway itself: whatever a client sent is dropped.
const FORWARDING: &[&str] = &[
    "host",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-prefix",
    "x-forwarded-context",
    "x-real-ip",
];

/// Headers of a WebSocket handshake: the gateway makes its own to the node.
const HANDSHAKE: &[&str] = &[
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
    "sec-websocket-accept",
];

/// Cookies whose name starts with this are disco's own (a dashboard's session) and stay here.
pub const DISCO_COOKIE_PREFIX: &str = "disco";

/// A header as a name and its raw value.
pub type Header = (String, Vec<u8>);

/// Names the `Connection` headers list: hop-by-hop for this message only.
fn listed_in_connection(headers: &[Header]) -> Vec<String> {
    headers
        .iter()
        .filter(|(name, _)| name == "connection")
        .flat_map(|(_, value)| {
            String::from_utf8_lossy(value)
                .split(',')
                .map(|n| n.trim().to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn without_hop_by_hop(headers: &[Header]) -> impl Iterator<Item = &Header> {
    let listed = listed_in_connection(headers);
    headers.iter().filter(move |(name, _)| {
        !HOP_BY_HOP.contains(&name.as_str()) && !listed.iter().any(|l| l == name)
    })
}

/// Drops disco's own cookies from a `Cookie` value; `None` when none is left.
fn foreign_cookies(value: &[u8]) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(value);
    let kept: Vec<&str> = text
        .split(';')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            let name = pair.split('=').next().unwrap_or_default().trim();
            !name.to_ascii_lowercase().starts_with(DISCO_COOKIE_PREFIX)
        })
        .collect();
    (!kept.is_empty()).then(|| kept.join("; ").into_bytes())
}

/// The client's headers as they go to the node: without hop-by-hop headers, disco's
/// credentials and cookies, forwarding headers and (for a WebSocket) the handshake's own.
pub fn to_node(headers: &[Header]) -> Vec<Header> {
    without_hop_by_hop(headers)
        .filter(|(name, _)| {
            !CREDENTIALS.contains(&name.as_str())
                && !FORWARDING.contains(&name.as_str())
                && !HANDSHAKE.contains(&name.as_str())
        })
        .filter_map(|(name, value)| {
            if name == "cookie" {
                foreign_cookies(value).map(|kept| (name.clone(), kept))
            } else {
                Some((name.clone(), value.clone()))
            }
        })
        .collect()
}

/// Where the request came from, for the node: `X-Forwarded-*`, in place of anything the client
/// claimed. `host` is what the client addressed (the node sees it as `Host` too, so that origin
/// checks such as Jupyter's compare like with like). `X-Forwarded-Context` is the prefix as
/// Spark reads it (its Apache Knox support), so the history server's and workers' own pages
/// link below it.
pub fn forwarding(client: &str, host: &str, scheme: &str, prefix: &str) -> Vec<Header> {
    [
        ("host", host),
        ("x-forwarded-for", client),
        ("x-forwarded-host", host),
        ("x-forwarded-proto", scheme),
        ("x-forwarded-prefix", prefix),
        ("x-forwarded-context", prefix),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
    .collect()
}

/// The node's headers as they go to the client: without hop-by-hop headers and
/// `Content-Length` (the body is streamed as it comes).
pub fn to_client(headers: &[Header]) -> Vec<Header> {
    without_hop_by_hop(headers)
        .filter(|(name, _)| name != "content-length")
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(list: &[(&str, &str)]) -> Vec<Header> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    fn names(list: &[Header]) -> Vec<&str> {
        list.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn credentials_hop_by_hop_and_made_up_forwarding_headers_do_not_reach_the_node() {
        let sent = headers(&[
            ("accept", "text/html"),
            ("x-user-name", "alice"),
            ("x-password", "secret"),
            ("x-auth-token", "gAAAA"),
            ("authorization", "Basic YTpi"),
            ("x-tenant-name", "t"),
            ("connection", "keep-alive, x-private"),
            ("x-private", "1"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("x-forwarded-for", "1.2.3.4"),
            ("host", "disco.example.org"),
            ("x-notebook", "kept"),
        ]);
        assert_eq!(names(&to_node(&sent)), ["accept", "x-notebook"]);
    }

    #[test]
    fn disco_cookies_stay_and_the_ui_s_own_go_on() {
        let sent = headers(&[(
            "cookie",
            "disco_session=abc; _xsrf=2|x; Disco-Other=1; username-127-0-0-2-8888=u",
        )]);
        assert_eq!(
            to_node(&sent),
            headers(&[("cookie", "_xsrf=2|x; username-127-0-0-2-8888=u")])
        );
        assert!(to_node(&headers(&[("cookie", "disco_session=abc")])).is_empty());
    }

    #[test]
    fn the_node_s_hop_by_hop_headers_and_length_do_not_reach_the_client() {
        let received = headers(&[
            ("content-type", "text/html"),
            ("content-length", "12"),
            ("transfer-encoding", "chunked"),
            ("connection", "close"),
            ("set-cookie", "a=b"),
        ]);
        assert_eq!(names(&to_client(&received)), ["content-type", "set-cookie"]);
    }
}
