//! The web dashboard over plain HTTP, as a browser without script sees it: the redirect from
//! `/`, sign-in and sessions, CSRF, escaping, tenancy, and the forms going through the API's
//! own code. (`tests/browser/` drives a real browser.)

use crate::support::*;
use std::time::Duration;

/// A browser-like client that does not follow redirects and keeps the cookies it is given.
struct Browser {
    server_url: String,
    cookies: Vec<(String, String)>,
    client: reqwest::blocking::Client,
}

struct Page {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Page {
    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default()
    }

    /// The value of a hidden input, e.g. `csrf`.
    fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker).map(|i| i + marker.len());
        start
            .and_then(|s| {
                self.body[s..]
                    .find('"')
                    .map(|e| self.body[s..s + e].to_string())
            })
            .unwrap_or_default()
    }
}

impl Browser {
    fn new(server: &TestServer) -> Browser {
        Browser {
            server_url: server.url(""),
            cookies: Vec::new(),
            client: reqwest::blocking::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(20))
                .build()
                .expect("client"),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, headers: &reqwest::header::HeaderMap) {
        for value in headers.get_all("set-cookie") {
            let text = value.to_str().unwrap_or_default();
            let Some((name, rest)) = text.split_once('=') else {
                continue;
            };
            let value = rest.split(';').next().unwrap_or_default().to_string();
            self.cookies.retain(|(n, _)| n != name);
            if !value.is_empty() {
                self.cookies.push((name.to_string(), value));
            }
        }
    }

    fn request(&mut self, method: &str, path: &str, form: Option<&[(&str, &str)]>) -> Page {
        self.request_with(method, path, form, &[])
    }

    fn request_with(
        &mut self,
        method: &str,
        path: &str,
        form: Option<&[(&str, &str)]>,
        headers: &[(&str, &str)],
    ) -> Page {
        let url = format!("{}{path}", self.server_url);
        let mut request = self
            .client
            .request(method.parse().expect("method"), url)
            .header("Cookie", self.cookie_header());
        if !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("accept"))
        {
            request = request.header("Accept", "text/html");
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(form) = form {
            request = request.form(form);
        }
        let response = request.send().expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        self.keep_cookies(&headers);
        Page {
            status,
            headers,
            body: response.text().unwrap_or_default(),
        }
    }

    fn get(&mut self, path: &str) -> Page {
        self.request("GET", path, None)
    }

    /// Signs in with the form's fields (the form's own token added); answers the result.
    fn sign_in(&mut self, fields: &[(&str, &str)]) -> Page {
        let form = self.get("/dashboard/sign-in");
        assert_eq!(form.status, 200, "{}", form.body);
        let csrf = form.hidden("csrf");
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.request("POST", "/dashboard/sign-in", Some(&all))
    }

    fn csrf(&mut self) -> String {
        let page = self.get("/dashboard/");
        assert_eq!(page.status, 200, "{}", page.body);
        page.hidden("csrf")
    }
}

fn signed_in(server: &TestServer, tenant: &str) -> Browser {
    let mut browser = Browser::new(server);
    let page = browser.sign_in(&[("tenant", tenant)]);
    assert_eq!(page.status, 303, "{}", page.body);
    browser
}

#[test]
fn a_browser_at_the_root_goes_to_the_dashboard_and_occi_clients_still_get_404() {
    let server = TestServer::start();
    let browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let page = Browser::new(&server).request_with("GET", "/", None, &[]);
    assert_eq!(page.status, 303);
    assert_eq!(page.header("location"), "/dashboard/");
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let html = client
        .get(server.url("/"))
        .header("Accept", browser_accept)
        .send()
        .unwrap();
    assert_eq!(html.status().as_u16(), 303);
    for accept in ["*/*", "text/plain", "text/occi"] {
        let occi = client
            .get(server.url("/"))
            .header("Accept", accept)
            .send()
            .unwrap();
        assert_eq!(occi.status().as_u16(), 404, "Accept: {accept}");
    }
    // Without a session, a page sends the browser to sign in.
    let list = Browser::new(&server).get("/dashboard/");
    assert_eq!(list.status, 303);
    assert_eq!(list.header("location"), "/dashboard/sign-in");
}

