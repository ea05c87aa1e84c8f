//! A FAKE Keystone v3 and Heat v1, never a backend users can pick. The API tests use it for the
//! faults real services cannot be made to produce on cue (refused tokens mid-build, 5xx,
//! answers that come too late, failed stacks, stacks gone before their delete), and the scale
//! bench (`bench/scale.sh`) for a cloud that answers every call after a set latency and
//! completes stacks after a set delay, without running anything.
//!
//! It is a fake, not a mock: it keeps users, tokens, trusts and stacks, and checks what the
//! real services check on the calls disco makes (a token must be known, unrevoked, unexpired
//! and scoped to the project in the URL; a trust-scoped token needs the trustee's own token;
//! a stack create must name every template parameter that has no default, ship every
//! `get_file` and nested template in `files`, and send the template as a JSON object).
//! What it does not do: run templates. A stack stays `CREATE_IN_PROGRESS` until the test says
//! how it ends (`complete_stacks`, `fail_stacks`), as the VMs' wait condition signals would,
//! or, after `complete_stacks_after`, until its delay has passed.

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

/// A user of the fake Keystone: name, password, id, project name, project id, roles.
pub struct User {
    pub name: &'static str,
    pub password: &'static str,
    pub id: &'static str,
    pub project: &'static str,
    pub project_id: &'static str,
}

/// The cluster owner.
pub const DEMO: User = User {
    name: "demo",
    password: "demo-Pa55word-never-stored",
    id: "u-demo",
    project: "demo",
    project_id: "p-demo",
};
/// disco's own identity, the trustee.
pub const DISCO: User = User {
    name: "disco",
    password: "disco-service-secret",
    id: "u-disco",
    project: "service",
    project_id: "p-service",
};
const USERS: [&User; 2] = [&DEMO, &DISCO];

/// The calls the fake tells apart, for faults and counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Call {
    /// POST /v3/auth/tokens with a password.
    PasswordAuth,
    /// POST /v3/auth/tokens with a token, scoped to a project.
    TokenAuth,
    /// POST /v3/auth/tokens with a token and a trust scope.
    TrustToken,
    CreateTrust,
    DeleteTrust,
    StackCreate,
    StackList,
    StackShow,
    StackEvents,
    StackResources,
    StackDelete,
    /// PATCH /stacks/<name>/<id>.
    StackUpdate,
    /// POST /stacks/<name>/<id>/actions (suspend, resume, check).
    StackAction,
}

/// How the fake misbehaves, once, on the next call of a kind.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this status and an OpenStack error body, doing nothing.
    Status(u16),
    /// Do what was asked, then hold the answer back this long (the client gives up first).
    AnswerLate(Duration),
    /// Answer 302 with the same address, as Heat does for a stack named without its id; the
    /// call is done when the client follows.
    Redirect,
    /// Answer 302 to the same path on another origin (`http://host:port`), as a misconfigured
    /// or malicious endpoint might.
    RedirectTo(String),
    /// Remove the stack (as if someone deleted it by hand), then answer 404.
    VanishThen404,
    /// Accept a DELETE, then fail it with this reason (`DELETE_FAILED`), as Heat does when a
    /// resource cannot be removed yet.
    DeleteFails(String),
    /// Do what was asked, then answer with this status (a proxy's 502 after Heat acted).
    DoThenStatus(u16),
}

