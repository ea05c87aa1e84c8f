//! `GET /disco/`: the caller's clusters.

use super::{absolute_url, cluster_path, in_media};
use crate::api::error::ApiError;
use crate::api::request::response_media;
use crate::api::{respond, AppState};
use crate::occi::render::render_collection;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

pub async fn list(
    request: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let media = response_media(&request, true)?;
    in_media(media, async {
        let caller = state.authenticator.caller(&request).await?;
        let store = state.store.clone();
        let ids = web::block(move || store.list(&caller.tenant)).await??;
        let locations: Vec<String> = ids
            .into_iter()
            .map(|id| absolute_url(&request, &cluster_path(id)))
            .collect();
        Ok(respond(
            StatusCode::OK,
            render_collection(&locations, media),
        ))
    })
    .await
}
