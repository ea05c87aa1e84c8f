//! `POST /disco/`: create a cluster. `201 Created` at once; the reconciler builds it.
//!
//! With an `Idempotency-Key` header a retry (a client that lost the answer) gets the cluster
//! the first attempt made instead of a second one.

use super::{absolute_url, cluster_path, in_media};
use crate::api::caller::{Caller, DeployerAttributes};
use crate::api::error::ApiError;
use crate::api::request::{header_text, occi_request, response_media};
use crate::api::{respond, AppState};
use crate::backend::BackendError;
use crate::cluster::attributes::{DEPLOYER_PASSWORD, DEPLOYER_REGION, DEPLOYER_USERNAME, INJECT};
use crate::cluster::keys::{generate_key_pair, generate_secret, KeyPair};
use crate::cluster::ClusterSpec;
use crate::occi::render::{render_collection, render_message};
use crate::occi::{AttrValue, CategoryClass, MediaType};
use crate::plan::ClusterPlan;
use crate::store::{Inserted, NewCluster, StoreError};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use uuid::Uuid;

/// Longest accepted `Idempotency-Key`.
const MAX_KEY: usize = 255;

/// The `Idempotency-Key` header: 1 to 255 visible ASCII characters.
fn idempotency_key(request: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(key) = header_text(request, "Idempotency-Key")? else {
        return Ok(None);
    };
    let valid =
        !key.is_empty() && key.len() <= MAX_KEY && key.bytes().all(|b| b.is_ascii_graphic());
    if !valid {
        return Err(ApiError::bad_request(format!(
            "Idempotency-Key must be 1 to {MAX_KEY} visible ASCII characters (a UUID is a good key)"
        )));
    }
    Ok(Some(key))
}

pub async fn create(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let media = response_media(&request, false)?;
    in_media(media, create_in(&request, &body, &state, media)).await
}

async fn create_in(
    request: &HttpRequest,
    body: &[u8],
    state: &AppState,
    media: MediaType,
) -> Result<HttpResponse, ApiError> {
    let occi = occi_request(request, body)?;
    let attribute = |name: &str| {
        occi.attributes.iter().find_map(|(n, v)| match v {
            AttrValue::String(s) if n == name => Some(s.as_str()),
            _ => None,
        })
    };
    let deployer = DeployerAttributes {
        username: attribute(DEPLOYER_USERNAME),
        password: attribute(DEPLOYER_PASSWORD),
        region: attribute(DEPLOYER_REGION),
    };
    let caller = state.authenticator.caller_with(request, deployer).await?;
    let key = idempotency_key(request)?;
    check_kind(state, &occi.categories)?;
    let spec = ClusterSpec::parse(&occi.attributes, &state.catalog, state.limits)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let id = admit(state, &caller, spec, key).await?;
    Ok(created_response(request, id, media))
}

/// Stores a new cluster for `caller` from its parsed spec and wakes the reconciler: what
/// `POST /disco/` does once the request is read, and what the dashboard's form does too.
/// Answers the new cluster's id, or the one an earlier request with the same
/// `Idempotency-Key` made.
pub async fn admit(
    state: &AppState,
    caller: &Caller,
    spec: ClusterSpec,
    key: Option<String>,
) -> Result<Uuid, ApiError> {
    if let Some(key) = &key {
        let store = state.store.clone();
        let (tenant, wanted) = (caller.tenant.clone(), key.clone());
        if let Some(existing) =
            web::block(move || store.idempotent_cluster(&tenant, &wanted)).await??
        {
            return retried(state, &caller.tenant, key, existing, &spec).await;
        }
    }
    let id = Uuid::new_v4();
    let plan = ClusterPlan::build(id, &spec, &state.catalog)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    state.backend.check(&plan).await.map_err(|e| match e {
        BackendError::Unsupported(m) => ApiError::bad_request(m),
        other => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, other.to_string()),
    })?;
    let capacity = state.capacity;
    let store = state.store.clone();
    let tenant = caller.tenant.clone();
    let slave_count = spec.slave_count;
    // Checked again as the cluster is stored; here so that nothing is prepared in vain.
    web::block(move || store.admissible(&tenant, slave_count, &capacity)).await???;
    let backend_data = state
        .backend
        .admit(caller.openstack.as_ref(), id)
        .await
        .map_err(|e| match e {
            BackendError::Unsupported(m) => ApiError::bad_request(m),
            BackendError::Permanent(m) => ApiError::new(StatusCode::FORBIDDEN, m),
            other => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, other.to_string()),
        })?;
    let admitted = backend_data.clone();
    let store = state.store.clone();
    let tenant = caller.tenant.clone();
    let key_name = format!("disco-{}", &id.simple().to_string()[..12]);
    let stored_spec = spec.clone();
    let stored_key = key.clone();
    let frameworks = plan.frameworks.join(",");
    let slaves = plan.nodes.len() - 1;
    let inserted = web::block(move || -> Result<Inserted, StoreError> {
        let keys = match &stored_spec.ssh_public_key {
            // Their own key: disco never has the private half.
            Some(public) => KeyPair {
                public_openssh: public.clone(),
                private_openssh: Default::default(),
            },
            None => generate_key_pair(&key_name)
                .map_err(|e| StoreError::Setup(format!("key generation: {e}")))?,
        };
        let generated: Vec<_> = plan
            .generated
            .iter()
            .map(|slot| (slot.clone(), generate_secret(24)))
            .collect();
        store.insert(
            &NewCluster {
                id,
                tenant: &tenant,
                spec: &stored_spec,
                plan: &plan,
                ssh_key_name: &key_name,
                ssh_public_key: &keys.public_openssh,
                ssh_private_key: &keys.private_openssh,
                generated: &generated,
                backend_data: backend_data.as_ref(),
                idempotency_key: stored_key.as_deref(),
            },
            &capacity,
        )
    })
    .await
    .map_err(ApiError::from)
    .and_then(|inserted| inserted.map_err(ApiError::from));
    if !matches!(inserted, Ok(Inserted::Created)) {
        // Nothing was stored: release what `admit` prepared (e.g. the Keystone trust).
        if let Some(data) = &admitted {
            if let Err(e) = state.backend.destroy(id, Some(data)).await {
                tracing::warn!(cluster_id = %id, error = %e,
                    "cannot release what was prepared for a cluster that was not stored");
            }
        }
    }
    match inserted? {
        Inserted::Created => {}
        Inserted::Refused(limit) => return Err(limit.into()),
        Inserted::Existing(existing) => {
            let key = key.unwrap_or_default();
            return retried(state, &caller.tenant, &key, existing, &spec).await;
        }
    }
    state.reconciler.notify_one();
    tracing::info!(cluster_id = %id, tenant = %caller.tenant, slaves, frameworks = %frameworks,
        "cluster requested");
    Ok(id)
}

