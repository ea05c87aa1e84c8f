//! Health looks at ready clusters: a problem makes the cluster `degraded` with a reason naming
//! the node and the service; when it is gone, the cluster is `ready` again. (No repair.)

use super::{on_store, Next, Reconciler};
use crate::backend::Health;
use crate::cluster::event::{EventKind, NewEvent};
use crate::cluster::ClusterState;
use crate::plan::ClusterPlan;
use crate::store::{ClusterRecord, Observed};
use tracing::warn;

impl Reconciler {
    pub(super) async fn look_at_health(&self, cluster: &ClusterRecord, plan: &ClusterPlan) -> Next {
        let Some(check) = self.backend.health() else {
            return Next::Settled { up: false };
        };
        let id = cluster.id;
        let data = match on_store(&self.store, move |s| s.backend_data(id)).await {
            Ok(data) => data,
            Err(e) => {
                warn!(error = %e, "cannot read what the backend keeps for the cluster");
                return Next::Settled { up: true };
            }
        };
        let plan = plan.with_slaves(cluster.built_slaves());
        let health = match check.check_health(&plan, data.as_ref()).await {
            Ok(health) => health,
            Err(e) => {
                // Not knowing is not a finding: look again at the next interval.
                warn!(error = %e, "health look failed");
                return Next::Settled { up: true };
            }
        };
        let mut observed = Observed::of(cluster);
        match (&health, cluster.state) {
            (Health::Unhealthy { node, .. }, _) => {
                let problem = health.describe();
                observed.state = ClusterState::Degraded;
                if cluster.reason.as_deref() != Some(problem.as_str()) {
                    let mut event = NewEvent::new(EventKind::Health, problem.clone());
                    event.node = node.clone();
                    observed.events.push(event);
                }
                observed.reason = Some(problem);
            }
            (Health::Healthy, ClusterState::Degraded) => {
                observed.state = ClusterState::Ready;
                observed.reason = None;
                observed.events.push(NewEvent::new(
                    EventKind::Health,
                    "every service answers again",
                ));
            }
            (Health::Healthy, _) => {}
        }
        self.record(cluster, observed).await;
        Next::Settled { up: true }
    }
}
