//! `GET /dashboard/feed`: the tenant's clusters as a live stream (server-sent events). Each
//! message is the whole list (state, progress, nodes, allowed actions), sent when anything
//! recorded changes it, so an open page follows without polling or reloading.

use super::list::tenant_clusters;
use super::signed_in::SignedIn;
use super::views::{action_states, ActionState, ClusterRow};
use super::State;
use crate::cluster::NodeInfo;
use crate::store::Store;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

/// A comment line keeps idle streams open through proxies.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// One cluster as the pages' script needs it.
#[derive(Debug, Serialize)]
pub struct FeedItem {
    #[serde(flatten)]
    pub row: ClusterRow,
    pub node_list: Vec<NodeInfo>,
    pub actions: Vec<ActionState>,
}

/// The tenant's clusters as one JSON array.
pub fn snapshot(store: &Store, tenant: &str) -> Result<String, crate::store::StoreError> {
    let now = chrono::Utc::now();
    let records = tenant_clusters(store, tenant)?;
    let items: Vec<FeedItem> = records
        .iter()
        .map(|record| FeedItem {
            row: ClusterRow::of(record, now),
            node_list: record.nodes.clone(),
            actions: action_states(record),
        })
        .collect();
    Ok(serde_json::to_string(&items).unwrap_or_else(|_| "[]".into()))
}

struct Cursor {
    store: Arc<Store>,
    tenant: String,
    newest: tokio::sync::watch::Receiver<i64>,
    last: String,
    first: bool,
}

pub async fn feed(signed_in: SignedIn, state: State) -> HttpResponse {
    let store = state.store.clone();
    let cursor = Cursor {
        newest: store.subscribe(),
        store,
        tenant: signed_in.session.tenant,
        last: String::new(),
        first: true,
    };
    let body = futures_util::stream::unfold(cursor, |mut cursor| async move {
        loop {
            if !cursor.first {
                tokio::select! {
                    changed = cursor.newest.changed() => {
                        if changed.is_err() {
                            return None;
                        }
                    }
                    _ = tokio::time::sleep(KEEPALIVE) => {
                        return Some((
                            Ok::<_, std::convert::Infallible>(web::Bytes::from_static(b": keep-alive\n\n")),
                            cursor,
                        ));
                    }
                }
            }
            cursor.first = false;
            cursor.newest.borrow_and_update();
            let (store, tenant) = (cursor.store.clone(), cursor.tenant.clone());
            let read = tokio::task::spawn_blocking(move || snapshot(&store, &tenant)).await;
            let json = match read {
                Ok(Ok(json)) => json,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "dashboard feed stopped");
                    return None;
                }
                Err(_) => return None,
            };
            if json != cursor.last {
                let chunk = format!("event: clusters\ndata: {json}\n\n");
                cursor.last = json;
                return Some((Ok(web::Bytes::from(chunk)), cursor));
            }
        }
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body)
}
