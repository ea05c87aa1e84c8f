//! `/disco/` and `/disco/<id>`: one file per operation, and the one view of a cluster that
//! every rendering shows.

pub mod actions;
pub mod create;
pub mod delete;
pub mod events;
pub mod list;
pub mod show;
pub mod shown;
pub mod update;

use super::error::ApiError;
use super::AppState;
use crate::cluster::attributes::{
    COMPONENTS_PREFIX, DEPLOYER_REGION, DEPLOYER_USERNAME, INJECT, LIFETIME, LOCATION, SLAVECOUNT,
    SUMMARY, TITLE, UI_ATTRIBUTE_PREFIX,
};
use crate::cluster::update::{check_power, check_transition};
use crate::cluster::{ClusterState, Power};
use crate::occi::{AttrValue, MediaType};
use crate::plan::GeneratedSecret;
use crate::store::ClusterRecord;
use actix_web::{HttpRequest, HttpResponse};
use std::future::Future;
use uuid::Uuid;

/// This server's scheme and host, as the client addressed it (`http://host:port`).
pub fn origin(request: &HttpRequest) -> String {
    let info = request.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

/// Absolute URL of a location on this server, as the client addressed it.
pub fn absolute_url(request: &HttpRequest, path: &str) -> String {
    format!("{}{path}", origin(request))
}

pub fn cluster_path(id: Uuid) -> String {
    format!("{LOCATION}{id}")
}

/// Runs a handler's body; its errors are rendered in the negotiated media type.
pub async fn in_media(
    media: MediaType,
    body: impl Future<Output = Result<HttpResponse, ApiError>>,
) -> Result<HttpResponse, ApiError> {
    body.await.map_err(|e| e.in_media(media))
}

/// Whether the cluster was built (it has outputs and its owner may log in).
pub fn is_built(record: &ClusterRecord) -> bool {
    record.outputs.external_ip.is_some()
        && !matches!(record.state, ClusterState::Deleting | ClusterState::Deleted)
}

/// The actions the cluster's state allows now (their terms).
pub fn available_actions(record: &ClusterRecord) -> Vec<&'static str> {
    let mut actions = Vec::new();
    let mut scaled = record.spec.clone();
    scaled.slave_count = scaled.slave_count.wrapping_add(1);
    if check_transition(record.state, record.operation, &record.spec, &scaled).is_ok() {
        actions.push("scale");
    }
    if check_power(record.state, record.operation, Power::Suspended).is_ok() {
        actions.push("suspend");
    }
    if check_power(record.state, record.operation, Power::Running).is_ok() {
        actions.push("resume");
    }
    actions
}

fn text(value: &str) -> AttrValue {
    AttrValue::String(value.to_string())
}

