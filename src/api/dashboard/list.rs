//! `GET /dashboard/`: the tenant's clusters, newest last, with state, progress, nodes, age
//! and lifetime.

use super::page::{render, PageError};
use super::signed_in::SignedIn;
use super::views::ClusterRow;
use super::State;
use crate::store::{ClusterRecord, Store, StoreError};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use std::sync::Arc;

/// The tenant's clusters that are not deleted, oldest first.
pub fn tenant_clusters(store: &Store, tenant: &str) -> Result<Vec<ClusterRecord>, StoreError> {
    let mut records = Vec::new();
    for id in store.list(tenant)? {
        if let Some(record) = store.get(tenant, id)? {
            records.push(record);
        }
    }
    Ok(records)
}

/// The list page's context: the rows and the session's user and CSRF token.
pub fn list_context(signed_in: &SignedIn, records: &[ClusterRecord]) -> tera::Context {
    let now = chrono::Utc::now();
    let rows: Vec<ClusterRow> = records.iter().map(|r| ClusterRow::of(r, now)).collect();
    let mut context = super::cluster::session_context(signed_in);
    context.insert("clusters", &rows);
    context
}

pub async fn list(signed_in: SignedIn, state: State) -> Result<HttpResponse, PageError> {
    let store: Arc<Store> = state.store.clone();
    let tenant = signed_in.session.tenant.clone();
    let records = web::block(move || tenant_clusters(&store, &tenant)).await??;
    render(
        StatusCode::OK,
        "list.html",
        &list_context(&signed_in, &records),
    )
}