/// Which tokens `revoke_tokens` revokes.
#[derive(Clone, Copy)]
pub enum Revoke {
    TrustScoped,
    OfUser(&'static User),
}

#[derive(Debug, Clone)]
struct Token {
    user_id: String,
    project_id: String,
    trust_id: Option<String>,
    expires: SystemTime,
    revoked: bool,
}

#[derive(Debug, Clone)]
pub struct Trust {
    pub id: String,
    pub trustor: String,
    pub trustee: String,
    pub project_id: String,
    pub roles: Vec<String>,
    pub impersonation: bool,
    pub deleted: bool,
}

/// A stack as the fake keeps it.
#[derive(Debug, Clone)]
pub struct Stack {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub status: String,
    pub reason: String,
    pub outputs: Vec<(String, Value)>,
    /// (resource name, reason) of FAILED events.
    pub failures: Vec<(String, String)>,
    /// Parameters of the create request.
    pub parameters: Value,
    /// Nodes whose wait condition has been signalled.
    pub signalled: usize,
    /// Stack updates (PATCH) and actions Heat carried out, in order.
    pub changes: Vec<String>,
    /// Lists that still show the stack while it is being deleted.
    delete_lists_left: u32,
    /// When the stack reached `CREATE_COMPLETE`.
    pub completed_at: Option<SystemTime>,
}

struct State {
    url: String,
    tokens: HashMap<String, Token>,
    trusts: Vec<Trust>,
    stacks: Vec<Stack>,
    faults: Vec<(Call, Fault)>,
    calls: Vec<(Call, u16)>,
    /// Lifetime of trust-scoped tokens.
    trust_token_lifetime: Duration,
    /// Remaining lifetime of each token Heat was called with.
    heat_token_lifetimes: Vec<Duration>,
    log: Vec<String>,
    next: u64,
    /// How long every answer is held back.
    latency: Duration,
    /// Stacks complete by themselves this long after their create, with this external IP.
    complete_after: Option<(Duration, String)>,
    /// Stacks being created, in order, with when they complete (under `complete_after`).
    completing: VecDeque<(Instant, String)>,
    /// Heat calls per stack name; a list naming k stacks counts 1/k for each, and a list that
    /// names none counts under the empty name.
    heat_calls: HashMap<String, f64>,
}

impl State {
    fn id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}{:04}{:08x}", self.next, rand_part(self.next))
    }

    /// Issues a token and answers as Keystone does: 201, the token in X-Subject-Token.
    fn issue(&mut self, user_id: &str, project_id: &str, trust_id: Option<String>) -> HttpResponse {
        let lifetime = if trust_id.is_some() {
            self.trust_token_lifetime
        } else {
            Duration::from_secs(3600)
        };
        let id = self.id("gAAAAtok");
        self.tokens.insert(
            id.clone(),
            Token {
                user_id: user_id.into(),
                project_id: project_id.into(),
                trust_id,
                expires: SystemTime::now() + lifetime,
                revoked: false,
            },
        );
        let body = self.token_body(&self.tokens[&id]);
        HttpResponse::Created()
            .insert_header(("X-Subject-Token", id.as_str()))
            .json(body)
    }

    fn valid(&self, token: &str) -> Option<&Token> {
        self.tokens
            .get(token)
            .filter(|t| !t.revoked && t.expires > SystemTime::now())
    }

    fn take_fault(&mut self, call: Call) -> Option<Fault> {
        let at = self.faults.iter().position(|(c, _)| *c == call)?;
        Some(self.faults.remove(at).1)
    }

    fn token_body(&self, token: &Token) -> Value {
        let project = USERS
            .iter()
            .find(|u| u.project_id == token.project_id)
            .map_or("?", |u| u.project);
        let heat = format!("{}/heat/v1/{}", self.url, token.project_id);
        let expires: chrono::DateTime<chrono::Utc> = token.expires.into();
        let mut body = json!({"token": {
        "methods": ["password"],
        "expires_at": expires.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "user": {"id": token.user_id, "domain": {"id": "default", "name": "Default"}},
        "project": {"id": token.project_id, "name": project, "domain": {"id": "default", "name": "Default"}},
        "roles": [{"id": "r-member", "name": "member"}, {"id": "r-reader", "name": "reader"}],
        "catalog": [
            {"type": "identity", "name": "keystone", "endpoints": [
                {"interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": format!("{}/v3", self.url)}]},
            {"type": "orchestration", "name": "heat", "endpoints": [
                {"interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": heat},
                {"interface": "internal", "region": "RegionOne", "region_id": "RegionOne", "url": format!("{}/internal-heat-is-not-reachable", self.url)}]}
        ]}});
        if let Some(trust) = &token.trust_id {
            body["token"]["OS-TRUST:trust"] = json!({"id": trust, "impersonation": true});
        }
        body
    }
}

