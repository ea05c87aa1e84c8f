//! `/disco/` and `/disco/<id>`: create, list, show and delete clusters.

use super::caller::DeployerAttributes;
use super::error::ApiError;
use super::request::{cluster_id, cluster_id_from_location, occi_request, response_media};
use super::{respond, AppState};
use crate::backend::BackendError;
use crate::cluster::attributes::{
    COMPONENTS_PREFIX, DEPLOYER_PASSWORD, DEPLOYER_REGION, DEPLOYER_USERNAME, INJECT, LOCATION,
    SLAVECOUNT, SUMMARY, TITLE,
};
use crate::cluster::keys::{generate_key_pair, generate_secret, KeyPair};
use crate::cluster::{ClusterSpec, ClusterState};
use crate::occi::render::{render_collection, render_message, render_resource, ResourceView};
use crate::occi::{AttrValue, CategoryClass, MediaType};
use crate::plan::ClusterPlan;
use crate::store::{ClusterRecord, NewCluster};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use uuid::Uuid;

/// Absolute URL of a location on this server, as the client addressed it.
fn absolute_url(request: &HttpRequest, path: &str) -> String {
    let info = request.connection_info();
    format!("{}://{}{}", info.scheme(), info.host(), path)
}

fn cluster_path(id: Uuid) -> String {
    format!("{LOCATION}{id}")
}

pub async fn create(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let media = response_media(&request, false)?;
    let occi = occi_request(&request, &body).map_err(|e| e.in_media(media))?;
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
    let caller = state
        .authenticator
        .caller_with(&request, deployer)
        .await
        .map_err(|e| e.in_media(media))?;
    check_kind(&state, &occi.categories).map_err(|e| e.in_media(media))?;
    let spec = ClusterSpec::parse(&occi.attributes, &state.catalog, state.limits)
        .map_err(|e| ApiError::bad_request(e.to_string()).in_media(media))?;
    let id = Uuid::new_v4();
    let plan = ClusterPlan::build(id, &spec, &state.catalog)
        .map_err(|e| ApiError::bad_request(e.to_string()).in_media(media))?;
    state.backend.check(&plan).map_err(|e| {
        match e {
            BackendError::Unsupported(m) => ApiError::bad_request(m),
            other => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, other.to_string()),
        }
        .in_media(media)
    })?;
    let limit = state.max_clusters_per_tenant;
    let too_many = |tenant: &str| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "tenant {tenant} already has {limit} clusters (limits.max_clusters_per_tenant); delete one first"
            ),
        )
        .in_media(media)
    };
    let store = state.store.clone();
    let tenant = caller.tenant.clone();
    let count = web::block(move || store.count_for_tenant(&tenant))
        .await
        .map_err(|e| ApiError::from(e).in_media(media))?
        .map_err(|e| ApiError::from(e).in_media(media))?;
    if count >= limit {
        return Err(too_many(&caller.tenant));
    }
    let backend_data = state
        .backend
        .admit(caller.openstack.as_ref(), id)
        .await
        .map_err(|e| {
            match e {
                BackendError::Unsupported(m) => ApiError::bad_request(m),
                BackendError::Permanent(m) => ApiError::new(StatusCode::FORBIDDEN, m),
                other => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, other.to_string()),
            }
            .in_media(media)
        })?;
    let admitted = backend_data.clone();
    let store = state.store.clone();
    let tenant = caller.tenant.clone();
    let key_name = format!("disco-{}", &id.simple().to_string()[..12]);
    let generated_slots = plan.generated.clone();
    let inserted = web::block(move || -> Result<bool, crate::store::StoreError> {
        let keys = match &spec.ssh_public_key {
            // Their own key: disco never has the private half.
            Some(public) => KeyPair {
                public_openssh: public.clone(),
                private_openssh: Default::default(),
            },
            None => generate_key_pair(&key_name)
                .map_err(|e| crate::store::StoreError::Setup(format!("key generation: {e}")))?,
        };
        let generated: Vec<_> = generated_slots
            .into_iter()
            .map(|slot| (slot, generate_secret(24)))
            .collect();
        store.insert(
            &NewCluster {
                id,
                tenant: &tenant,
                spec: &spec,
                ssh_key_name: &key_name,
                ssh_public_key: &keys.public_openssh,
                ssh_private_key: &keys.private_openssh,
                generated: &generated,
                backend_data: backend_data.as_ref(),
            },
            limit,
        )
    })
    .await
    .map_err(ApiError::from)
    .and_then(|inserted| inserted.map_err(ApiError::from));
    if !matches!(inserted, Ok(true)) {
        // Nothing was stored: release what `admit` prepared (e.g. the Keystone trust).
        if let Some(data) = &admitted {
            if let Err(e) = state.backend.destroy(id, Some(data)).await {
                tracing::warn!(cluster_id = %id, error = %e,
                    "cannot release what was prepared for a cluster that was not stored");
            }
        }
    }
    if !inserted.map_err(|e| e.in_media(media))? {
        return Err(too_many(&caller.tenant));
    }
    state.reconciler.notify_one();
    tracing::info!(cluster_id = %id, tenant = %caller.tenant, slaves = plan.nodes.len() - 1,
        frameworks = %plan.frameworks.join(","), "cluster requested");
    let url = absolute_url(&request, &cluster_path(id));
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
    for (name, value) in [("Location", url.clone()), ("X-OCCI-Location", url)] {
        if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&value) {
            response.headers_mut().insert(
                actix_web::http::header::HeaderName::from_static(if name == "Location" {
                    "location"
                } else {
                    "x-occi-location"
                }),
                value,
            );
        }
    }
    Ok(response)
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

