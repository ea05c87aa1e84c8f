//! `GET /-/`: the query interface, with Category filtering.

use super::error::ApiError;
use super::request::{occi_request, response_media};
use super::{respond, AppState};
use crate::occi::render::render_query_interface;
use crate::occi::{ActionDef, KindDef};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

pub async fn query_interface(
    request: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let media = response_media(&request, false)?;
    let filter = occi_request(&request, &[]).map_err(|e| e.in_media(media))?;
    let wanted = |matches: &dyn Fn(&crate::occi::CategoryRef) -> bool| {
        filter.categories.is_empty() || filter.categories.iter().any(matches)
    };
    let kinds: Vec<&KindDef> = state
        .core_kinds
        .iter()
        .chain(std::iter::once(&state.kind))
        .filter(|kind| wanted(&|c| kind.matches(c)))
        .collect();
    let actions: Vec<&ActionDef> = state
        .kind
        .actions
        .iter()
        .filter(|action| wanted(&|c| action.matches(c)))
        .collect();
    Ok(respond(
        StatusCode::OK,
        render_query_interface(&kinds, &actions, &state.kind, media),
    ))
}
