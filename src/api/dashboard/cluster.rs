//! `GET /dashboard/clusters/<id>`: one cluster's page (progress, history, nodes, UIs, SSH,
//! key, actions), and `POST` there for its scale, suspend and resume buttons, which go
//! through the API's own action code.

use super::page::{render, see_other, PageError};
use super::signed_in::SignedIn;
use super::views::{action_states, ClusterRow};
use super::State;
use crate::api::clusters::actions::{apply, Requested};
use crate::api::clusters::{cluster_attributes, is_built};
use crate::cluster::attributes::UI_ATTRIBUTE_PREFIX;
use crate::cluster::Power;
use crate::occi::AttrValue;
use crate::store::ClusterRecord;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Events shown on the page before the live stream takes over.
const HISTORY: usize = 500;

/// The user and CSRF token every signed-in page shows.
pub fn session_context(signed_in: &SignedIn) -> tera::Context {
    let mut context = tera::Context::new();
    context.insert("user", &signed_in.session.user);
    context.insert("tenant", &signed_in.session.tenant);
    context.insert("csrf", &signed_in.session.csrf);
    context
}

/// A cluster id from the path; anything else is no cluster.
pub fn parse_id(text: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(text).map_err(|_| PageError::not_found())
}

/// The signed-in tenant's cluster the path names; any other is not found.
pub fn own_cluster(
    path: &str,
    signed_in: &SignedIn,
    state: &State,
) -> Result<(Uuid, ClusterRecord), PageError> {
    let id = parse_id(path)?;
    match state.store.get(&signed_in.session.tenant, id)? {
        Some(record) => Ok((id, record)),
        None => Err(PageError::not_found()),
    }
}

#[derive(Debug, Serialize)]
struct UiLink {
    name: String,
    url: String,
}

#[derive(Debug, Serialize)]
struct EventLine {
    id: i64,
    at: String,
    kind: &'static str,
    node: Option<String>,
    message: String,
}

fn text_of(attributes: &[(String, AttrValue)], name: &str) -> Option<String> {
    attributes
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| match v {
            AttrValue::String(s) => s.clone(),
            other => other.to_string(),
        })
}

/// Renders the page, with a message on top when an action was refused.
pub async fn render_page(
    state: &State,
    request: &HttpRequest,
    signed_in: &SignedIn,
    id: Uuid,
    status: StatusCode,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let store = state.store.clone();
    let tenant = signed_in.session.tenant.clone();
    let (record, events) = web::block(move || {
        let record = store.get(&tenant, id)?;
        let events = match &record {
            Some(_) => store.events(id, 0)?,
            None => Vec::new(),
        };
        Ok::<_, crate::store::StoreError>((record, events))
    })
    .await??;
    let Some(record) = record else {
        return Err(PageError::not_found());
    };
    // The API's own view, without secrets: the page shows no key or generated secret.
    let attributes = cluster_attributes(state, request, &record, None);
    let mut uis: Vec<UiLink> = attributes
        .iter()
        .filter_map(|(name, _)| {
            let ui = name.strip_prefix(UI_ATTRIBUTE_PREFIX)?;
            Some(UiLink {
                name: ui.to_string(),
                url: text_of(&attributes, name)?,
            })
        })
        .collect();
    let log = uis
        .iter()
        .position(|ui| ui.name == "log")
        .map(|i| uis.remove(i));
    let skip = events.len().saturating_sub(HISTORY);
    let events: Vec<EventLine> = events
        .into_iter()
        .skip(skip)
        .map(|e| EventLine {
            id: e.id,
            at: e.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            kind: e.kind.as_str(),
            node: e.node,
            message: e.message,
        })
        .collect();
    let short = &record.id.simple().to_string()[..8];
    let mut context = session_context(signed_in);
    context.insert("cluster", &ClusterRow::of(&record, chrono::Utc::now()));
    context.insert("nodes", &record.nodes);
    context.insert("uis", &uis);
    context.insert("log", &log);
    context.insert("log_direct", &text_of(&attributes, "icclab.disco.log_url"));
    context.insert("events", &events);
    context.insert("last_event", &events.last().map_or(0, |e| e.id));
    context.insert("actions", &action_states(&record));
    context.insert("max_slavecount", &state.limits.max_slave_count);
    context.insert("built", &is_built(&record));
    context.insert("has_key", &record.spec.ssh_public_key.is_none());
    context.insert("short", short);
    context.insert("ssh_user", &text_of(&attributes, "icclab.disco.ssh_user"));
    context.insert("ssh_port", &text_of(&attributes, "icclab.disco.ssh_port"));
    context.insert("external_ip", &text_of(&attributes, "external_ip"));
    context.insert(
        "known_hosts",
        &text_of(&attributes, "icclab.disco.ssh_known_hosts"),
    );
    context.insert("error", &error);
    render(status, "cluster.html", &context)
}

pub async fn page(
    request: HttpRequest,
    path: web::Path<String>,
    signed_in: SignedIn,
    state: State,
) -> Result<HttpResponse, PageError> {
    let id = parse_id(&path)?;
    render_page(&state, &request, &signed_in, id, StatusCode::OK, None).await
}

/// A button of the cluster page.
#[derive(Debug, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    slavecount: String,
}

/// Reads a button's action; a bad slave count is a message for the page.
fn requested(form: &ActionForm, max: u32) -> Result<Requested, String> {
    match form.action.as_str() {
        "scale" => match form.slavecount.trim().parse::<u32>() {
            Ok(count) if count <= max => Ok(Requested::Scale(count)),
            _ => Err(format!(
                "The number of slaves must be a whole number from 0 to {max}."
            )),
        },
        "suspend" => Ok(Requested::Power(Power::Suspended)),
        "resume" => Ok(Requested::Power(Power::Running)),
        _ => Err("Unknown action; the buttons are scale, suspend and resume.".into()),
    }
}

pub async fn act(
    request: HttpRequest,
    path: web::Path<String>,
    signed_in: SignedIn,
    state: State,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, PageError> {
    signed_in.check_csrf(Some(&form.csrf))?;
    let id = parse_id(&path)?;
    let refused =
        |status, message| render_page(&state, &request, &signed_in, id, status, Some(message));
    let wanted = match requested(&form, state.limits.max_slave_count) {
        Ok(wanted) => wanted,
        Err(message) => return refused(StatusCode::BAD_REQUEST, message).await,
    };
    match apply(&state, &signed_in.session.tenant, id, wanted).await {
        Ok(_) => Ok(see_other(&format!("/dashboard/clusters/{id}"))),
        Err(e) if e.status == StatusCode::NOT_FOUND => Err(PageError::not_found()),
        Err(e) => refused(e.status, capital(&e.message)).await,
    }
}

fn capital(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(action: &str, slavecount: &str) -> ActionForm {
        ActionForm {
            csrf: String::new(),
            action: action.into(),
            slavecount: slavecount.into(),
        }
    }

    #[test]
    fn buttons_become_actions_within_the_limits() {
        assert_eq!(requested(&form("scale", "3"), 4), Ok(Requested::Scale(3)));
        assert!(requested(&form("scale", "5"), 4).is_err());
        assert!(requested(&form("scale", "-1"), 4).is_err());
        assert!(requested(&form("scale", "x"), 4).is_err());
        assert_eq!(
            requested(&form("suspend", ""), 4),
            Ok(Requested::Power(Power::Suspended))
        );
        assert!(requested(&form("reboot", ""), 4).is_err());
    }
}
