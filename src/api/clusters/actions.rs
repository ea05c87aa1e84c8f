//! `POST /disco/<id>?action=scale|suspend|resume` with the action's `Category`.

use super::update::{accepted, change};
use crate::api::caller::Caller;
use crate::api::error::ApiError;
use crate::api::request::occi_request;
use crate::api::AppState;
use crate::cluster::attributes::SLAVECOUNT;
use crate::cluster::spec::parse_slave_count;
use crate::cluster::update::{check_power, check_transition};
use crate::cluster::Power;
use crate::occi::{ActionDef, CategoryClass, MediaType};
use crate::store::ClusterRecord;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use uuid::Uuid;

/// The `action` query parameter, if the request has one.
pub fn requested_action(request: &HttpRequest) -> Result<Option<String>, ApiError> {
    let mut found = None;
    for pair in request.query_string().split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if name == "action" {
            if found.is_some() {
                return Err(ApiError::bad_request("give one action per request"));
            }
            found = Some(value.to_string());
        }
    }
    Ok(found)
}

fn category_line(action: &ActionDef) -> String {
    format!(
        "Category: {}; scheme=\"{}\"; class=\"action\"",
        action.term, action.scheme
    )
}

pub async fn run(
    request: &HttpRequest,
    body: &[u8],
    state: &AppState,
    caller: Caller,
    id: Uuid,
    term: &str,
    media: MediaType,
) -> Result<HttpResponse, ApiError> {
    let Some(action) = state.kind.actions.iter().find(|a| a.term == term) else {
        let terms: Vec<&str> = state.kind.actions.iter().map(|a| a.term.as_str()).collect();
        return Err(ApiError::bad_request(format!(
            "unknown action `{}`; a cluster has the actions {}",
            term.chars().take(40).collect::<String>(),
            terms.join(", ")
        )));
    };
    let occi = occi_request(request, body)?;
    let names_it = |c: &crate::occi::CategoryRef| {
        action.matches(c) && matches!(c.class, None | Some(CategoryClass::Action))
    };
    if occi.categories.len() != 1 || !names_it(&occi.categories[0]) {
        return Err(ApiError::bad_request(format!(
            "POST /disco/{id}?action={term} must carry the action's category, and only it: `{}`",
            category_line(action)
        )));
    }
    for (name, _) in &occi.attributes {
        if !action.attributes.iter().any(|a| a == name) {
            return Err(ApiError::bad_request(format!(
                "the {term} action takes {}, not {name}",
                if action.attributes.is_empty() {
                    "no attributes".to_string()
                } else {
                    action.attributes.join(", ")
                }
            )));
        }
    }
    let requested = match term {
        "scale" => {
            let Some((_, value)) = occi.attributes.iter().find(|(n, _)| n == SLAVECOUNT) else {
                return Err(ApiError::bad_request(format!(
                    "the scale action needs X-OCCI-Attribute: {SLAVECOUNT}=\"N\""
                )));
            };
            let count = parse_slave_count(value, state.limits)
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
            Requested::Scale(count)
        }
        "suspend" => Requested::Power(Power::Suspended),
        _ => Requested::Power(Power::Running),
    };
    let record = apply(state, &caller.tenant, id, requested).await?;
    Ok(accepted(request, state, &record, media))
}

/// An action, read and checked against the limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requested {
    /// `scale` to this many slaves.
    Scale(u32),
    /// `suspend` or `resume`.
    Power(Power),
}

/// Applies an action to the tenant's cluster (`409` when its state forbids it): what
/// `POST /disco/<id>?action=` does once the request is read, and the dashboard's buttons.
pub async fn apply(
    state: &AppState,
    tenant: &str,
    id: Uuid,
    requested: Requested,
) -> Result<ClusterRecord, ApiError> {
    match requested {
        Requested::Scale(count) => {
            if state.backend.scaling().is_none() {
                return Err(unsupported("scale"));
            }
            change(state, tenant, id, move |record| {
                let mut next = record.spec.clone();
                next.slave_count = count;
                check_transition(record.state, record.operation, &record.spec, &next)
                    .map_err(|m| ApiError::new(StatusCode::CONFLICT, m))?;
                let message = format!(
                    "scale requested: slaves {} -> {count}",
                    record.spec.slave_count
                );
                Ok((next, message))
            })
            .await
        }
        Requested::Power(wanted) => {
            let term = if wanted == Power::Suspended {
                "suspend"
            } else {
                "resume"
            };
            if state.backend.power().is_none() {
                return Err(unsupported(term));
            }
            change(state, tenant, id, move |record| {
                check_power(record.state, record.operation, wanted)
                    .map_err(|m| ApiError::new(StatusCode::CONFLICT, m))?;
                let mut next = record.spec.clone();
                next.power = wanted;
                Ok((next, format!("{term} requested")))
            })
            .await
        }
    }
}

fn unsupported(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        format!("this backend cannot {what} clusters"),
    )
}