#[test]
fn dashboard_pages_forbid_inline_script_and_frames() {
    let server = TestServer::start();
    let mut browser = Browser::new(&server);
    for path in [
        "/dashboard/sign-in",
        "/dashboard/static/dashboard.js",
        "/dashboard/nope",
    ] {
        let page = browser.get(path);
        let csp = page.header("content-security-policy");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(page.header("x-content-type-options"), "nosniff");
    }
    let page = browser.get("/dashboard/sign-in");
    assert!(!page.body.contains("<script>"), "no inline script");
    assert!(!page.body.contains(" style="), "no inline style");
}

#[test]
fn signing_in_sets_a_strict_http_only_cookie_and_signing_out_ends_the_session() {
    let server = TestServer::start();
    let mut browser = Browser::new(&server);
    let page = browser.sign_in(&[("tenant", "research")]);
    assert_eq!(page.status, 303, "{}", page.body);
    let cookie = page
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("disco_session="))
        .expect("session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("Max-Age="), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    let list = browser.get("/dashboard/");
    assert_eq!(list.status, 200);
    assert!(
        list.body.contains("You have no clusters yet"),
        "{}",
        list.body
    );
    assert!(list.body.contains("research"));
    // Behind a TLS proxy the cookie is Secure.
    let mut tls = Browser::new(&server);
    let form = tls.get("/dashboard/sign-in");
    let csrf = form.hidden("csrf");
    let page = tls.request_with(
        "POST",
        "/dashboard/sign-in",
        Some(&[("csrf", &csrf), ("tenant", "research")]),
        &[("X-Forwarded-Proto", "https")],
    );
    assert!(page.header("set-cookie").contains("Secure"));

    // The sign-in form has its own token, tied to a cookie of its own.
    let mut stranger = Browser::new(&server);
    let forged = stranger.request(
        "POST",
        "/dashboard/sign-in",
        Some(&[("csrf", "guessed"), ("tenant", "research")]),
    );
    assert_eq!(forged.status, 403);
    assert!(forged.header("set-cookie").starts_with("disco_signin="));
    assert!(!forged.header("set-cookie").contains("disco_session"));

    let csrf = browser.csrf();
    let out = browser.request("POST", "/dashboard/sign-out", Some(&[("csrf", &csrf)]));
    assert_eq!(out.status, 303);
    assert_eq!(browser.get("/dashboard/").status, 303, "signed out");
}

#[test]
fn a_form_posted_without_its_csrf_token_is_refused_and_changes_nothing() {
    let server = TestServer::start();
    let mut browser = signed_in(&server, "research");
    let form = [
        ("framework", "shell"),
        ("slavecount", "0"),
        ("do", "create"),
    ];
    let page = browser.request("POST", "/dashboard/new", Some(&form));
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.body.contains("security token"), "{}", page.body);
    let mut wrong = form.to_vec();
    wrong.push(("csrf", "not-the-token"));
    assert_eq!(
        browser
            .request("POST", "/dashboard/new", Some(&wrong))
            .status,
        403
    );
    assert!(listed(&server, "research").is_empty());
    // The session cookie alone does not let a script of another site change anything.
    let id = create_ok(
        &server,
        "research",
        r#"icclab.disco.components.heat.slavecount="0""#,
    );
    let delete = browser.request(
        "POST",
        &format!("/dashboard/clusters/{id}/delete"),
        Some(&[]),
    );
    assert_eq!(delete.status, 403);
    let api = browser.request_with(
        "DELETE",
        &format!("/disco/{id}"),
        None,
        &[("Accept", "text/plain")],
    );
    assert_eq!(api.status, 403, "{}", api.body);
    assert_ne!(state(&server, "research", &id).as_deref(), Some("deleting"));
    // With the token the same session may.
    let csrf = browser.csrf();
    let api = browser.request_with(
        "DELETE",
        &format!("/disco/{id}"),
        None,
        &[("X-CSRF-Token", &csrf), ("Accept", "text/plain")],
    );
    assert_eq!(api.status, 200, "{}", api.body);
}

