//! `GET /disco/<id>`: every attribute of one cluster, its nodes and the actions it allows.

use super::{available_actions, cluster_attributes, cluster_path, in_media, is_built, origin};
use crate::api::caller::Authenticated;
use crate::api::error::ApiError;
use crate::api::request::cluster_id;
use crate::api::{respond, AppState};
use crate::occi::render::{render_resource, ResourceView};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

pub async fn show(
    request: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
    Authenticated { media, caller }: Authenticated,
) -> Result<HttpResponse, ApiError> {
    in_media(media, async {
        let id = cluster_id(&path)?;
        let origin = origin(&request);
        let version = state.store.version(id);
        if let Some(kept) = state.shown.get(id, media, &origin, &caller.tenant, version) {
            return Ok(kept);
        }
        // A read in WAL mode never waits for writers and takes microseconds: it runs right
        // here rather than paying for a hop to the blocking pool.
        let Some(record) = state.store.get(&caller.tenant, id)? else {
            return Err(ApiError::not_found(format!("no cluster {id}")));
        };
        let secrets = if is_built(&record) {
            Some(state.store.owner_secrets(id)?)
        } else {
            None
        };
        let attributes = cluster_attributes(&state, &request, &record, secrets);
        let view = ResourceView {
            kind: &state.kind,
            id: id.to_string(),
            location: cluster_path(id),
            attributes,
            actions: available_actions(&record),
        };
        let rendered = render_resource(&view, media);
        state
            .shown
            .keep(id, media, &origin, &caller.tenant, version, &rendered);
        Ok(respond(StatusCode::OK, rendered))
    })
    .await
}
