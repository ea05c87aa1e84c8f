//! Teardown: the backend releases everything, a step at a time; then the cluster is deleted.
//! A cluster is marked deleted only once its backend says nothing is left: while a step
//! fails, it stays `deleting` with the error as its reason (retried with backoff).

use super::{on_store, Next, Reconciler};
use crate::backend::Teardown;
use crate::cluster::ClusterState;
use crate::store::{ClusterRecord, Observed};
use tracing::{info, warn};

impl Reconciler {
    pub(super) async fn tear_down(&self, cluster: &ClusterRecord) -> Next {
        let id = cluster.id;
        let data = match on_store(&self.store, move |s| s.backend_data(id)).await {
            Ok(data) => data,
            Err(e) => {
                warn!(error = %e, "cannot read what the backend keeps for the cluster; will retry");
                return Next::Retry;
            }
        };
        match self.backend.destroy(id, data.as_ref()).await {
            Ok(Teardown::Gone) => match on_store(&self.store, move |s| s.mark_deleted(id)).await {
                Ok(()) => {
                    info!("cluster deleted: everything it had is released");
                    crate::lifecycle::lock(&self.plans).remove(&id);
                    Next::Settled { up: false }
                }
                Err(e) => {
                    warn!(error = %e, "cannot record the deletion; will retry");
                    Next::Retry
                }
            },
            Ok(Teardown::InProgress { remaining }) => {
                tracing::debug!(%remaining, "teardown in progress");
                // What is left, for the owner to see (e.g. a stack Heat failed to delete).
                let mut observed = Observed::of(cluster);
                observed.state = ClusterState::Deleting;
                observed.reason = Some(remaining);
                self.record(cluster, observed).await;
                Next::Soon
            }
            Err(e) => {
                warn!(error = %e, "teardown step failed; will retry");
                // The owner sees why the cluster is still there while disco retries.
                let mut observed = Observed::of(cluster);
                observed.state = ClusterState::Deleting;
                observed.reason = Some(format!("{e} (disco keeps trying)"));
                self.record(cluster, observed).await;
                Next::Retry
            }
        }
    }
}
