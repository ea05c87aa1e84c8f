//! `GET /disco/<id>/events`: the cluster's history. JSON under `Accept: application/json`,
//! lines of text otherwise, a live stream (server-sent events) under
//! `Accept: text/event-stream`. `?since=<event id>` (or SSE's `Last-Event-ID`) skips what the
//! client has seen. A deleted cluster's history stays readable for
//! `lifecycle.keep_deleted_secs`.

use crate::api::error::ApiError;
use crate::api::request::{cluster_id, header_text};
use crate::api::AppState;
use crate::cluster::event::Event;
use crate::cluster::ClusterState;
use crate::occi::MediaType;
use crate::store::Store;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// How the history is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Json,
    Text,
    Stream,
}

/// A comment line keeps idle streams open through proxies.
const KEEPALIVE: Duration = Duration::from_secs(15);

fn form(request: &HttpRequest) -> Result<Form, ApiError> {
    let accept = header_text(request, "Accept")?.unwrap_or_default();
    let wants = |media: &str| {
        accept
            .split(',')
            .any(|part| part.split(';').next().unwrap_or("").trim() == media)
    };
    Ok(if wants("text/event-stream") {
        Form::Stream
    } else if wants("application/json") || wants("application/occi+json") {
        Form::Json
    } else {
        Form::Text
    })
}

/// `?since=<id>`: the last event the client has.
fn since(request: &HttpRequest) -> Result<i64, ApiError> {
    let mut since = 0;
    for pair in request.query_string().split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "since" => {
                since = value
                    .parse::<i64>()
                    .ok()
                    .filter(|v| *v >= 0)
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "since must be an event id (a whole number ≥ 0), not `{}`",
                            value.chars().take(40).collect::<String>()
                        ))
                    })?
            }
            _ => {
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter `{}`; the history takes only since=<event id>",
                    name.chars().take(40).collect::<String>()
                )))
            }
        }
    }
    if let Some(last) = header_text(request, "Last-Event-ID")? {
        since = since.max(last.trim().parse::<i64>().unwrap_or(0));
    }
    Ok(since)
}

fn event_json(event: &Event) -> serde_json::Value {
    serde_json::json!({
        "id": event.id,
        "at": event.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "kind": event.kind.as_str(),
        "node": event.node,
        "message": event.message,
    })
}

pub async fn events(
    request: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let form = form(&request)?;
    let media = if form == Form::Json {
        MediaType::OcciJson
    } else {
        MediaType::TextPlain
    };
    let result: Result<HttpResponse, ApiError> = async {
        let caller = state.authenticator.caller(&request).await?;
        let id = cluster_id(&path)?;
        let since = since(&request)?;
        let store = state.store.clone();
        let keep = state.keep_deleted_secs;
        let tenant = caller.tenant.clone();
        let record = web::block(move || store.get_with_history(&tenant, id, keep)).await??;
        if record.is_none() {
            return Err(ApiError::not_found(format!("no cluster {id}")));
        }
        if form == Form::Stream {
            return Ok(stream(state.store.clone(), id, since));
        }
        let store = state.store.clone();
        let events = web::block(move || store.events(id, since)).await??;
        Ok(match form {
            Form::Json => HttpResponse::Ok()
                .content_type("application/json")
                .body(format!(
                    "{}\n",
                    serde_json::Value::Array(events.iter().map(event_json).collect())
                )),
            _ => {
                let mut body = String::new();
                for event in &events {
                    body.push_str(&event.line());
                    body.push('\n');
                }
                HttpResponse::Ok()
                    .content_type("text/plain; charset=utf-8")
                    .body(body)
            }
        })
    }
    .await;
    result.map_err(|e| e.in_media(media))
}

/// What a live stream knows between two sends.
struct Cursor {
    store: Arc<Store>,
    id: Uuid,
    since: i64,
    newest: tokio::sync::watch::Receiver<i64>,
    finished: bool,
}

/// Server-sent events: the history since `since`, then each new event as it is recorded;
/// the stream ends once the cluster is deleted.
fn stream(store: Arc<Store>, id: Uuid, since: i64) -> HttpResponse {
    let cursor = Cursor {
        newest: store.subscribe(),
        store,
        id,
        since,
        finished: false,
    };
    let body = futures_util::stream::unfold(cursor, |mut cursor| async move {
        if cursor.finished {
            return None;
        }
        loop {
            // Mark what is about to be read as seen before reading it: an event recorded
            // meanwhile wakes the next wait instead of being missed.
            cursor.newest.borrow_and_update();
            let (store, id, since) = (cursor.store.clone(), cursor.id, cursor.since);
            let read = tokio::task::spawn_blocking(move || {
                let events = store.events(id, since)?;
                let deleted = store
                    .get_any(id)?
                    .is_none_or(|r| r.state == ClusterState::Deleted);
                Ok::<_, crate::store::StoreError>((events, deleted))
            })
            .await;
            let (events, deleted) = match read {
                Ok(Ok(read)) => read,
                Ok(Err(e)) => {
                    tracing::warn!(cluster_id = %cursor.id, error = %e, "event stream stopped");
                    return None;
                }
                Err(_) => return None,
            };
            if !events.is_empty() {
                let mut chunk = String::new();
                for event in &events {
                    chunk.push_str(&format!(
                        "id: {}\ndata: {}\n\n",
                        event.id,
                        event_json(event)
                    ));
                }
                cursor.since = events.last().map_or(cursor.since, |e| e.id);
                cursor.finished = deleted;
                return Some((
                    Ok::<_, std::convert::Infallible>(web::Bytes::from(chunk)),
                    cursor,
                ));
            }
            if deleted {
                return None;
            }
            tokio::select! {
                changed = cursor.newest.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                }
                _ = tokio::time::sleep(KEEPALIVE) => {
                    return Some((Ok(web::Bytes::from_static(b": keep-alive\n\n")), cursor));
                }
            }
        }
    });
    HttpResponse::build(StatusCode::OK)
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body)
}
