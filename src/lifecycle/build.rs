//! Building: provision the nodes, then follow the installers until the cluster is ready.

use super::{on_store, Next, Reconciler};
use crate::backend::{BackendError, Observation};
use crate::cluster::event::{EventKind, NewEvent};
use crate::cluster::{ClusterState, Operation, Progress};
use crate::plan::ClusterPlan;
use crate::store::{ClusterRecord, Observed};
use tracing::{info, warn};

impl Reconciler {
    pub(super) async fn build(&self, cluster: &ClusterRecord, plan: &ClusterPlan) -> Next {
        let age = chrono::Utc::now() - cluster.created_at;
        if age.to_std().unwrap_or_default() > self.settings.build_timeout {
            let reason = format!(
                "not ready after {} s (lifecycle.build_timeout_secs); last progress: {}",
                self.settings.build_timeout.as_secs(),
                cluster.progress.describe()
            );
            self.fail(cluster, Operation::Create, reason).await;
            return Next::Settled { up: false };
        }
        if cluster.state == ClusterState::Pending {
            // Provision, record `building`, and look at the nodes from the next step on.
            if let Some(next) = self.provision(cluster, plan).await {
                return next;
            }
            let mut observed = Observed::of(cluster);
            observed.state = ClusterState::Building;
            self.record(cluster, observed).await;
            return Next::Soon;
        }
        let id = cluster.id;
        let data = match on_store(&self.store, move |s| s.backend_data(id)).await {
            Ok(data) => data,
            Err(e) => {
                warn!(error = %e, "cannot read what the backend keeps for the cluster; will retry");
                return Next::Retry;
            }
        };
        let mut observed = Observed::of(cluster);
        observed.operation = Operation::Create;
        match self.backend.observe(plan, data.as_ref()).await {
            Ok(Observation::Building { progress }) => observed.progress = progress,
            Ok(Observation::Ready {
                progress,
                outputs,
                nodes,
            }) => {
                observed.state = ClusterState::Ready;
                observed.progress = progress;
                observed.outputs = outputs;
                observed.nodes = nodes;
            }
            Ok(Observation::Failed { progress, reason }) => {
                observed.state = ClusterState::Failed;
                observed.progress = progress;
                observed.reason = Some(reason);
            }
            Ok(Observation::Stalled { progress }) => {
                info!("work on the cluster stopped unfinished; continuing it");
                if let Some(next) = self.provision(cluster, plan).await {
                    return next;
                }
                observed.progress = progress;
            }
            Err(BackendError::Permanent(reason)) => {
                self.fail(cluster, Operation::Create, reason).await;
                return Next::Settled { up: false };
            }
            Err(e) => {
                warn!(error = %e, "cannot observe the cluster; will retry");
                return Next::Retry;
            }
        }
        observed.events = progress_events(&cluster.progress, &observed.progress);
        let state = observed.state;
        self.record(cluster, observed).await;
        match state {
            ClusterState::Building => Next::Soon,
            state => Next::Settled { up: state.is_up() },
        }
    }

    /// Provisions; `None` when it went through, else what to do next (a permanent error
    /// fails the cluster).
    async fn provision(&self, cluster: &ClusterRecord, plan: &ClusterPlan) -> Option<Next> {
        let inputs = self.inputs(cluster).await?;
        let _ = &inputs;
        match self.backend.provision(inputs.request(cluster, plan)).await {
            Ok(()) => None,
            Err(BackendError::Permanent(reason)) | Err(BackendError::Unsupported(reason)) => {
                self.fail(cluster, Operation::Create, reason).await;
                Some(Next::Settled { up: false })
            }
            Err(e) => {
                warn!(error = %e, "provisioning step failed; will retry");
                Some(Next::Retry)
            }
        }
    }
}

/// The steps of a build between two looks, as history: each framework a node started
/// installing, and each framework finished on every node.
fn progress_events(before: &Progress, after: &Progress) -> Vec<NewEvent> {
    let mut events = Vec::new();
    for entry in after
        .installing
        .iter()
        .filter(|e| !before.installing.contains(e))
    {
        match entry.split_once(" on ") {
            Some((framework, node)) => events
                .push(NewEvent::new(EventKind::Step, format!("installing {framework}")).on(node)),
            None => events.push(NewEvent::new(
                EventKind::Step,
                format!("installing {entry}"),
            )),
        }
    }
    for framework in after.done.iter().filter(|f| !before.done.contains(f)) {
        events.push(NewEvent::new(
            EventKind::Step,
            format!("{framework} installed on every node"),
        ));
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_build_step_becomes_an_event_once() {
        let before = Progress {
            frameworks: vec!["base".into(), "shell".into()],
            installing: vec!["base on master".into()],
            ..Progress::default()
        };
        let after = Progress {
            done: vec!["base".into()],
            installing: vec!["shell on slave-1".into()],
            ..before.clone()
        };
        let events = progress_events(&before, &after);
        assert_eq!(
            events,
            vec![
                NewEvent::new(EventKind::Step, "installing shell").on("slave-1"),
                NewEvent::new(EventKind::Step, "base installed on every node"),
            ]
        );
        assert!(progress_events(&after, &after).is_empty());
    }
}
