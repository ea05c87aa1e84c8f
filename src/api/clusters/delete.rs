//! `DELETE /disco/<id>` and `DELETE /disco/` with a selection: teardown in the background.

use super::in_media;
use crate::api::caller::Authenticated;
use crate::api::error::ApiError;
use crate::api::request::{cluster_id, cluster_id_from_location, occi_request};
use crate::api::{respond, AppState};
use crate::occi::render::render_message;
use crate::occi::MediaType;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use uuid::Uuid;

/// Marks the tenant's clusters for deletion (all or none) and wakes the reconciler; the
/// dashboard's delete button comes here too.
pub async fn request_delete(
    state: &AppState,
    tenant: String,
    ids: Vec<Uuid>,
    media: MediaType,
) -> Result<HttpResponse, ApiError> {
    let store = state.store.clone();
    let wanted = ids.clone();
    let missing =
        web::block(move || store.request_delete(&tenant, &wanted, "delete requested")).await??;
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(Uuid::to_string).collect();
        return Err(ApiError::not_found(format!(
            "no cluster {}; nothing was deleted",
            names.join(", ")
        )));
    }
    state.reconciler.notify_one();
    for id in &ids {
        tracing::info!(cluster_id = %id, "deletion requested");
    }
    Ok(respond(StatusCode::OK, render_message(200, "OK", media)))
}

pub async fn delete(
    path: web::Path<String>,
    state: web::Data<AppState>,
    Authenticated { media, caller }: Authenticated,
) -> Result<HttpResponse, ApiError> {
    in_media(media, async {
        let id = cluster_id(&path)?;
        request_delete(&state, caller.tenant, vec![id], media).await
    })
    .await
}

/// `DELETE /disco/` deletes only the clusters the request names.
pub async fn delete_selected(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    Authenticated { media, caller }: Authenticated,
) -> Result<HttpResponse, ApiError> {
    in_media(media, async {
        let occi = occi_request(&request, &body)?;
        if occi.locations.is_empty() {
            return Err(ApiError::bad_request(
                "DELETE /disco/ deletes only the clusters it names: list them in X-OCCI-Location \
                 headers or a text/uri-list body (disco never deletes every cluster at once)",
            ));
        }
        let ids = occi
            .locations
            .iter()
            .map(|l| cluster_id_from_location(l))
            .collect::<Result<Vec<_>, _>>()?;
        request_delete(&state, caller.tenant, ids, media).await
    })
    .await
}
