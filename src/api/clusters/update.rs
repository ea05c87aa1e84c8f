//! `POST /disco/<id>` (partial update) and `PUT /disco/<id>` (full update): change the slave
//! count, lifetime, title or summary. `202 Accepted`; the reconciler does the work.

use super::{available_actions, cluster_attributes, cluster_path, in_media};
use crate::api::caller::{Authenticated, Caller};
use crate::api::error::ApiError;
use crate::api::request::{cluster_id, occi_request};
use crate::api::{respond, AppState};
use crate::cluster::attributes::MUTABLE;
use crate::cluster::event::{EventKind, NewEvent};
use crate::cluster::update::{apply_update, check_transition, UpdateKind};
use crate::cluster::ClusterSpec;
use crate::occi::render::{render_resource, ResourceView};
use crate::occi::{CategoryClass, MediaType};
use crate::store::ClusterRecord;
use actix_web::http::header::{HeaderValue, LOCATION};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use uuid::Uuid;

/// `POST /disco/<id>`: an action (`?action=<term>`) or a partial update.
pub async fn post(
    request: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
    Authenticated { media, caller }: Authenticated,
) -> Result<HttpResponse, ApiError> {
    in_media(media, async {
        let id = cluster_id(&path)?;
        // An unknown cluster is a 404 whatever else is wrong with the request.
        if state.store.get(&caller.tenant, id)?.is_none() {
            return Err(ApiError::not_found(format!("no cluster {id}")));
        }
        if let Some(action) = super::actions::requested_action(&request)? {
            return super::actions::run(&request, &body, &state, caller, id, &action, media).await;
        }
        update(
            &request,
            &body,
            &state,
            caller,
            id,
            UpdateKind::Partial,
            media,
        )
        .await
    })
    .await
}

/// `PUT /disco/<id>`: the request is the whole cluster.
pub async fn put(
    request: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
    Authenticated { media, caller }: Authenticated,
) -> Result<HttpResponse, ApiError> {
    in_media(media, async {
        let id = cluster_id(&path)?;
        update(&request, &body, &state, caller, id, UpdateKind::Full, media).await
    })
    .await
}

async fn update(
    request: &HttpRequest,
    body: &[u8],
    state: &AppState,
    caller: Caller,
    id: Uuid,
    kind: UpdateKind,
    media: MediaType,
) -> Result<HttpResponse, ApiError> {
    let occi = occi_request(request, body)?;
    for category in &occi.categories {
        let is_kind = state.kind.matches(category)
            && matches!(category.class, None | Some(CategoryClass::Kind));
        if !is_kind {
            return Err(ApiError::bad_request(format!(
                "an update may name only the disco kind, not {}; actions are POST /disco/{id}?action=<term>",
                category.id()
            )));
        }
    }
    if kind == UpdateKind::Partial && occi.attributes.is_empty() {
        return Err(ApiError::bad_request(format!(
            "nothing to update: give one of {} as X-OCCI-Attribute, or run an action with \
             POST /disco/{id}?action=scale|suspend|resume",
            MUTABLE.join(", ")
        )));
    }
    let attributes = occi.attributes;
    let identity = check_identity(&attributes);
    let catalog = state.catalog.clone();
    let limits = state.limits;
    let scalable = state.backend.scaling().is_some();
    let record = change(state, &caller.tenant, id, move |record| {
        identity(record)?;
        let next = apply_update(&record.spec, &attributes, kind, &catalog, limits)
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        if next.slave_count != record.spec.slave_count && !scalable {
            return Err(ApiError::new(
                StatusCode::NOT_IMPLEMENTED,
                "this backend cannot scale clusters",
            ));
        }
        check_transition(record.state, record.operation, &record.spec, &next)
            .map_err(|m| ApiError::new(StatusCode::CONFLICT, m))?;
        let message = format!("update requested: {}", describe_change(&record.spec, &next));
        Ok((next, message))
    })
    .await?;
    Ok(accepted(request, state, &record, media))
}