/// A create with an `Idempotency-Key` that was used before: the same cluster for the same
/// request, `409` for another.
async fn retried(
    state: &AppState,
    tenant: &str,
    key: &str,
    existing: Uuid,
    spec: &ClusterSpec,
) -> Result<Uuid, ApiError> {
    let store = state.store.clone();
    let record = web::block(move || store.get_any(existing)).await??;
    match record {
        Some(record) if record.tenant == tenant && &record.spec == spec => {
            tracing::info!(cluster_id = %existing, "create retried with its idempotency key");
            Ok(existing)
        }
        _ => Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "Idempotency-Key `{key}` was used within the last 24 h for another request \
                 (cluster {existing}); send a new key to create another cluster"
            ),
        )),
    }
}

/// `201 Created` with the cluster's location in `Location` and `X-OCCI-Location`.
fn created_response(request: &HttpRequest, id: Uuid, media: MediaType) -> HttpResponse {
    let url = absolute_url(request, &cluster_path(id));
    let rendered = match media {
        MediaType::OcciJson => {
            let mut rendered = render_collection(std::slice::from_ref(&url), media);
            rendered.body = format!(
                "{}\n",
                serde_json::json!({"id": id.to_string(), "location": url})
            );
            rendered
        }
        MediaType::TextOcci => render_message(201, "OK", media),
        _ => render_collection(std::slice::from_ref(&url), media),
    };
    let mut response = respond(StatusCode::CREATED, rendered);
    if let Ok(value) = HeaderValue::from_str(&url) {
        let headers = response.headers_mut();
        headers.insert(HeaderName::from_static("location"), value.clone());
        headers.insert(HeaderName::from_static("x-occi-location"), value);
    }
    response
}

/// Exactly one kind category, the disco kind; no mixins or actions.
fn check_kind(state: &AppState, categories: &[crate::occi::CategoryRef]) -> Result<(), ApiError> {
    let kind = &state.kind;
    let expected = format!(
        "Category: {}; scheme=\"{}\"; class=\"kind\"",
        kind.term, kind.scheme
    );
    let mut kinds = 0;
    for category in categories {
        match category.class {
            Some(CategoryClass::Kind) | None if kind.matches(category) => kinds += 1,
            Some(CategoryClass::Mixin) => {
                return Err(ApiError::bad_request(format!(
                    "unknown mixin {}: disco has no mixins; choose frameworks with {INJECT}",
                    category.id()
                )))
            }
            _ => {
                return Err(ApiError::bad_request(format!(
                    "unknown category {}; this location creates clusters with `{expected}`",
                    category.id()
                )))
            }
        }
    }
    match kinds {
        1 => Ok(()),
        0 => Err(ApiError::bad_request(format!(
            "the request names no kind; send `{expected}`"
        ))),
        _ => Err(ApiError::new(
            StatusCode::CONFLICT,
            "the request names the disco kind more than once",
        )),
    }
}