#[test]
fn the_session_cookie_reads_the_api_as_its_tenant() {
    let server = TestServer::start();
    let id = create_ok(
        &server,
        "research",
        r#"icclab.disco.components.heat.slavecount="0""#,
    );
    let mut browser = signed_in(&server, "research");
    let own = browser.request_with(
        "GET",
        &format!("/disco/{id}"),
        None,
        &[("Accept", "text/plain")],
    );
    assert_eq!(own.status, 200, "{}", own.body);
    let mut other = signed_in(&server, "other");
    let foreign = other.request_with(
        "GET",
        &format!("/disco/{id}"),
        None,
        &[("Accept", "text/plain")],
    );
    assert_eq!(foreign.status, 404);
}

#[test]
fn titles_and_commands_render_as_text() {
    let server = TestServer::start();
    let payloads = [
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
    ];
    let mut ids = Vec::new();
    for title in payloads {
        let attributes = format!(
            "icclab.disco.components.heat.slavecount=\"0\", occi.core.title=\"{}\", icclab.disco.dependencies.inject=\"{{'shell': ''}}\", icclab.disco.components.shell.command=\"echo '<b>bold</b>'\"",
            title.replace('"', "\\\"")
        );
        ids.push(create_ok(&server, "research", &attributes));
    }
    let mut browser = signed_in(&server, "research");
    let list = browser.get("/dashboard/");
    assert_eq!(list.status, 200);
    assert!(
        list.body
            .contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;"),
        "{}",
        list.body
    );
    assert!(
        list.body
            .contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"),
        "{}",
        list.body
    );
    assert!(!list.body.contains("<script>alert"), "{}", list.body);
    assert!(!list.body.contains("<img src=x"), "{}", list.body);
    for id in &ids {
        let page = browser.get(&format!("/dashboard/clusters/{id}"));
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(!page.body.contains("<script>alert"));
        assert!(!page.body.contains("<img src=x"));
        assert!(!page.body.contains("<b>bold"));
    }
}

#[test]
fn another_tenants_cluster_is_not_found_by_direct_url() {
    let server = TestServer::start();
    let id = create_ok(
        &server,
        "research",
        r#"icclab.disco.components.heat.slavecount="0", occi.core.title="private work""#,
    );
    let mut owner = signed_in(&server, "research");
    assert!(owner.get("/dashboard/").body.contains("private work"));
    let mut other = signed_in(&server, "intruder");
    assert!(!other.get("/dashboard/").body.contains("private work"));
    for path in ["", "/key", "/secrets", "/delete"] {
        let page = other.get(&format!("/dashboard/clusters/{id}{path}"));
        assert_eq!(page.status, 404, "{path}: {}", page.body);
        assert!(!page.body.contains("private work"));
    }
    let csrf = other.csrf();
    let delete = other.request(
        "POST",
        &format!("/dashboard/clusters/{id}/delete"),
        Some(&[("csrf", &csrf)]),
    );
    assert_eq!(delete.status, 404);
    let suspend = other.request(
        "POST",
        &format!("/dashboard/clusters/{id}"),
        Some(&[("csrf", &csrf), ("action", "suspend")]),
    );
    assert_eq!(suspend.status, 404);
    assert!(state(&server, "research", &id).is_some());
    assert_ne!(state(&server, "research", &id).as_deref(), Some("deleting"));
}