pub async fn list(
    request: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let media = response_media(&request, true)?;
    let caller = state
        .authenticator
        .caller(&request)
        .await
        .map_err(|e| e.in_media(media))?;
    let store = state.store.clone();
    let ids = web::block(move || store.list(&caller.tenant))
        .await
        .map_err(|e| ApiError::from(e).in_media(media))?
        .map_err(|e| ApiError::from(e).in_media(media))?;
    let locations: Vec<String> = ids
        .into_iter()
        .map(|id| absolute_url(&request, &cluster_path(id)))
        .collect();
    Ok(respond(
        StatusCode::OK,
        render_collection(&locations, media),
    ))
}

pub async fn show(
    request: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let media = response_media(&request, false)?;
    let caller = state
        .authenticator
        .caller(&request)
        .await
        .map_err(|e| e.in_media(media))?;
    let id = cluster_id(&path).map_err(|e| e.in_media(media))?;
    // A read in WAL mode never waits for writers and takes microseconds: it runs right here
    // rather than paying for a hop to the blocking pool.
    let record = state
        .store
        .get(&caller.tenant, id)
        .map_err(|e| ApiError::from(e).in_media(media))?;
    let (private_key, generated) = match &record {
        Some(record) if record.state == ClusterState::Ready => {
            let (key, generated) = state
                .store
                .owner_secrets(id)
                .map_err(|e| ApiError::from(e).in_media(media))?;
            (Some(key).filter(|k| !k.is_empty()), generated)
        }
        _ => (None, Vec::new()),
    };
    let Some(record) = record else {
        return Err(ApiError::not_found(format!("no cluster {id}")).in_media(media));
    };
    let mut attributes = cluster_attributes(&state, &record, private_key);
    attributes.extend(
        generated
            .into_iter()
            .map(|(slot, value)| (slot.attribute, AttrValue::String(value))),
    );
    let view = ResourceView {
        kind: &state.kind,
        id: id.to_string(),
        location: cluster_path(id),
        attributes,
    };
    Ok(respond(StatusCode::OK, render_resource(&view, media)))
}

