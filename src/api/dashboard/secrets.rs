//! `GET /dashboard/clusters/<id>/secrets`: the secrets disco generated for the cluster's
//! frameworks (an admin password, say), on a page of their own so no other page carries
//! them. The owner only, once the cluster is built.

use super::cluster::{own_cluster, session_context};
use super::page::{render, PageError};
use super::signed_in::SignedIn;
use super::views::ClusterRow;
use super::State;
use crate::api::clusters::is_built;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;

#[derive(Debug, Serialize)]
struct Shown {
    attribute: String,
    value: String,
}

pub async fn reveal(
    path: web::Path<String>,
    signed_in: SignedIn,
    state: State,
) -> Result<HttpResponse, PageError> {
    let (id, record) = own_cluster(&path, &signed_in, &state)?;
    let secrets: Vec<Shown> = if is_built(&record) {
        let (_, generated) = state.store.owner_secrets(id)?;
        generated
            .into_iter()
            .map(|(slot, value)| Shown {
                attribute: slot.attribute,
                value,
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut context = session_context(&signed_in);
    context.insert("cluster", &ClusterRow::of(&record, chrono::Utc::now()));
    context.insert("built", &is_built(&record));
    context.insert("secrets", &secrets);
    render(StatusCode::OK, "secrets.html", &context)
}