#[test]
fn the_create_form_shows_the_api_s_message_next_to_its_field_then_creates() {
    let server = TestServer::start();
    let mut browser = signed_in(&server, "research");
    let form = browser.get("/dashboard/new");
    assert_eq!(form.status, 200);
    // Generated from the catalog: frameworks, typed parameters, bounds, enums.
    assert!(form.body.contains("id=\"fw-spark\""));
    assert!(form.body.contains("Runs a command of yours"));
    assert!(form.body.contains("<select id=\"p.shell.roles\""));
    assert!(form.body.contains("max=\"4\""), "slave count bound");
    let csrf = form.hidden("csrf");
    let idempotency = form.hidden("idempotency");
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("idempotency", idempotency.as_str()),
        ("framework", "shell"),
        ("p.shell.command", "echo dashboard"),
        ("p.shell.roles", "all"),
        ("slavecount", "9"),
        ("title", "from the form"),
        ("do", "create"),
    ];
    let refused = browser.request("POST", "/dashboard/new", Some(&fields));
    assert_eq!(refused.status, 400, "{}", refused.body);
    let error_at = refused
        .body
        .find("id=\"slavecount-error\"")
        .expect("error by the field");
    let field_at = refused.body.find("id=\"slavecount\"").expect("field");
    assert!(error_at > field_at);
    assert!(refused.body[error_at..].contains("slavecount"));
    assert!(refused
        .body
        .contains("aria-describedby=\"slavecount-hint slavecount-error\" aria-invalid=\"true\""));
    assert!(
        refused.body.contains("value=\"from the form\""),
        "typed values stay"
    );
    assert!(listed(&server, "research").is_empty());

    fields[5] = ("slavecount", "1");
    let created = browser.request("POST", "/dashboard/new", Some(&fields));
    assert_eq!(created.status, 303, "{}", created.body);
    let location = created.header("location");
    let id = location.rsplit('/').next().unwrap().to_string();
    let attributes = attributes(&server, "research", &id).expect("created through the API");
    assert_eq!(attributes["occi.core.title"], "from the form");
    assert_eq!(
        attributes["icclab.disco.components.shell.command"],
        "echo dashboard"
    );
    // The same form sent again (a double click) makes no second cluster.
    let again = browser.request("POST", "/dashboard/new", Some(&fields));
    assert_eq!(again.status, 303);
    assert_eq!(listed(&server, "research").len(), 1);
    let page = browser.get(&location);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("from the form"));
    // A state that forbids an action disables its button and says why.
    assert!(page.body.contains("disabled"), "{}", page.body);
}

fn static_server(session_secs: u64) -> (TestServer, tempfile::NamedTempFile) {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_disco"))
        .arg("hash-password")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("hash-password");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"correct horse\n")
        .expect("write");
    let output = child.wait_with_output().expect("hash");
    let hash = String::from_utf8(output.stdout).expect("utf-8");
    let users = tempfile::NamedTempFile::new().expect("users file");
    std::fs::write(users.path(), format!("alice research {}\n", hash.trim())).expect("write");
    let server = TestServer::start_with(ServerOptions {
        extra_config: format!(
            "[auth]\nmode = static\nusers_file = {}\n[dashboard]\nsession_secs = {session_secs}\n",
            users.path().display()
        ),
        ..ServerOptions::default()
    });
    (server, users)
}

#[test]
fn a_wrong_password_shows_an_error_and_a_session_expires() {
    let (server, _users) = static_server(2);
    let mut browser = Browser::new(&server);
    let wrong = browser.sign_in(&[("user", "alice"), ("password", "wrong")]);
    assert_eq!(wrong.status, 401);
    assert!(
        wrong.body.contains("Wrong user name or password."),
        "{}",
        wrong.body
    );
    assert!(
        wrong.body.contains("value=\"alice\""),
        "the user name stays"
    );
    assert!(
        !wrong.body.contains("wrong\""),
        "the password is not sent back"
    );
    let right = browser.sign_in(&[("user", "alice"), ("password", "correct horse")]);
    assert_eq!(right.status, 303, "{}", right.body);
    let list = browser.get("/dashboard/");
    assert_eq!(list.status, 200);
    assert!(list.body.contains("alice"));
    std::thread::sleep(Duration::from_millis(2500));
    let expired = browser.get("/dashboard/");
    assert_eq!(expired.status, 303);
    assert_eq!(expired.header("location"), "/dashboard/sign-in?expired=1");
    let sign_in = browser.get("/dashboard/sign-in?expired=1");
    assert!(sign_in.body.contains("Your session has ended"));
    // And the expired cookie no longer opens the API.
    let api = browser.request_with("GET", "/disco/", None, &[("Accept", "text/plain")]);
    assert_eq!(api.status, 401);
    assert!(
        !server.log().contains("correct horse"),
        "no password in the log"
    );
}

