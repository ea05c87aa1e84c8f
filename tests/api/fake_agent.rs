//! An in-test stand-in for the agent every VM runs (`frameworks/lib/agent.py`, which
//! tests/installers/agent.rs runs for real): it records the hook runs disco asks for, with
//! the secret they carry (a test compares it with the stack's), and answers them the way the
//! real agent does (202 with the run's state; a run is `running` on its first ask and `done`
//! on the next, unless a test holds it or fails it).

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

/// One request disco made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    pub method: String,
    /// `X-Disco-Secret`.
    pub secret: String,
    pub run: String,
    /// The slave the master was asked to pass the request to, if any.
    pub relay: Option<String>,
    pub event: String,
    pub steps: String,
    pub nodes: String,
}

#[derive(Default)]
struct State {
    asked: Vec<Asked>,
    /// Runs (by `relay/run`) asked before.
    seen: HashSet<String>,
    held: HashSet<String>,
    failed: HashMap<String, (String, String)>,
}

pub struct FakeAgent {
    pub port: u16,
    state: Arc<Mutex<State>>,
    handle: ServerHandle,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

fn key(relay: &Option<String>, run: &str) -> String {
    format!("{}/{run}", relay.as_deref().unwrap_or("master"))
}

async fn handle(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<Mutex<State>>,
) -> HttpResponse {
    let mut state = lock(&state);
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let Some(run) = request.path().strip_prefix("/hooks/").map(str::to_string) else {
        return HttpResponse::NotFound().finish();
    };
    let relay = header("X-Disco-Relay");
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let text = |k: &str| body[k].as_str().unwrap_or_default().to_string();
    state.asked.push(Asked {
        method: request.method().to_string(),
        secret: header("X-Disco-Secret").unwrap_or_default(),
        run: run.clone(),
        relay: relay.clone(),
        event: text("event"),
        steps: text("steps"),
        nodes: text("nodes"),
    });
    let key = key(&relay, &run);
    match request.method().as_str() {
        "DELETE" => {
            state.seen.remove(&key);
            HttpResponse::NoContent().finish()
        }
        "POST" => {
            let first = state.seen.insert(key.clone());
            let answer = if let Some((current, reason)) = state.failed.get(&key) {
                json!({"state": "failed", "current": current, "reason": reason})
            } else if first || state.held.contains(&key) {
                json!({"state": "running", "current": "", "reason": ""})
            } else {
                json!({"state": "done", "current": "", "reason": ""})
            };
            HttpResponse::Accepted().json(answer)
        }
        _ => HttpResponse::MethodNotAllowed().finish(),
    }
}

impl FakeAgent {
    pub fn start() -> FakeAgent {
        let state = Arc::new(Mutex::new(State::default()));
        let (sender, receiver) = std::sync::mpsc::channel();
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let data = web::Data::from(shared);
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .default_service(web::to(handle))
                })
                .workers(1)
                .disable_signals()
                .bind(("127.0.0.1", 0))
                .expect("bind the fake agent");
                let port = server.addrs()[0].port();
                let server = server.run();
                sender
                    .send((port, server.handle()))
                    .expect("report the port");
                let _ = server.await;
            });
        });
        let (port, handle) = receiver.recv().expect("the fake agent starts");
        FakeAgent {
            port,
            state,
            handle,
        }
    }

    /// Every request so far.
    pub fn asked(&self) -> Vec<Asked> {
        lock(&self.state).asked.clone()
    }

    /// The run stays `running` until released.
    pub fn hold(&self, relay: Option<&str>, run: &str) {
        lock(&self.state)
            .held
            .insert(key(&relay.map(str::to_string), run));
    }

    pub fn release(&self, relay: Option<&str>, run: &str) {
        lock(&self.state)
            .held
            .remove(&key(&relay.map(str::to_string), run));
    }

    /// The run fails at `current` with `reason`.
    pub fn fail(&self, relay: Option<&str>, run: &str, current: &str, reason: &str) {
        lock(&self.state).failed.insert(
            key(&relay.map(str::to_string), run),
            (current.to_string(), reason.to_string()),
        );
    }
}

impl Drop for FakeAgent {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        actix_web::rt::System::new().block_on(handle.stop(false));
    }
}