fn rand_part(n: u64) -> u32 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    nanos ^ (n as u32).wrapping_mul(0x9e37_79b9)
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// The request's query parameters.
fn query(request: &HttpRequest) -> HashMap<String, String> {
    web::Query::<HashMap<String, String>>::from_query(request.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default()
}

/// An OpenStack error answer (the shape Keystone and Heat use).
fn error(status: u16, message: &str) -> HttpResponse {
    let code = actix_web::http::StatusCode::from_u16(status).expect("status");
    HttpResponse::build(code).json(json!({
        "error": {"code": status, "message": message, "title": code.canonical_reason()},
        "explanation": message, "code": status, "title": code.canonical_reason()}))
}

/// A running fake; stopped when dropped.
pub struct FakeCloud {
    /// `http://127.0.0.1:<port>`; Keystone is at `/v3`, Heat at `/heat/v1/<project id>`.
    pub url: String,
    state: Arc<Mutex<State>>,
    handle: ServerHandle,
}

impl FakeCloud {
    pub fn start() -> FakeCloud {
        let state = Arc::new(Mutex::new(State {
            url: String::new(),
            tokens: HashMap::new(),
            trusts: Vec::new(),
            stacks: Vec::new(),
            faults: Vec::new(),
            calls: Vec::new(),
            trust_token_lifetime: Duration::from_secs(3600),
            heat_token_lifetimes: Vec::new(),
            log: Vec::new(),
            next: 0,
            latency: Duration::ZERO,
            complete_after: None,
            completing: VecDeque::new(),
            heat_calls: HashMap::new(),
        }));
        let (sender, receiver) = std::sync::mpsc::channel();
        let shared = Arc::clone(&state);
        let ticking = Arc::clone(&state);
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let data = web::Data::from(shared);
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .app_data(web::PayloadConfig::new(16 << 20))
                        .default_service(web::to(handle))
                })
                .workers(2)
                .disable_signals()
                .bind(("127.0.0.1", 0))
                .expect("bind the fake cloud");
                let address = server.addrs()[0];
                let server = server.run();
                actix_web::rt::spawn(complete_due_stacks(Arc::clone(&ticking)));
                sender
                    .send((address, server.handle()))
                    .expect("report the address");
                let _ = server.await;
            });
        });
        let (address, handle) = receiver.recv().expect("the fake cloud starts");
        let url = format!("http://{address}");
        lock(&state).url = url.clone();
        FakeCloud { url, state, handle }
    }

    /// Keystone's address as disco is configured with it.
    pub fn auth_url(&self) -> String {
        format!("{}/v3", self.url)
    }

    /// The next `call` misbehaves as `fault` (faults of a kind are used in order).
    pub fn inject(&self, call: Call, fault: Fault) {
        lock(&self.state).faults.push((call, fault));
    }

    /// Trust-scoped tokens expire after `lifetime`.
    pub fn set_trust_token_lifetime(&self, lifetime: Duration) {
        lock(&self.state).trust_token_lifetime = lifetime;
    }

    /// How many calls of a kind arrived, and how many of them got `status`.
    pub fn count(&self, call: Call) -> usize {
        lock(&self.state)
            .calls
            .iter()
            .filter(|(c, _)| *c == call)
            .count()
    }

    pub fn count_status(&self, call: Call, status: u16) -> usize {
        lock(&self.state)
            .calls
            .iter()
            .filter(|(c, s)| *c == call && *s == status)
            .count()
    }

    /// Every request and its answer, one line each, for failure messages.
    pub fn log(&self) -> String {
        lock(&self.state).log.join("\n")
    }

    pub fn stacks(&self) -> Vec<Stack> {
        lock(&self.state).stacks.clone()
    }

    pub fn trusts(&self) -> Vec<Trust> {
        lock(&self.state).trusts.clone()
    }

    /// Every token the fake Keystone issued.
    pub fn issued_tokens(&self) -> Vec<String> {
        lock(&self.state).tokens.keys().cloned().collect()
    }

    /// Remaining lifetime of every token Heat was called with.
    pub fn heat_token_lifetimes(&self) -> Vec<Duration> {
        lock(&self.state).heat_token_lifetimes.clone()
    }

    /// Revokes tokens issued so far, as if they had expired: the trust-scoped ones, or those
    /// a user got with their own credentials.
    pub fn revoke_tokens(&self, which: Revoke) {
        for token in lock(&self.state).tokens.values_mut() {
            token.revoked |= match which {
                Revoke::TrustScoped => token.trust_id.is_some(),
                Revoke::OfUser(user) => token.trust_id.is_none() && token.user_id == user.id,
            };
        }
    }

    /// The owners revoke every trust (`DELETE /v3/OS-TRUST/trusts/<id>` as the trustor):
    /// Keystone then refuses tokens for them and the tokens they scoped.
    pub fn revoke_trusts(&self) {
        let mut state = lock(&self.state);
        for trust in state.trusts.iter_mut() {
            trust.deleted = true;
        }
        for token in state.tokens.values_mut() {
            token.revoked |= token.trust_id.is_some();
        }
    }

    /// Waits until a stack exists; returns it.
    pub fn wait_for_stack(&self, timeout: Duration) -> Stack {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(stack) = self.stacks().into_iter().next() {
                return stack;
            }
            assert!(
                Instant::now() < deadline,
                "no stack after {timeout:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every stack being created completes, with the outputs disco's template declares.
    pub fn complete_stacks(&self, external_ip: &str) {
        for stack in &mut lock(&self.state).stacks {
            complete(stack, external_ip);
        }
    }

    /// Every answer comes `latency` after its request.
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.state).latency = latency;
    }

    /// Stacks created from now on complete by themselves `delay` after their create, every
    /// node signalled, with `external_ip` as their address.
    pub fn complete_stacks_after(&self, delay: Duration, external_ip: &str) {
        lock(&self.state).complete_after = Some((delay, external_ip.into()));
    }

    /// When each completed stack completed, by stack name.
    pub fn completions(&self) -> HashMap<String, SystemTime> {
        lock(&self.state)
            .stacks
            .iter()
            .filter_map(|s| s.completed_at.map(|at| (s.name.clone(), at)))
            .collect()
    }

    /// Heat calls so far per stack name (see `State::heat_calls`).
    pub fn heat_calls(&self) -> HashMap<String, f64> {
        lock(&self.state).heat_calls.clone()
    }

    /// Calls answered with a 5xx status so far.
    pub fn server_errors(&self) -> usize {
        lock(&self.state)
            .calls
            .iter()
            .filter(|(_, status)| *status >= 500)
            .count()
    }

    /// `nodes` nodes of every stack being created have signalled their wait conditions.
    pub fn signal_nodes(&self, nodes: usize) {
        for stack in &mut lock(&self.state).stacks {
            stack.signalled = nodes;
        }
    }

    /// Every stack update, suspend or resume in progress completes.
    pub fn complete_changes(&self) {
        for stack in &mut lock(&self.state).stacks {
            if let Some(action) = stack
                .status
                .strip_suffix("_IN_PROGRESS")
                .map(str::to_string)
            {
                if ["UPDATE", "SUSPEND", "RESUME"].contains(&action.as_str()) {
                    stack.status = format!("{action}_COMPLETE");
                    stack.reason = format!("Stack {action} completed successfully");
                }
            }
        }
    }

    /// Every stack update in progress fails with `reason`, as Heat reports a failed resource.
    pub fn fail_updates(&self, reason: &str, failures: &[(&str, &str)]) {
        for stack in &mut lock(&self.state).stacks {
            if stack.status == "UPDATE_IN_PROGRESS" {
                stack.status = "UPDATE_FAILED".into();
                stack.reason = reason.into();
                stack.failures = failures
                    .iter()
                    .map(|(r, why)| (r.to_string(), why.to_string()))
                    .collect();
            }
        }
    }

    /// Every stack being created fails, as Heat reports a failed wait condition.
    pub fn fail_stacks(&self, reason: &str, failures: &[(&str, &str)]) {
        for stack in &mut lock(&self.state).stacks {
            if stack.status == "CREATE_IN_PROGRESS" {
                stack.status = "CREATE_FAILED".into();
                stack.reason = reason.into();
                stack.failures = failures
                    .iter()
                    .map(|(r, why)| (r.to_string(), why.to_string()))
                    .collect();
            }
        }
    }
}

