//! `GET /dashboard/clusters/<id>/delete` asks for confirmation; `POST` there deletes through
//! the API's own delete.

use super::cluster::{own_cluster, parse_id, session_context};
use super::page::{render, see_other, PageError};
use super::sign_in::CsrfOnly;
use super::signed_in::SignedIn;
use super::views::ClusterRow;
use super::State;
use crate::api::clusters::delete::request_delete;
use crate::occi::MediaType;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

pub async fn confirm(
    path: web::Path<String>,
    signed_in: SignedIn,
    state: State,
) -> Result<HttpResponse, PageError> {
    let (_, record) = own_cluster(&path, &signed_in, &state)?;
    let mut context = session_context(&signed_in);
    context.insert("cluster", &ClusterRow::of(&record, chrono::Utc::now()));
    render(StatusCode::OK, "delete.html", &context)
}

pub async fn delete(
    path: web::Path<String>,
    signed_in: SignedIn,
    state: State,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    signed_in.check_csrf(Some(form.csrf()))?;
    let id = parse_id(&path)?;
    request_delete(
        &state,
        signed_in.session.tenant.clone(),
        vec![id],
        MediaType::TextPlain,
    )
    .await
    .map_err(|e| {
        if e.status == StatusCode::NOT_FOUND {
            PageError::not_found()
        } else {
            e.into()
        }
    })?;
    Ok(see_other("/dashboard/"))
}
