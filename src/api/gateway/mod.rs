//! The UI gateway: each web UI a cluster's frameworks declare is served at
//! `/disco/<id>/ui/<name>/`, to the cluster's owner only, authenticated exactly like the OCCI
//! API. Requests and answers are streamed, redirects come back through the gateway, and
//! WebSockets are relayed.

pub mod headers;
pub mod links;
pub mod proxy;
pub mod route;
pub mod websocket;

use super::error::ApiError;
use super::request::cluster_id;
use super::AppState;
use crate::cluster::ClusterState;
use crate::store::ClusterRecord;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use route::UiInstance;
use std::fmt::Display;

/// Where one gateway request goes.
pub struct Target {
    pub ui: UiInstance,
    /// The node's host name or address, as the backend reaches it.
    pub host: String,
    /// The node's path and query.
    pub path: String,
    /// The UI's gateway path, `/disco/<id>/ui/<name>`.
    pub prefix: String,
    /// Scheme and host the client addressed.
    pub public_origin: String,
    /// `Host` and `X-Forwarded-*` for the node.
    pub forwarding: Vec<headers::Header>,
}

impl Target {
    fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.ui.ui.port)
        } else {
            format!("{}:{}", self.host, self.ui.ui.port)
        }
    }

    pub fn upstream_origin(&self) -> String {
        format!("http://{}", self.authority())
    }

    pub fn http_url(&self) -> String {
        format!("{}{}", self.upstream_origin(), self.path)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}{}", self.authority(), self.path)
    }

    /// `502`, naming the UI and where it was looked for.
    pub fn unreachable(&self, cause: &dyn Display) -> ApiError {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!(
                "the UI `{}` on {} ({}) does not answer: {cause}",
                self.ui.name,
                self.ui.node.name,
                self.authority()
            ),
        )
    }
}

/// Whether the cluster's UIs are served in its state.
pub fn is_serving(record: &ClusterRecord) -> bool {
    check_serving(record).is_ok()
}

/// Whether the cluster's UIs can be reached now; if not, a `409` saying why.
fn check_serving(record: &ClusterRecord) -> Result<(), ApiError> {
    let conflict = |message: String| ApiError::new(StatusCode::CONFLICT, message);
    match record.state {
        ClusterState::Ready | ClusterState::Degraded | ClusterState::Scaling => Ok(()),
        ClusterState::Suspending | ClusterState::Suspended | ClusterState::Resuming => {
            Err(conflict(format!(
                "cluster {} is {}: its UIs are served again once it is resumed and ready",
                record.id,
                record.state.as_str()
            )))
        }
        other => Err(conflict(format!(
            "cluster {} is {}: its UIs are served once it is ready",
            record.id,
            other.as_str()
        ))),
    }
}

/// Every request under `/disco/<id>/ui/<name>`, whatever its method.
pub async fn serve(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let caller = state.authenticator.caller(&request).await?;
    let raw_path = request.uri().path().to_string();
    let path = route::UiPath::parse(&raw_path).ok_or_else(|| {
        ApiError::not_found("no such location: UIs live at /disco/<id>/ui/<name>/")
    })?;
    let id = cluster_id(path.id)?;
    let Some(record) = state.store.get(&caller.tenant, id)? else {
        return Err(ApiError::not_found(format!("no cluster {id}")));
    };
    check_serving(&record)?;
    let uis = state.store.plan(id)?.map(|p| p.uis).unwrap_or_default();
    let all = route::instances(&uis, &record.nodes);
    let Some(ui) = all.iter().find(|i| i.name.as_str() == path.name).cloned() else {
        let names: Vec<&str> = all.iter().map(|i| i.name.as_str()).collect();
        return Err(ApiError::not_found(format!(
            "cluster {id} has no UI `{}`; it has {}",
            path.name.chars().take(64).collect::<String>(),
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        )));
    };
    let prefix = route::gateway_path(id, &ui.name);
    if path.rest.is_empty() {
        let query = request.query_string();
        let location = if query.is_empty() {
            format!("{prefix}/")
        } else {
            format!("{prefix}/?{query}")
        };
        return Ok(HttpResponse::PermanentRedirect()
            .insert_header(("Location", location))
            .finish());
    }
    let Some(host) = state.backend.ui_host(&record.outputs, &ui.node) else {
        return Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!(
                "disco cannot reach the UIs of {} on this backend; the UI `{}` is not served",
                ui.node.name, ui.name
            ),
        ));
    };
    let info = request.connection_info().clone();
    let client = request
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let target = Target {
        path: route::upstream_path(&prefix, ui.ui.prefix, path.rest, request.query_string()),
        forwarding: headers::forwarding(&client, info.host(), info.scheme(), &prefix),
        public_origin: super::clusters::origin(&request),
        prefix,
        host,
        ui,
    };
    if target.ui.ui.websocket && websocket::is_upgrade(&request) {
        websocket::relay(&request, payload, &target).await
    } else {
        proxy::forward(&request, payload, &target).await
    }
}

/// The gateway's routes; they come before the cluster's own.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(web::resource("/disco/{id}/ui/{name}").route(web::to(serve)))
        .service(web::resource("/disco/{id}/ui/{name}/{rest:.*}").route(web::to(serve)));
}