impl Drop for FakeCloud {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        actix_web::rt::System::new().block_on(handle.stop(false));
    }
}

async fn handle(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<Mutex<State>>,
) -> HttpResponse {
    let path = request.path().to_string();
    let method = request.method().as_str().to_string();
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let token = header("X-Auth-Token");
    let (call, outcome) = {
        let mut state = lock(&state);
        route(
            &mut state,
            &method,
            &segments,
            &request,
            &body,
            token.as_deref(),
        )
    };
    let (response, late) = match outcome {
        Outcome::Answer(response) => (response, None),
        Outcome::Late(response, delay) => (response, Some(delay)),
    };
    {
        let mut state = lock(&state);
        let status = response.status().as_u16();
        let query = request.query_string();
        let shown = if query.is_empty() {
            path.clone()
        } else {
            format!("{path}?{query}")
        };
        state.log.push(format!("{method} {shown} -> {status}"));
        if let Some(call) = call {
            state.calls.push((call, status));
        }
    }
    let latency = lock(&state).latency;
    let delay = late.unwrap_or_default() + latency;
    if !delay.is_zero() {
        actix_web::rt::time::sleep(delay).await;
    }
    response
}

fn complete(stack: &mut Stack, external_ip: &str) {
    if stack.status == "CREATE_IN_PROGRESS" {
        stack.status = "CREATE_COMPLETE".into();
        stack.reason = "Stack CREATE completed successfully".into();
        stack.outputs = vec![
            ("external_ip".into(), json!(external_ip)),
            ("master_address".into(), json!("10.20.0.10")),
        ];
        stack.signalled = stack.parameters["slave_count"].as_u64().unwrap_or(0) as usize + 1;
        stack.completed_at = Some(SystemTime::now());
    }
}

/// Completes the stacks whose delay under `complete_after` has passed, every 5 ms.
async fn complete_due_stacks(state: Arc<Mutex<State>>) {
    loop {
        actix_web::rt::time::sleep(Duration::from_millis(5)).await;
        let mut state = lock(&state);
        let Some((_, external_ip)) = state.complete_after.clone() else {
            continue;
        };
        let now = Instant::now();
        while state.completing.front().is_some_and(|(at, _)| *at <= now) {
            let Some((_, id)) = state.completing.pop_front() else {
                break;
            };
            if let Some(stack) = state.stacks.iter_mut().find(|s| s.id == id) {
                complete(stack, &external_ip);
            }
        }
    }
}

enum Outcome {
    Answer(HttpResponse),
    Late(HttpResponse, Duration),
}

