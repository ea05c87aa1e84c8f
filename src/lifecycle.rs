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
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
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
                                this.reconcile(cluster).await;
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
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.settings.tick) => {}
            }
        }
    }

    async fn reconcile(&self, cluster: ClusterRecord) {
        match cluster.desired {
            Desired::Deleted => self.tear_down(&cluster).await,
            Desired::Running => self.build(&cluster).await,
        }
    }

    async fn tear_down(&self, cluster: &ClusterRecord) {
        let id = cluster.id;
        match self.backend.destroy(id).await {
            Ok(Teardown::Gone) => match on_store(&self.store, move |s| s.mark_deleted(id)).await {
                Ok(()) => info!("cluster deleted: every process, address and file released"),
                Err(e) => warn!(error = %e, "cannot record the deletion; will retry"),
            },
            Ok(Teardown::InProgress { remaining }) => {
                tracing::debug!(%remaining, "teardown in progress")
            }
            Err(e) => warn!(error = %e, "teardown step failed; will retry"),
        }
    }

    async fn build(&self, cluster: &ClusterRecord) {
        let plan = match ClusterPlan::build(cluster.id, &cluster.spec, &self.catalog) {
            Ok(plan) => plan,
            Err(e) => {
                // The catalog changed since the request was accepted.
                let reason = format!("the request no longer matches the framework catalog: {e}");
                self.fail(cluster, reason).await;
                return;
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
            return;
        }
        // What the store holds once this step has recorded `building`, so that the
        // observation below is compared with it rather than with the stale `pending`.
        let mut current = cluster.clone();
        if cluster.state == ClusterState::Pending {
            if !self.provision(cluster, &plan).await {
                return;
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
        match self.backend.observe(&plan).await {
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
                if self.provision(cluster, &plan).await {
                    self.record(cluster, ClusterState::Building, None, progress, None)
                        .await;
                }
            }
            Err(e) => warn!(error = %e, "cannot observe the cluster; will retry"),
        }
    }

    /// Provisions; a permanent error fails the cluster. Returns whether it succeeded.
    async fn provision(&self, cluster: &ClusterRecord, plan: &ClusterPlan) -> bool {
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
            secrets: &secrets,
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

    /// Stores an observation if it changes anything and the user has not asked for deletion
    /// meanwhile.
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
        let observed = Observed {
            state,
            reason,
            progress,
            outputs,
        };
        if let Err(e) = on_store(&self.store, move |s| {
            s.record(id, Desired::Running, &observed)
        })
        .await
        {
            warn!(error = %e, "cannot record the cluster's state; will retry");
        }
    }
}