/// Every non-secret attribute of a cluster, in a stable order.
fn cluster_attributes(
    state: &AppState,
    record: &ClusterRecord,
    private_key: Option<String>,
) -> Vec<(String, AttrValue)> {
    let text = |s: &str| AttrValue::String(s.to_string());
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
            text(record.state.stack_status()),
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
            "icclab.disco.created_at".to_string(),
            text(
                &record
                    .created_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
        ),
        (
            "icclab.disco.updated_at".to_string(),
            text(
                &record
                    .updated_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
        ),
        (
            SLAVECOUNT.to_string(),
            AttrValue::Integer(i64::from(spec.slave_count)),
        ),
    ]);
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
    if record.state == ClusterState::Ready {
        let outputs = &record.outputs;
        if let Some(ip) = &outputs.external_ip {
            attributes.push(("external_ip".into(), text(ip)));
        }
        if let Some(key) = private_key {
            attributes.push(("ssh_private_key".into(), text(&key)));
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
    }
    attributes
}

async fn request_delete(
    state: &AppState,
    tenant: String,
    ids: Vec<Uuid>,
    media: MediaType,
) -> Result<HttpResponse, ApiError> {
    let store = state.store.clone();
    let wanted = ids.clone();
    let missing = web::block(move || store.request_delete(&tenant, &wanted))
        .await
        .map_err(|e| ApiError::from(e).in_media(media))?
        .map_err(|e| ApiError::from(e).in_media(media))?;
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(Uuid::to_string).collect();
        return Err(ApiError::not_found(format!(
            "no cluster {}; nothing was deleted",
            names.join(", ")
        ))
        .in_media(media));
    }
    state.reconciler.notify_one();
    for id in &ids {
        tracing::info!(cluster_id = %id, "deletion requested");
    }
    Ok(respond(StatusCode::OK, render_message(200, "OK", media)))
}

pub async fn delete(
    request: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let media = response_media(&request, false)?;
    let caller = state
        .authenticator
        .caller(&request)
        .await
        .map_err(|e| e.in_media(media))?;
    let id = cluster_id(&path).map_err(|e| e.in_media(media))?;
    request_delete(&state, caller.tenant, vec![id], media).await
}

/// `DELETE /disco/` deletes only the clusters the request names.
pub async fn delete_selected(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let media = response_media(&request, false)?;
    let caller = state
        .authenticator
        .caller(&request)
        .await
        .map_err(|e| e.in_media(media))?;
    let occi = occi_request(&request, &body).map_err(|e| e.in_media(media))?;
    if occi.locations.is_empty() {
        return Err(ApiError::bad_request(
            "DELETE /disco/ deletes only the clusters it names: list them in X-OCCI-Location \
             headers or a text/uri-list body (disco never deletes every cluster at once)",
        )
        .in_media(media));
    }
    let ids = occi
        .locations
        .iter()
        .map(|l| cluster_id_from_location(l))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.in_media(media))?;
    request_delete(&state, caller.tenant, ids, media).await
}

/// Partial updates and actions (scale, suspend, resume) are not available yet.
pub async fn update(
    request: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let media = response_media(&request, false)?;
    let caller = state
        .authenticator
        .caller(&request)
        .await
        .map_err(|e| e.in_media(media))?;
    let id = cluster_id(&path).map_err(|e| e.in_media(media))?;
    let store = state.store.clone();
    let exists = web::block(move || store.get(&caller.tenant, id))
        .await
        .map_err(|e| ApiError::from(e).in_media(media))?
        .map_err(|e| ApiError::from(e).in_media(media))?
        .is_some();
    if !exists {
        return Err(ApiError::not_found(format!("no cluster {id}")).in_media(media));
    }
    Err(ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        "partial update and actions (scale, suspend, resume) are not implemented yet; \
         delete and re-create the cluster to change it",
    )
    .in_media(media))
}