fn route(
    state: &mut State,
    method: &str,
    segments: &[&str],
    request: &HttpRequest,
    body: &Value,
    token: Option<&str>,
) -> (Option<Call>, Outcome) {
    match (method, segments) {
        ("POST", ["v3", "auth", "tokens"]) => {
            let call = if body["auth"]["scope"]["OS-TRUST:trust"].is_object() {
                Call::TrustToken
            } else if body["auth"]["identity"]["methods"] == json!(["token"]) {
                Call::TokenAuth
            } else {
                Call::PasswordAuth
            };
            (
                Some(call),
                with_fault(state, call, |s| issue_token(s, body)),
            )
        }
        ("GET", ["v3", "auth", "tokens"]) => {
            let subject = request
                .headers()
                .get("X-Subject-Token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if token.and_then(|t| state.valid(t)).is_none() {
                return (
                    None,
                    Outcome::Answer(error(
                        401,
                        "The request you have made requires authentication.",
                    )),
                );
            }
            let Some(found) = state.valid(subject).cloned() else {
                return (None, Outcome::Answer(error(404, "Could not find token.")));
            };
            let body = state.token_body(&found);
            (
                None,
                Outcome::Answer(
                    HttpResponse::Ok()
                        .insert_header(("X-Subject-Token", subject))
                        .json(body),
                ),
            )
        }
        ("POST", ["v3", "OS-TRUST", "trusts"]) => (
            Some(Call::CreateTrust),
            with_fault(state, Call::CreateTrust, |s| create_trust(s, body, token)),
        ),
        ("DELETE", ["v3", "OS-TRUST", "trusts", id]) => (
            Some(Call::DeleteTrust),
            with_fault(state, Call::DeleteTrust, |s| delete_trust(s, id, token)),
        ),
        (_, ["heat", "v1", project, rest @ ..]) => {
            heat(state, method, project, rest, request, body, token)
        }
        _ => (
            None,
            Outcome::Answer(error(404, "The fake cloud has no such resource.")),
        ),
    }
}

fn with_fault(
    state: &mut State,
    call: Call,
    act: impl FnOnce(&mut State) -> HttpResponse,
) -> Outcome {
    match state.take_fault(call) {
        None => Outcome::Answer(act(state)),
        Some(Fault::Status(status)) => Outcome::Answer(error(status, "injected fault")),
        Some(Fault::AnswerLate(delay)) => Outcome::Late(act(state), delay),
        Some(other) => panic!("{other:?} is not meaningful for {call:?}"),
    }
}

fn issue_token(state: &mut State, body: &Value) -> HttpResponse {
    let identity = &body["auth"]["identity"];
    let scope = &body["auth"]["scope"];
    let methods = identity["methods"].as_array().cloned().unwrap_or_default();
    if methods == [json!("password")] {
        let user = &identity["password"]["user"];
        let found = USERS.iter().find(|u| {
            user["name"] == u.name
                && user["password"] == u.password
                && user["domain"]["name"] == "Default"
        });
        let Some(found) = found else {
            return error(401, "The request you have made requires authentication.");
        };
        let project = &scope["project"];
        if project["name"] != found.project || project["domain"]["name"] != "Default" {
            return error(401, "The request you have made requires authentication.");
        }
        return state.issue(found.id, found.project_id, None);
    }
    if methods == [json!("token")] {
        let presented = identity["token"]["id"].as_str().unwrap_or("");
        let Some(holder) = state.valid(presented).cloned() else {
            return error(404, "Could not find token.");
        };
        if let Some(trust_id) = scope["OS-TRUST:trust"]["id"].as_str() {
            let Some(trust) = state
                .trusts
                .iter()
                .find(|t| t.id == trust_id && !t.deleted)
                .cloned()
            else {
                return error(404, "Could not find trust.");
            };
            if trust.trustee != holder.user_id || holder.trust_id.is_some() {
                return error(
                    403,
                    "You are not authorized to perform the requested action.",
                );
            }
            return state.issue(&trust.trustor, &trust.project_id, Some(trust.id.clone()));
        }
        let project = scope["project"]["name"].as_str().unwrap_or("");
        let Some(user) = USERS
            .iter()
            .find(|u| u.id == holder.user_id && u.project == project)
        else {
            return error(401, "The request you have made requires authentication.");
        };
        return state.issue(user.id, user.project_id, None);
    }
    error(400, "Expecting to find identity methods password or token.")
}