fn time(at: chrono::DateTime<chrono::Utc>) -> AttrValue {
    text(&at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// `icclab.disco.ui.<name>`: the gateway URL of each UI of a cluster whose UIs are served now
/// and that disco can reach on this backend.
fn ui_attributes(
    state: &AppState,
    request: &HttpRequest,
    record: &ClusterRecord,
) -> Vec<(String, AttrValue)> {
    if !super::gateway::is_serving(record) {
        return Vec::new();
    }
    let uis = match state.store.plan(record.id) {
        Ok(plan) => plan.map(|p| p.uis).unwrap_or_default(),
        Err(error) => {
            tracing::warn!(cluster_id = %record.id, %error, "cannot read the plan to list UIs");
            return Vec::new();
        }
    };
    super::gateway::route::instances(&uis, &record.nodes)
        .into_iter()
        .filter(|ui| state.backend.ui_host(&record.outputs, &ui.node).is_some())
        .map(|ui| {
            let path = super::gateway::route::gateway_path(record.id, &ui.name);
            (
                format!("{UI_ATTRIBUTE_PREFIX}{}", ui.name),
                text(&absolute_url(request, &format!("{path}/"))),
            )
        })
        .collect()
}

/// Every attribute of a cluster its owner may see, in a stable order. The private key and
/// generated secrets are given once the cluster is built.
pub fn cluster_attributes(
    state: &AppState,
    request: &HttpRequest,
    record: &ClusterRecord,
    secrets: Option<(String, Vec<(GeneratedSecret, String)>)>,
) -> Vec<(String, AttrValue)> {
    let spec = &record.spec;
    let mut attributes = vec![("occi.core.id".to_string(), text(&record.id.to_string()))];
    if let Some(title) = &spec.title {
        attributes.push((TITLE.into(), text(title)));
    }
    if let Some(summary) = &spec.summary {
        attributes.push((SUMMARY.into(), text(summary)));
    }
    let progress = record.progress.describe();
    attributes.extend([
        (
            "mcn.service.state".to_string(),
            text(record.state.mcn_state()),
        ),
        (
            "icclab.disco.state".to_string(),
            text(record.state.as_str()),
        ),
        ("icclab.disco.progress".to_string(), text(&progress)),
        (
            "icclab.disco.frameworks".to_string(),
            text(&record.progress.frameworks.join(" ")),
        ),
        (
            "icclab.disco.frameworks.done".to_string(),
            text(&record.progress.done.join(" ")),
        ),
        (
            "stack_status".to_string(),
            text(record.state.stack_status(record.operation)),
        ),
        (
            "stack_status_reason".to_string(),
            text(record.reason.as_deref().unwrap_or(&progress)),
        ),
    ]);
    if let Some(reason) = &record.reason {
        attributes.push(("icclab.disco.state_reason".into(), text(reason)));
    }
    attributes.extend([
        (
            "icclab.disco.generation".to_string(),
            AttrValue::Integer(record.generation),
        ),
        (
            "icclab.disco.observed_generation".to_string(),
            AttrValue::Integer(record.observed_generation),
        ),
        (
            "icclab.disco.created_at".to_string(),
            time(record.created_at),
        ),
        (
            "icclab.disco.updated_at".to_string(),
            time(record.updated_at),
        ),
        (
            SLAVECOUNT.to_string(),
            AttrValue::Integer(i64::from(spec.slave_count)),
        ),
    ]);
    if let Some(lifetime) = spec.lifetime {
        attributes.push((LIFETIME.into(), text(&lifetime.to_string())));
    }
    if let Some(at) = record.expires_at {
        attributes.push(("icclab.disco.expires_at".into(), time(at)));
    }
    let nodes: Vec<serde_json::Value> = record
        .nodes
        .iter()
        .map(|n| serde_json::json!({"name": n.name, "role": n.role, "address": n.address}))
        .collect();
    attributes.push((
        "icclab.disco.nodes".into(),
        AttrValue::Json(serde_json::Value::Array(nodes)),
    ));
    attributes.push((
        "icclab.disco.events".into(),
        text(&absolute_url(
            request,
            &format!("{}/events", cluster_path(record.id)),
        )),
    ));
    attributes.extend(ui_attributes(state, request, record));
    for (short, value) in &spec.infrastructure {
        attributes.push((format!("{COMPONENTS_PREFIX}heat.{short}"), text(value)));
    }
    if let Some(username) = &spec.deployer_username {
        attributes.push((DEPLOYER_USERNAME.into(), text(username)));
    }
    if let Some(region) = &spec.region {
        attributes.push((DEPLOYER_REGION.into(), text(region)));
    }
    let inject = spec.inject_json(&state.catalog);
    attributes.push((INJECT.into(), text(&inject.to_string())));
    if let Some(frameworks) = inject.as_object() {
        for (framework, params) in frameworks {
            for (name, value) in params.as_object().into_iter().flatten() {
                let value = match value {
                    serde_json::Value::String(s) => text(s),
                    serde_json::Value::Bool(b) => AttrValue::Bool(*b),
                    other => other
                        .as_i64()
                        .map_or_else(|| text(&other.to_string()), AttrValue::Integer),
                };
                attributes.push((format!("{COMPONENTS_PREFIX}{framework}.{name}"), value));
            }
        }
    }
    attributes.push(("ssh_key_name".into(), text(&record.ssh_key_name)));
    attributes.push(("ssh_public_key".into(), text(&record.ssh_public_key)));
    if is_built(record) {
        let outputs = &record.outputs;
        if let Some(ip) = &outputs.external_ip {
            attributes.push(("external_ip".into(), text(ip)));
        }
        let (private_key, generated) = secrets.unwrap_or_default();
        if !private_key.is_empty() {
            attributes.push(("ssh_private_key".into(), text(&private_key)));
        }
        if let Some(user) = &outputs.ssh_user {
            attributes.push(("icclab.disco.ssh_user".into(), text(user)));
        }
        if let Some(port) = outputs.ssh_port {
            attributes.push((
                "icclab.disco.ssh_port".into(),
                AttrValue::Integer(i64::from(port)),
            ));
        }
        if let Some(url) = &outputs.log_url {
            attributes.push(("icclab.disco.log_url".into(), text(url)));
        }
        if let Some(line) = &outputs.ssh_known_hosts {
            attributes.push(("icclab.disco.ssh_known_hosts".into(), text(line)));
        }
        attributes.extend(
            generated
                .into_iter()
                .map(|(slot, value)| (slot.attribute, AttrValue::String(value))),
        );
    }
    attributes
}
