//! Suspend and resume: every process stops, files, addresses and keys stay; then back to ready.

use super::scale::unsupported;
use super::{Next, Reconciler};
use crate::cluster::ClusterState;
use crate::plan::ClusterPlan;
use crate::store::ClusterRecord;

impl Reconciler {
    pub(super) async fn suspend(&self, cluster: &ClusterRecord, plan: &ClusterPlan) -> Next {
        let Some(inputs) = self.inputs(cluster).await else {
            return Next::Retry;
        };
        let plan = plan.with_slaves(cluster.built_slaves());
        let result = match self.backend.power() {
            Some(power) => power.suspend(inputs.request(cluster, &plan)).await,
            None => Err(unsupported("suspend")),
        };
        self.transition(cluster, result, ClusterState::Suspended)
            .await
    }

    pub(super) async fn resume(&self, cluster: &ClusterRecord, plan: &ClusterPlan) -> Next {
        let Some(inputs) = self.inputs(cluster).await else {
            return Next::Retry;
        };
        let plan = plan.with_slaves(cluster.built_slaves());
        let result = match self.backend.power() {
            Some(power) => power.resume(inputs.request(cluster, &plan)).await,
            None => Err(unsupported("resume")),
        };
        self.transition(cluster, result, ClusterState::Ready).await
    }
}
