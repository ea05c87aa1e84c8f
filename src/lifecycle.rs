//! The reconciler: moves every stored cluster toward its desired state, one idempotent step
//! at a time (kube-rs controller style, with SQLite instead of the Kubernetes API).
//!
//! HTTP handlers only write desired state and wake the reconciler. Because every step is
//! idempotent and every observation is stored, `kill -9` at any moment followed by a restart
//! simply continues where the store says the cluster is.

use crate::backend::{Backend, BackendError, Observation, ProvisionRequest, Teardown};
use crate::cluster::{ClusterState, Desired, Progress};
use crate::frameworks::Catalog;
use crate::plan::ClusterPlan;
use crate::store::{ClusterRecord, Observed, Store, StoreError};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tracing::{info, warn, Instrument};

/// Settings of the reconciler loop.
#[derive(Debug, Clone, Copy)]
pub struct ReconcilerSettings {
    pub tick: Duration,
    pub build_timeout: Duration,
}

#[derive(Clone)]
pub struct Reconciler {
    store: Arc<Store>,
    backend: Arc<dyn Backend>,
    catalog: Arc<Catalog>,
    wake: Arc<Notify>,
    settings: ReconcilerSettings,
    in_flight: Arc<Mutex<HashSet<uuid::Uuid>>>,
    /// Clusters whose last step failed: when to try again, and how many failures in a row.
    retry: Arc<Mutex<HashMap<uuid::Uuid, (Instant, u32)>>>,
}

/// Whether a step got through or must be tried again later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Done,
    Retry,
}

/// Pause after `failures` failed steps in a row: 0.5 s doubling up to a minute.
fn backoff(failures: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << failures.min(7))).min(Duration::from_secs(60))
}

async fn on_store<T: Send + 'static>(
    store: &Arc<Store>,
    f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .map_err(|e| StoreError::Setup(format!("store task failed: {e}")))?
}

