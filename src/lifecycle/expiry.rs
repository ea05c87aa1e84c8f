//! Lifetime: a cluster whose `icclab.disco.lifetime` ran out is deleted.

use super::{on_store, Next, Reconciler};
use crate::store::ClusterRecord;
use tracing::{info, warn};

/// Whether the cluster's lifetime has run out.
pub(super) fn expired(cluster: &ClusterRecord) -> bool {
    cluster
        .expires_at
        .is_some_and(|at| at <= chrono::Utc::now())
}

impl Reconciler {
    pub(super) async fn expire(&self, cluster: &ClusterRecord) -> Next {
        let lifetime = cluster
            .spec
            .lifetime
            .map(|l| l.to_string())
            .unwrap_or_default();
        let why = format!("lifetime of {lifetime} ran out: delete requested");
        let (tenant, id) = (cluster.tenant.clone(), cluster.id);
        match on_store(&self.store, move |s| s.request_delete(&tenant, &[id], &why)).await {
            Ok(_) => {
                info!(%lifetime, "lifetime ran out; deleting the cluster");
                Next::Soon
            }
            Err(e) => {
                warn!(error = %e, "cannot delete an expired cluster; will retry");
                Next::Retry
            }
        }
    }
}
