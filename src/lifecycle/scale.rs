//! Scaling: the backend adds or removes slaves until the cluster has as many as its spec says.

use super::{Next, Reconciler};
use crate::backend::BackendError;
use crate::cluster::{ClusterState, Operation};
use crate::plan::ClusterPlan;
use crate::store::ClusterRecord;

impl Reconciler {
    pub(super) async fn scale(&self, cluster: &ClusterRecord, plan: &ClusterPlan) -> Next {
        let Some(scaling) = self.backend.scaling() else {
            let reason = "this backend cannot scale clusters".to_string();
            self.fail(cluster, Operation::Update, reason).await;
            return Next::Settled { up: false };
        };
        let Some(inputs) = self.inputs(cluster).await else {
            return Next::Retry;
        };
        let target = plan.with_slaves(cluster.spec.slave_count);
        let result = scaling.scale(inputs.request(cluster, &target)).await;
        self.transition(cluster, result, ClusterState::Ready).await
    }
}

/// Why a step cannot run: the backend lacks the capability.
pub(super) fn unsupported(what: &str) -> BackendError {
    BackendError::Permanent(format!("this backend cannot {what} clusters"))
}