impl Reconciler {
    pub fn new(
        store: Arc<Store>,
        backend: Arc<dyn Backend>,
        catalog: Arc<Catalog>,
        settings: ReconcilerSettings,
    ) -> Reconciler {
        Reconciler {
            store,
            backend,
            catalog,
            wake: Arc::new(Notify::new()),
            settings,
            in_flight: Arc::new(Mutex::new(HashSet::new())),
            retry: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Handlers call `notify_one` on this after writing desired state.
    pub fn waker(&self) -> Arc<Notify> {
        Arc::clone(&self.wake)
    }

    /// Runs forever: each tick (or wake-up) starts a step for every unsettled cluster that has
    /// no step running.
    pub async fn run(self) {
        loop {
            match on_store(&self.store, |s| s.unsettled()).await {
                Ok(clusters) => {
                    for cluster in clusters {
                        let id = cluster.id;
                        let waiting = self
                            .retry
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .get(&id)
                            .is_some_and(|(at, _)| Instant::now() < *at);
                        if waiting {
                            continue;
                        }
                        let fresh = self
                            .in_flight
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .insert(id);
                        if !fresh {
                            continue;
                        }
                        let this = self.clone();
                        let span = tracing::info_span!("cluster", cluster_id = %id);
                        tokio::spawn(
                            async move {
                                let step = this.reconcile(cluster).await;
                                let mut retry =
                                    this.retry.lock().unwrap_or_else(|p| p.into_inner());
                                match step {
                                    Step::Done => {
                                        retry.remove(&id);
                                    }
                                    Step::Retry => {
                                        let failures = retry.get(&id).map_or(0, |r| r.1) + 1;
                                        retry.insert(
                                            id,
                                            (Instant::now() + backoff(failures), failures),
                                        );
                                    }
                                }
                                drop(retry);
                                this.in_flight
                                    .lock()
                                    .unwrap_or_else(|p| p.into_inner())
                                    .remove(&id);
                            }
                            .instrument(span),
                        );
                    }
                }
                Err(e) => warn!(error = %e, "cannot read clusters to reconcile"),
            }
            tokio::select! {
                _ = self.wake.notified() => {
                    // Someone changed what they want: act now, not after a failure's pause.
                    self.retry.lock().unwrap_or_else(|p| p.into_inner()).clear();
                }
                _ = tokio::time::sleep(self.settings.tick) => {}
            }
        }
    }

    async fn reconcile(&self, cluster: ClusterRecord) -> Step {
        match cluster.desired {
            Desired::Deleted => self.tear_down(&cluster).await,
            Desired::Running => self.build(&cluster).await,
        }
    }

    async fn tear_down(&self, cluster: &ClusterRecord) -> Step {
        let id = cluster.id;
        let data = match on_store(&self.store, move |s| s.backend_data(id)).await {
            Ok(data) => data,
            Err(e) => {
                warn!(error = %e, "cannot read what the backend keeps for the cluster; will retry");
                return Step::Retry;
            }
        };
        match self.backend.destroy(id, data.as_ref()).await {
            Ok(Teardown::Gone) => match on_store(&self.store, move |s| s.mark_deleted(id)).await {
                Ok(()) => {
                    info!("cluster deleted: everything it had is released");
                    Step::Done
                }
                Err(e) => {
                    warn!(error = %e, "cannot record the deletion; will retry");
                    Step::Retry
                }
            },
            Ok(Teardown::InProgress { remaining }) => {
                tracing::debug!(%remaining, "teardown in progress");
                // What is left, for the owner to see (e.g. a stack Heat failed to delete).
                self.record(
                    cluster,
                    ClusterState::Deleting,
                    Some(remaining),
                    cluster.progress.clone(),
                    None,
                )
                .await;
                Step::Done
            }
            Err(e) => {
                warn!(error = %e, "teardown step failed; will retry");
                Step::Retry
            }
        }
    }

    async fn build(&self, cluster: &ClusterRecord) -> Step {
        let plan = match ClusterPlan::build(cluster.id, &cluster.spec, &self.catalog) {
            Ok(plan) => plan,
            Err(e) => {
                // The catalog changed since the request was accepted.
                let reason = format!("the request no longer matches the framework catalog: {e}");
                self.fail(cluster, reason).await;
                return Step::Done;
            }
        };
        let id = cluster.id;
        let data = match on_store(&self.store, move |s| s.backend_data(id)).await {
            Ok(data) => data,
            Err(e) => {
                warn!(error = %e, "cannot read what the backend keeps for the cluster; will retry");
                return Step::Retry;
            }
        };
        let age = chrono::Utc::now() - cluster.created_at;
        if age.to_std().unwrap_or_default() > self.settings.build_timeout {
            let reason = format!(
                "not ready after {} s (lifecycle.build_timeout_secs); last progress: {}",
                self.settings.build_timeout.as_secs(),
                cluster.progress.describe()
            );
            self.fail(cluster, reason).await;
            return Step::Done;
        }
        // What the store holds once this step has recorded `building`, so that the
        // observation below is compared with it rather than with the stale `pending`.
        let mut current = cluster.clone();
        if cluster.state == ClusterState::Pending {
            if !self.provision(cluster, &plan, data.as_ref()).await {
                return Step::Retry;
            }
            current.progress = Progress {
                frameworks: plan.frameworks.clone(),
                ..Progress::default()
            };
            self.record(
                cluster,
                ClusterState::Building,
                None,
                current.progress.clone(),
                None,
            )
            .await;
            current.state = ClusterState::Building;
        }
        let cluster = &current;
        match self.backend.observe(&plan, data.as_ref()).await {
            Ok(Observation::Building { progress }) => {
                self.record(cluster, ClusterState::Building, None, progress, None)
                    .await
            }
            Ok(Observation::Ready { progress, outputs }) => {
                self.record(cluster, ClusterState::Ready, None, progress, Some(outputs))
                    .await
            }
            Ok(Observation::Failed { progress, reason }) => {
                self.record(cluster, ClusterState::Failed, Some(reason), progress, None)
                    .await
            }
            Ok(Observation::Stalled { progress }) => {
                if cluster.state == ClusterState::Building {
                    info!("work on the cluster stopped unfinished; continuing it");
                }
                if !self.provision(cluster, &plan, data.as_ref()).await {
                    return Step::Retry;
                }
                self.record(cluster, ClusterState::Building, None, progress, None)
                    .await;
            }
            Err(BackendError::Permanent(reason)) => self.fail(cluster, reason).await,
            Err(e) => {
                warn!(error = %e, "cannot observe the cluster; will retry");
                return Step::Retry;
            }
        }
        Step::Done
    }

    /// Provisions; a permanent error fails the cluster. Returns whether it succeeded.
    async fn provision(
        &self,
        cluster: &ClusterRecord,
        plan: &ClusterPlan,
        data: Option<&serde_json::Value>,
    ) -> bool {
        let id = cluster.id;
        let secrets = match on_store(&self.store, move |s| s.generated_secrets(id)).await {
            Ok(secrets) => secrets
                .into_iter()
                .map(|(slot, value)| (slot.env, value))
                .collect::<Vec<_>>(),
            Err(e) => {
                warn!(error = %e, "cannot read the cluster's generated secrets; will retry");
                return false;
            }
        };
        let request = ProvisionRequest {
            plan,
            ssh_public_key: &cluster.ssh_public_key,
            ssh_key_name: &cluster.ssh_key_name,
            secrets: &secrets,
            data,
        };
        match self.backend.provision(request).await {
            Ok(()) => true,
            Err(BackendError::Permanent(reason)) | Err(BackendError::Unsupported(reason)) => {
                self.fail(cluster, reason).await;
                false
            }
            Err(e) => {
                warn!(error = %e, "provisioning step failed; will retry");
                false
            }
        }
    }

    /// Fails the cluster with `reason`, keeping its last progress.
    async fn fail(&self, cluster: &ClusterRecord, reason: String) {
        self.record(
            cluster,
            ClusterState::Failed,
            Some(reason),
            cluster.progress.clone(),
            None,
        )
        .await;
    }

    /// Stores an observation if it changes anything and the user has not changed what they
    /// want meanwhile (a build's observation is dropped once deletion was asked for).
    async fn record(
        &self,
        cluster: &ClusterRecord,
        state: ClusterState,
        reason: Option<String>,
        progress: Progress,
        outputs: Option<crate::cluster::Outputs>,
    ) {
        let outputs = outputs.unwrap_or_else(|| cluster.outputs.clone());
        if cluster.state == state
            && cluster.reason == reason
            && cluster.progress == progress
            && cluster.outputs == outputs
        {
            return;
        }
        if cluster.state != state {
            match &reason {
                Some(reason) => {
                    info!(from = cluster.state.as_str(), to = state.as_str(), %reason, "state changed")
                }
                None => info!(
                    from = cluster.state.as_str(),
                    to = state.as_str(),
                    "state changed"
                ),
            }
        }
        let id = cluster.id;
        let desired = cluster.desired;
        let observed = Observed {
            state,
            reason,
            progress,
            outputs,
        };
        if let Err(e) = on_store(&self.store, move |s| s.record(id, desired, &observed)).await {
            warn!(error = %e, "cannot record the cluster's state; will retry");
        }
    }
}
