//! `GET /dashboard/clusters/<id>/key`: the cluster's private key as a file, for its owner
//! once the cluster is built (`chmod 600` it before `ssh -i`).

use super::cluster::own_cluster;
use super::page::PageError;
use super::signed_in::SignedIn;
use super::State;
use crate::api::clusters::is_built;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

/// The download's file name: `cluster-<first 8 hex digits of the id>.key`.
pub fn key_file_name(id: uuid::Uuid) -> String {
    format!("cluster-{}.key", &id.simple().to_string()[..8])
}

pub async fn download(
    path: web::Path<String>,
    signed_in: SignedIn,
    state: State,
) -> Result<HttpResponse, PageError> {
    let (id, record) = own_cluster(&path, &signed_in, &state)?;
    if !is_built(&record) {
        return Err(PageError::new(
            StatusCode::CONFLICT,
            format!(
                "The key can be downloaded once the cluster is built; it is {} now.",
                record.state.as_str()
            ),
        ));
    }
    let (private_key, _) = state.store.owner_secrets(id)?;
    if private_key.is_empty() {
        return Err(PageError::new(
            StatusCode::NOT_FOUND,
            "This cluster uses the public key you gave when you created it; disco never had \
             its private half.",
        ));
    }
    tracing::info!(cluster_id = %id, "private key downloaded from the dashboard");
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{}\"", key_file_name(id)),
        ))
        .insert_header(("Cache-Control", "no-store"))
        .body(private_key))
}