#[test]
fn show_plan_displays_what_disco_plan_prints_and_creates_nothing() {
    let server = TestServer::start_with(ServerOptions {
        extra_config: format!(
            "[openstack]\ntemplates_dir = {}\n",
            repo_root().join("templates/heat").display()
        ),
        ..ServerOptions::default()
    });
    let mut browser = signed_in(&server, "research");
    let form = browser.get("/dashboard/new");
    let csrf = form.hidden("csrf");
    let fields = [
        ("csrf", csrf.as_str()),
        ("framework", "shell"),
        ("p.shell.command", "echo <planned>"),
        ("slavecount", "2"),
        ("do", "plan"),
    ];
    let page = browser.request("POST", "/dashboard/new", Some(&fields));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"plan\""), "{}", page.body);
    assert!(page.body.contains("# Heat parameters"));
    assert!(page.body.contains("# Heat template (HOT, sent as JSON)"));
    assert!(!page.body.contains("echo <planned>"), "escaped");
    assert!(
        listed(&server, "research").is_empty(),
        "nothing was created"
    );
    // A mistake in the form comes back next to its field instead of a plan.
    let mut wrong = fields.to_vec();
    wrong[3] = ("slavecount", "many");
    let page = browser.request("POST", "/dashboard/new", Some(&wrong));
    assert_eq!(page.status, 400);
    assert!(
        page.body.contains("id=\"slavecount-error\""),
        "{}",
        page.body
    );
    assert!(!page.body.contains("id=\"plan\""));
}

#[test]
fn keystone_sign_in_keeps_only_the_token_and_the_form_asks_for_cloud_names() {
    use crate::fake_openstack::{FakeCloud, DEMO};
    let fake = FakeCloud::start();
    let server = crate::openstack_faults::disco_with(&fake.auth_url(), &[]);
    let mut browser = Browser::new(&server);
    let wrong = browser.sign_in(&[
        ("user", DEMO.name),
        ("password", "not-the-password"),
        ("project", DEMO.project),
    ]);
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(wrong.body.contains("role=\"alert\""), "{}", wrong.body);
    let right = browser.sign_in(&[
        ("user", DEMO.name),
        ("password", DEMO.password),
        ("project", DEMO.project),
        ("region", "RegionOne"),
    ]);
    assert_eq!(right.status, 303, "{}", right.body);

    let form = browser.get("/dashboard/new");
    assert_eq!(form.status, 200);
    for field in ["masterimage", "slaveflavor", "networkname"] {
        assert!(form.body.contains(&format!("id=\"{field}\"")), "{field}");
    }
    let csrf = form.hidden("csrf");
    let idempotency = form.hidden("idempotency");
    let fields = [
        ("csrf", csrf.as_str()),
        ("idempotency", idempotency.as_str()),
        ("framework", "shell"),
        ("slavecount", "1"),
        ("masterimage", "my-own-image"),
        ("do", "create"),
    ];
    let created = browser.request("POST", "/dashboard/new", Some(&fields));
    assert_eq!(created.status, 303, "{}", created.body);
    let stack = fake.wait_for_stack(Duration::from_secs(30));
    assert!(
        stack.parameters.to_string().contains("my-own-image"),
        "{}",
        stack.parameters
    );
    assert_eq!(stack.project_id, DEMO.project_id);
    // The password went to Keystone and nowhere else.
    assert!(!server.log().contains(DEMO.password));
    let mut pending = vec![server.data_dir.path().to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                let text = String::from_utf8_lossy(&bytes);
                assert!(!text.contains(DEMO.password), "{}", path.display());
            }
        }
    }
}

#[test]
fn a_websocket_riding_the_cookie_from_another_origin_is_refused() {
    let server = TestServer::start();
    let mut browser = signed_in(&server, "research");
    let path = "/disco/3f0c5c8e-6a8b-4f57-9d2c-2a1f0e5b7c11/ui/jupyter/api/kernels/k/channels";
    let handshake = |origin: &str| {
        vec![
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Origin", origin),
            ("Accept", "text/plain"),
        ]
        .into_iter()
        .map(|(n, v)| (n, v.to_string()))
        .collect::<Vec<_>>()
    };
    let send = |browser: &mut Browser, origin: &str| {
        let headers = handshake(origin);
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        browser.request_with("GET", path, None, &headers)
    };
    let foreign = send(&mut browser, "http://127.0.0.1:9");
    assert_eq!(foreign.status, 403, "{}", foreign.body);
    let own = server.url("");
    let same = send(&mut browser, own.trim_end_matches('/'));
    assert_eq!(same.status, 404, "past authentication: {}", same.body);
}