fn create_trust(state: &mut State, body: &Value, token: Option<&str>) -> HttpResponse {
    let Some(holder) = token.and_then(|t| state.valid(t)).cloned() else {
        return error(401, "The request you have made requires authentication.");
    };
    let trust = &body["trust"];
    if trust["trustor_user_id"] != holder.user_id.as_str()
        || trust["project_id"] != holder.project_id.as_str()
    {
        return error(403, "The authenticated user should match the trustor.");
    }
    let Some(trustee) = trust["trustee_user_id"].as_str() else {
        return error(400, "Invalid input for field 'trustee_user_id'.");
    };
    let roles: Vec<String> = trust["roles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["name"].as_str().map(str::to_string))
        .collect();
    if roles.iter().any(|r| r != "member" && r != "reader") {
        return error(
            403,
            "At least one role should be specified and the trustor must have it.",
        );
    }
    let id = state.id("trust");
    state.trusts.push(Trust {
        id: id.clone(),
        trustor: holder.user_id,
        trustee: trustee.into(),
        project_id: holder.project_id,
        roles,
        impersonation: trust["impersonation"] == true,
        deleted: false,
    });
    HttpResponse::Created().json(json!({"trust": {"id": id}}))
}

fn delete_trust(state: &mut State, id: &str, token: Option<&str>) -> HttpResponse {
    let Some(holder) = token.and_then(|t| state.valid(t)).cloned() else {
        return error(401, "The request you have made requires authentication.");
    };
    let Some(trust) = state.trusts.iter_mut().find(|t| t.id == id && !t.deleted) else {
        return error(404, "Could not find trust.");
    };
    if trust.trustor != holder.user_id {
        return error(403, "Only the trustor may delete a trust.");
    }
    trust.deleted = true;
    HttpResponse::NoContent().finish()
}

fn stack_json(stack: &Stack, full: bool) -> Value {
    let mut value = json!({
        "id": stack.id, "stack_name": stack.name, "stack_status": stack.status,
        "stack_status_reason": stack.reason, "project": stack.project_id,
        "creation_time": "2026-12-01T00:00:00Z",
        "links": [{"rel": "self", "href": format!("/stacks/{}/{}", stack.name, stack.id)}]});
    if full {
        value["outputs"] = stack
            .outputs
            .iter()
            .map(|(k, v)| json!({"output_key": k, "output_value": v, "description": ""}))
            .collect();
        value["parameters"] = stack.parameters.clone();
    }
    value
}

fn heat(
    state: &mut State,
    method: &str,
    project: &str,
    rest: &[&str],
    request: &HttpRequest,
    body: &Value,
    token: Option<&str>,
) -> (Option<Call>, Outcome) {
    let call = match (method, rest) {
        ("GET", ["stacks"]) => Call::StackList,
        ("POST", ["stacks"]) => Call::StackCreate,
        ("GET", ["stacks", _, _]) => Call::StackShow,
        ("GET", ["stacks", _, _, "events"]) => Call::StackEvents,
        ("GET", ["stacks", _, _, "resources"]) => Call::StackResources,
        ("DELETE", ["stacks", _, _]) => Call::StackDelete,
        ("PATCH", ["stacks", _, _]) => Call::StackUpdate,
        ("POST", ["stacks", _, _, "actions"]) => Call::StackAction,
        _ => {
            return (
                None,
                Outcome::Answer(error(404, "The fake Heat has no such resource.")),
            )
        }
    };
    // Heat's keystonemiddleware: the token must be valid and scoped to the URL's project.
    match token.and_then(|t| state.valid(t)).cloned() {
        Some(t) if t.project_id == project => {
            if let Ok(left) = t.expires.duration_since(SystemTime::now()) {
                state.heat_token_lifetimes.push(left);
            }
        }
        _ => {
            return (
                Some(call),
                Outcome::Answer(error(
                    401,
                    "The request you have made requires authentication.",
                )),
            )
        }
    }
    let fault = state.take_fault(call);
    let mut late = None;
    let mut then_status = None;
    match fault {
        Some(Fault::Status(status)) => {
            return (Some(call), Outcome::Answer(error(status, "injected fault")))
        }
        Some(Fault::Redirect) => {
            let location = match request.query_string() {
                "" => request.path().to_string(),
                q => format!("{}?{q}", request.path()),
            };
            return (
                Some(call),
                Outcome::Answer(
                    HttpResponse::Found()
                        .insert_header(("Location", location))
                        .finish(),
                ),
            );
        }
        Some(Fault::RedirectTo(origin)) => {
            return (
                Some(call),
                Outcome::Answer(
                    HttpResponse::Found()
                        .insert_header(("Location", format!("{origin}{}", request.path())))
                        .finish(),
                ),
            );
        }
        Some(Fault::VanishThen404) => {
            if let ["stacks", name, _, ..] = rest {
                state.stacks.retain(|s| s.name != *name);
            }
            return (
                Some(call),
                Outcome::Answer(error(404, "The Stack could not be found.")),
            );
        }
        Some(Fault::AnswerLate(delay)) => late = Some(delay),
        Some(Fault::DoThenStatus(status)) => then_status = Some(status),
        Some(Fault::DeleteFails(reason)) => {
            if let Some(stack) = state
                .stacks
                .iter_mut()
                .find(|s| rest.get(2) == Some(&s.id.as_str()))
            {
                stack.status = "DELETE_FAILED".into();
                stack.reason = reason;
            }
            return (
                Some(call),
                Outcome::Answer(HttpResponse::NoContent().finish()),
            );
        }
        None => {}
    }
    // Heat takes a filter more than once for several values (`?name=a&name=b`).
    let names: Vec<String> =
        web::Query::<Vec<(String, String)>>::from_query(request.query_string())
            .map(|q| q.into_inner())
            .unwrap_or_default()
            .into_iter()
            .filter(|(key, _)| key == "name")
            .map(|(_, value)| value)
            .collect();
    match (call, rest) {
        (Call::StackList, _) if names.is_empty() => {
            *state.heat_calls.entry(String::new()).or_default() += 1.0;
        }
        (Call::StackList, _) => {
            for name in &names {
                *state.heat_calls.entry(name.clone()).or_default() += 1.0 / names.len() as f64;
            }
        }
        (_, ["stacks", name, ..]) => *state.heat_calls.entry(name.to_string()).or_default() += 1.0,
        _ => *state.heat_calls.entry(String::new()).or_default() += 1.0,
    }
    let response = match call {
        Call::StackList => {
            let mut listed = Vec::new();
            for stack in &mut state.stacks {
                if stack.project_id == project && (names.is_empty() || names.contains(&stack.name))
                {
                    listed.push(stack_json(stack, false));
                    if stack.status == "DELETE_IN_PROGRESS" {
                        stack.delete_lists_left = stack.delete_lists_left.saturating_sub(1);
                    }
                }
            }
            state
                .stacks
                .retain(|s| !(s.status == "DELETE_IN_PROGRESS" && s.delete_lists_left == 0));
            HttpResponse::Ok().json(json!({"stacks": listed}))
        }
        Call::StackCreate => create_stack(state, project, body),
        Call::StackShow
        | Call::StackEvents
        | Call::StackResources
        | Call::StackDelete
        | Call::StackUpdate
        | Call::StackAction => {
            let (name, id) = (rest[1], rest[2]);
            let Some(stack) = state
                .stacks
                .iter_mut()
                .find(|s| s.name == name && s.id == id && s.project_id == project)
            else {
                return (
                    Some(call),
                    Outcome::Answer(error(404, "The Stack could not be found.")),
                );
            };
            match call {
                Call::StackShow => {
                    HttpResponse::Ok().json(json!({"stack": stack_json(stack, true)}))
                }
                Call::StackEvents => {
                    let events: Vec<Value> = stack
                        .failures
                        .iter()
                        .map(|(resource, reason)| {
                            json!({"resource_name": resource, "resource_status": "CREATE_FAILED",
                                   "resource_status_reason": reason, "event_time": "2026-12-01T00:01:00Z"})
                        })
                        .collect();
                    HttpResponse::Ok().json(json!({"events": events}))
                }
                Call::StackResources => {
                    // One wait condition per node: the master's, and one in each slave's
                    // nested stack (listed with nested_depth=2), filtered by type.
                    let query = query(request);
                    let nodes = stack.parameters["slave_count"].as_u64().unwrap_or(0) as usize + 1;
                    let depth: usize = query
                        .get("nested_depth")
                        .and_then(|d| d.parse().ok())
                        .unwrap_or(0);
                    let visible = if depth >= 2 { nodes } else { 1 };
                    let resources: Vec<Value> = (0..visible)
                        .map(|node| {
                            let status = if node < stack.signalled {
                                "CREATE_COMPLETE"
                            } else {
                                "CREATE_IN_PROGRESS"
                            };
                            json!({"resource_name": if node == 0 { "master_wait" } else { "wait" },
                                   "resource_type": "OS::Heat::WaitCondition",
                                   "resource_status": status})
                        })
                        .filter(|r| query.get("type").is_none_or(|t| r["resource_type"] == *t))
                        .collect();
                    HttpResponse::Ok().json(json!({"resources": resources}))
                }
                Call::StackUpdate | Call::StackAction if stack.status.ends_with("_IN_PROGRESS") => {
                    error(409, &format!("Stack {} is {}", stack.name, stack.status))
                }
                Call::StackUpdate => {
                    let Some(given) = body["parameters"].as_object() else {
                        return (Some(call), Outcome::Answer(error(400, "no parameters")));
                    };
                    for (key, value) in given {
                        stack.parameters[key] = value.clone();
                    }
                    stack.changes.push(format!(
                        "update slave_count={}",
                        stack.parameters["slave_count"]
                    ));
                    stack.status = "UPDATE_IN_PROGRESS".into();
                    stack.reason = "Stack UPDATE started".into();
                    stack.failures.clear();
                    HttpResponse::Accepted().finish()
                }
                Call::StackAction => {
                    let action = body
                        .as_object()
                        .and_then(|o| o.keys().next().cloned())
                        .unwrap_or_default();
                    stack.changes.push(action.clone());
                    match action.as_str() {
                        "suspend" | "resume" => {
                            stack.status = format!("{}_IN_PROGRESS", action.to_uppercase());
                            HttpResponse::Ok().finish()
                        }
                        "check" => {
                            stack.status = "CHECK_COMPLETE".into();
                            HttpResponse::Ok().finish()
                        }
                        other => error(400, &format!("Invalid action {other}")),
                    }
                }
                _ => {
                    stack.status = "DELETE_IN_PROGRESS".into();
                    stack.reason = "Stack DELETE started".into();
                    stack.delete_lists_left = 2;
                    HttpResponse::NoContent().finish()
                }
            }
        }
        _ => unreachable!("only Heat calls get here"),
    };
    let response = match then_status {
        Some(status) => error(status, "injected fault after the call was carried out"),
        None => response,
    };
    match late {
        Some(delay) => (Some(call), Outcome::Late(response, delay)),
        None => (Some(call), Outcome::Answer(response)),
    }
}

/// Heat's checks of a stack-create request, as far as disco's requests exercise them.
fn create_stack(state: &mut State, project: &str, body: &Value) -> HttpResponse {
    let Some(name) = body["stack_name"].as_str() else {
        return error(400, "The stack_name is required.");
    };
    let valid_name = regex_like_stack_name(name);
    if !valid_name {
        return error(400, &format!("Invalid stack name {name} must contain only alphanumeric or \"_-.\" characters, must start with alpha and must be 255 characters or less."));
    }
    if state
        .stacks
        .iter()
        .any(|s| s.name == name && s.project_id == project)
    {
        return error(409, &format!("The Stack ({name}) already exists."));
    }
    let Some(template) = body["template"].as_object() else {
        return error(400, "disco sends the template as a JSON object.");
    };
    if template.get("heat_template_version").is_none() {
        return error(400, "Template format version not found.");
    }
    let parameters = body["parameters"].as_object().cloned().unwrap_or_default();
    let declared = template
        .get("parameters")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (key, declaration) in &declared {
        if declaration.get("default").is_none() && !parameters.contains_key(key) {
            return error(400, &format!("The Parameter ({key}) was not provided."));
        }
    }
    if let Some(unknown) = parameters.keys().find(|k| !declared.contains_key(*k)) {
        return error(
            400,
            &format!("The Parameter ({unknown}) was not defined in template."),
        );
    }
    let files = body["files"].as_object().cloned().unwrap_or_default();
    let mut needed = BTreeSet::new();
    collect_files(&Value::Object(template.clone()), &mut needed);
    for text in files.values().filter_map(Value::as_str) {
        if let Ok(nested) = serde_json::from_str::<Value>(text) {
            collect_files(&nested, &mut needed);
        }
    }
    if let Some(missing) = needed.iter().find(|f| !files.contains_key(*f)) {
        return error(
            400,
            &format!("Could not fetch remote template \"{missing}\": not in files."),
        );
    }
    if !body["timeout_mins"].is_u64() {
        return error(400, "timeout_mins must be a number of minutes.");
    }
    let id = state.id("stack");
    state.stacks.push(Stack {
        id: id.clone(),
        name: name.into(),
        project_id: project.into(),
        status: "CREATE_IN_PROGRESS".into(),
        reason: "Stack CREATE started".into(),
        outputs: Vec::new(),
        failures: Vec::new(),
        parameters: Value::Object(parameters),
        signalled: 0,
        changes: Vec::new(),
        delete_lists_left: 0,
        completed_at: None,
    });
    if let Some((delay, _)) = &state.complete_after {
        let at = Instant::now() + *delay;
        state.completing.push_back((at, id.clone()));
    }
    HttpResponse::Created().json(json!({"stack": {"id": id, "links": [{"rel": "self",
        "href": format!("{}/heat/v1/{project}/stacks/{name}/{id}", state.url)}]}}))
}

/// `^[a-zA-Z][a-zA-Z0-9_.-]{0,254}$`
fn regex_like_stack_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.len() <= 255
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// `get_file` targets and nested template types (`*.yaml`) a template refers to.
fn collect_files(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("get_file", Value::String(name)) => {
                        found.insert(name.clone());
                    }
                    ("type", Value::String(kind)) if kind.ends_with(".yaml") => {
                        found.insert(kind.clone());
                    }
                    _ => collect_files(inner, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_files(v, found)),
        _ => {}
    }
}