/// What an update may repeat of what disco reports, but not change: the cluster's identity
/// and key. (The reported status, such as the state, is ignored: it changes by itself.)
fn check_identity(
    attributes: &[(String, crate::occi::AttrValue)],
) -> impl Fn(&ClusterRecord) -> Result<(), ApiError> + Send + 'static {
    let given: Vec<(String, String)> = attributes
        .iter()
        .filter(|(name, _)| {
            ["occi.core.id", "ssh_key_name", "ssh_public_key"].contains(&name.as_str())
        })
        .map(|(name, value)| (name.clone(), value.to_string()))
        .collect();
    move |record| {
        for (name, value) in &given {
            let current = match name.as_str() {
                "occi.core.id" => record.id.to_string(),
                "ssh_key_name" => record.ssh_key_name.clone(),
                _ => record.ssh_public_key.clone(),
            };
            if *value != current {
                return Err(ApiError::bad_request(format!(
                    "{name} cannot change: it is `{}`, the request says `{}`",
                    current.chars().take(80).collect::<String>(),
                    value.chars().take(80).collect::<String>()
                )));
            }
        }
        Ok(())
    }
}

/// Applies `decide` to the tenant's cluster in one transaction: it returns the new spec and
/// the event message, or the error to answer (then nothing changes). Wakes the reconciler.
pub async fn change(
    state: &AppState,
    tenant: &str,
    id: Uuid,
    decide: impl FnOnce(&ClusterRecord) -> Result<(ClusterSpec, String), ApiError> + Send + 'static,
) -> Result<ClusterRecord, ApiError> {
    let store = state.store.clone();
    let tenant = tenant.to_string();
    let now = chrono::Utc::now();
    let max_nodes = state.capacity.nodes;
    let changed = web::block(move || {
        store.update_spec(&tenant, id, max_nodes, |record| {
            let (spec, message) = decide(record)?;
            if let Some(lifetime) = spec
                .lifetime
                .filter(|_| spec.lifetime != record.spec.lifetime)
            {
                let ends = record.created_at + lifetime.duration();
                if ends <= now {
                    let age = (now - record.created_at).num_minutes();
                    return Err(ApiError::bad_request(format!(
                        "a lifetime of {lifetime} would have ended already: the cluster was \
                         created {age} min ago and lifetime counts from creation; give a longer \
                         one, or delete the cluster"
                    )));
                }
            }
            Ok((spec, NewEvent::new(EventKind::Action, message)))
        })
    })
    .await??;
    let record = match changed {
        None => return Err(ApiError::not_found(format!("no cluster {id}"))),
        Some(result) => result?,
    };
    state.reconciler.notify_one();
    tracing::info!(cluster_id = %id, generation = record.generation, "cluster changed");
    Ok(record)
}

/// What changes, in words: `slaves 1 -> 3, lifetime none -> 2h`.
fn describe_change(before: &ClusterSpec, after: &ClusterSpec) -> String {
    let mut changes = Vec::new();
    if before.slave_count != after.slave_count {
        changes.push(format!(
            "slaves {} -> {}",
            before.slave_count, after.slave_count
        ));
    }
    if before.lifetime != after.lifetime {
        let show = |l: Option<crate::cluster::Lifetime>| {
            l.map_or_else(|| "none".to_string(), |l| l.to_string())
        };
        changes.push(format!(
            "lifetime {} -> {}",
            show(before.lifetime),
            show(after.lifetime)
        ));
    }
    if before.title != after.title {
        changes.push("title".to_string());
    }
    if before.summary != after.summary {
        changes.push("summary".to_string());
    }
    if before.power != after.power {
        changes.push(match after.power {
            crate::cluster::Power::Suspended => "suspend".to_string(),
            crate::cluster::Power::Running => "resume".to_string(),
        });
    }
    if changes.is_empty() {
        "nothing changes".to_string()
    } else {
        changes.join(", ")
    }
}

/// `202 Accepted` with the cluster as it now is (its new generation) and its `Location`.
pub fn accepted(
    request: &HttpRequest,
    state: &AppState,
    record: &ClusterRecord,
    media: MediaType,
) -> HttpResponse {
    let view = ResourceView {
        kind: &state.kind,
        id: record.id.to_string(),
        location: cluster_path(record.id),
        attributes: cluster_attributes(state, request, record, None),
        actions: available_actions(record),
    };
    let mut response = respond(StatusCode::ACCEPTED, render_resource(&view, media));
    if let Ok(value) =
        HeaderValue::from_str(&super::absolute_url(request, &cluster_path(record.id)))
    {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}
