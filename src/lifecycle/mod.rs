//! The reconciler: moves every stored cluster toward its spec, one idempotent step at a time
//! (kube-rs controller style, with SQLite instead of the Kubernetes API).
//!
//! HTTP handlers only change the spec (its generation grows), mark the cluster due and wake
//! the reconciler. Each step looks at one cluster and takes one step: build, scale, suspend,
//! resume, a health look, expiry or teardown. Because every step is idempotent and every
//! observation and failure is stored, `kill -9` at any moment followed by a restart simply
//! continues where the store says the cluster is.
//!
//! Work per tick grows with what is due: changing clusters, failed steps whose pause is over,
//! expiries (all from one index of the store), and health looks (an in-memory schedule).

mod build;
mod expiry;
mod health;
mod power;
mod scale;
mod teardown;

use crate::backend::{Backend, BackendError, ProvisionRequest, Transition};
use crate::cluster::{ClusterState, Operation, Power};
use crate::frameworks::Catalog;
use crate::plan::ClusterPlan;
use crate::store::{now_ms, ClusterRecord, Observed, Store, StoreError};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tracing::{info, warn, Instrument};
use uuid::Uuid;

/// Settings of the reconciler loop.
#[derive(Debug, Clone, Copy)]
pub struct ReconcilerSettings {
    /// How often changing clusters are looked at.
    pub tick: Duration,
    pub build_timeout: Duration,
    /// Pause between health looks at a ready cluster.
    pub health_interval: Duration,
    /// Health looks started per second at most, over all clusters.
    pub health_looks_per_sec: u32,
    /// How long a deleted cluster's history stays readable.
    pub keep_deleted: Duration,
}

/// Steps running at once at most: a thousand clusters created together are built in waves
/// rather than all asking the cloud at the same moment.
const MAX_STEPS: usize = 512;

/// What to do after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// The cluster is changing: look again after a tick.
    Soon,
    /// Settled (the store knows when it is next due); `up` clusters get health looks.
    Settled { up: bool },
    /// The step failed: try again after a pause that grows with failures in a row.
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

/// The operation a settled cluster needs to match its spec, if any: the state to move to.
fn pending_operation(cluster: &ClusterRecord) -> Option<(ClusterState, Operation)> {
    use ClusterState as S;
    let spec = &cluster.spec;
    let asked_again = cluster.generation > cluster.observed_generation;
    match cluster.state {
        S::Ready | S::Degraded => {
            if spec.power == Power::Suspended {
                Some((S::Suspending, Operation::Suspend))
            } else if spec.slave_count != cluster.built_slaves() {
                Some((S::Scaling, Operation::Update))
            } else {
                None
            }
        }
        S::Suspended if spec.power == Power::Running => Some((S::Resuming, Operation::Resume)),
        // Asked again after a failure: the operation is tried again (a failed scale may have
        // left a half-built slave even when the count now matches the members).
        S::Failed if asked_again && cluster.operation != Operation::Create => {
            match (spec.power, cluster.operation) {
                (Power::Suspended, _) => Some((S::Suspending, Operation::Suspend)),
                (Power::Running, Operation::Suspend | Operation::Resume) => {
                    Some((S::Resuming, Operation::Resume))
                }
                _ => Some((S::Scaling, Operation::Update)),
            }
        }
        _ => None,
    }
}

/// When each up cluster is next due for a health look: no sooner than asked, and at most
/// one look per `spacing` over all clusters, so that many clusters mean rarer looks, not more
/// calls to the cloud.
struct HealthSchedule {
    due: BinaryHeap<Reverse<(Instant, Uuid)>>,
    spacing: Duration,
    /// The earliest time the next look may be scheduled at.
    next_slot: Option<Instant>,
}

impl HealthSchedule {
    fn new(looks_per_sec: u32) -> HealthSchedule {
        HealthSchedule {
            due: BinaryHeap::new(),
            spacing: Duration::from_secs(1) / looks_per_sec.max(1),
            next_slot: None,
        }
    }

    fn push(&mut self, at: Instant, id: Uuid) {
        let at = self.next_slot.map_or(at, |slot| at.max(slot));
        self.next_slot = Some(at + self.spacing);
        self.due.push(Reverse((at, id)));
    }

    fn pop_due(&mut self, now: Instant) -> Vec<Uuid> {
        let mut ids = Vec::new();
        while let Some(Reverse((at, id))) = self.due.peek().copied() {
            if at > now {
                break;
            }
            self.due.pop();
            ids.push(id);
        }
        ids
    }
}

#[derive(Clone)]
pub struct Reconciler {
    store: Arc<Store>,
    backend: Arc<dyn Backend>,
    catalog: Arc<Catalog>,
    wake: Arc<Notify>,
    settings: ReconcilerSettings,
    in_flight: Arc<Mutex<HashSet<Uuid>>>,
    /// Clusters whose last step asked to be looked at again only after a while.
    not_before: Arc<Mutex<HashMap<Uuid, (Instant, i64)>>>,
    health: Arc<Mutex<HealthSchedule>>,
    /// Plans frozen at admission, read once per cluster.
    plans: Arc<Mutex<HashMap<Uuid, Arc<ClusterPlan>>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
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
            not_before: Arc::new(Mutex::new(HashMap::new())),
            health: Arc::new(Mutex::new(HealthSchedule::new(
                settings.health_looks_per_sec,
            ))),
            plans: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Handlers call `notify_one` on this after changing a cluster.
    pub fn waker(&self) -> Arc<Notify> {
        Arc::clone(&self.wake)
    }

    /// Runs forever: each tick (or wake-up) starts a step for every due cluster that has no
    /// step running.
    pub async fn run(self) {
        self.schedule_health_of_up_clusters().await;
        let mut last_purge: Option<Instant> = None;
        loop {
            if last_purge.is_none_or(|at| at.elapsed() > Duration::from_secs(60)) {
                last_purge = Some(Instant::now());
                self.purge().await;
            }
            if let Err(e) = on_store(&self.store, |s| s.notice_outside_writes()).await {
                warn!(error = %e, "cannot tell whether another process changed the store");
            }
            self.start_due().await;
            let due = lock(&self.health).pop_due(Instant::now());
            for id in due {
                match on_store(&self.store, move |s| s.get_any(id)).await {
                    Ok(Some(cluster)) if cluster.state.is_up() => self.start(cluster, true),
                    Ok(_) => {}
                    Err(e) => {
                        warn!(cluster_id = %id, error = %e, "cannot read a cluster for its health look")
                    }
                }
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.settings.tick) => {}
            }
        }
    }

    /// Starts a step for every due cluster that has none running and is not pausing: the
    /// store's index says which are due, and only those are read whole.
    async fn start_due(&self) {
        let due = match on_store(&self.store, |s| s.due_ids(now_ms())).await {
            Ok(due) => due,
            Err(e) => {
                warn!(error = %e, "cannot read clusters to reconcile");
                return;
            }
        };
        let now = Instant::now();
        let ids: Vec<Uuid> = {
            let not_before = lock(&self.not_before);
            let in_flight = lock(&self.in_flight);
            let room = MAX_STEPS.saturating_sub(in_flight.len());
            due.into_iter()
                .filter(|(id, generation)| {
                    // A pause ends early when the spec changed since the step that asked for it.
                    let pausing = not_before
                        .get(id)
                        .is_some_and(|(at, seen)| now < *at && seen == generation);
                    !pausing && !in_flight.contains(id)
                })
                .map(|(id, _)| id)
                .take(room)
                .collect()
        };
        if ids.is_empty() {
            return;
        }
        let read = on_store(&self.store, move |s| {
            ids.into_iter()
                .filter_map(|id| s.get_any(id).transpose())
                .collect::<Result<Vec<_>, _>>()
        })
        .await;
        match read {
            Ok(clusters) => clusters
                .into_iter()
                .filter(|c| c.state != ClusterState::Deleted)
                .for_each(|cluster| self.start(cluster, false)),
            Err(e) => warn!(error = %e, "cannot read clusters to reconcile"),
        }
    }

    /// Spreads the first health looks of the clusters that are up over one interval.
    async fn schedule_health_of_up_clusters(&self) {
        match on_store(&self.store, |s| s.up()).await {
            Ok(ids) => {
                let count = ids.len().max(1) as u32;
                let now = Instant::now();
                let mut health = lock(&self.health);
                for (i, id) in ids.into_iter().enumerate() {
                    health.push(now + self.settings.health_interval * i as u32 / count, id);
                }
            }
            Err(e) => warn!(error = %e, "cannot read the clusters that are up"),
        }
    }

    async fn purge(&self) {
        let keep = chrono::Duration::from_std(self.settings.keep_deleted)
            .unwrap_or(chrono::Duration::days(1));
        let cutoff = chrono::Utc::now() - keep;
        match on_store(&self.store, move |s| s.purge(cutoff)).await {
            Ok(0) => {}
            Ok(n) => info!(
                clusters = n,
                "forgot deleted clusters whose history expired"
            ),
            Err(e) => warn!(error = %e, "cannot forget old deleted clusters"),
        }
    }

    /// Starts a step for `cluster` unless one is running.
    fn start(&self, cluster: ClusterRecord, health_due: bool) {
        let id = cluster.id;
        if !lock(&self.in_flight).insert(id) {
            return;
        }
        let this = self.clone();
        let span = tracing::info_span!("cluster", cluster_id = %id);
        tokio::spawn(
            async move {
                let generation = cluster.generation;
                let failures = cluster.failures;
                let next = this.reconcile(cluster, health_due).await;
                this.after(id, generation, failures, next).await;
                lock(&this.in_flight).remove(&id);
            }
            .instrument(span),
        );
    }

    /// Schedules the cluster's next look after a step.
    async fn after(&self, id: Uuid, generation: i64, failures: u32, next: Next) {
        match next {
            Next::Retry => {
                let failures = failures.saturating_add(1);
                let pause = backoff(failures);
                let at = now_ms() + pause.as_millis() as i64;
                lock(&self.not_before).remove(&id);
                if let Err(e) = on_store(&self.store, move |s| {
                    s.record_failure(id, generation, failures, at)
                })
                .await
                {
                    warn!(error = %e, "cannot record a failed step");
                    lock(&self.not_before).insert(id, (Instant::now() + pause, generation));
                }
                return;
            }
            Next::Soon => {
                let pause = self.settings.tick.max(self.backend.look_interval());
                lock(&self.not_before).insert(id, (Instant::now() + pause, generation));
            }
            Next::Settled { up } => {
                lock(&self.not_before).remove(&id);
                // A settled cluster's plan is read again when it next changes or is looked at:
                // the memory kept grows with the clusters that are changing only.
                lock(&self.plans).remove(&id);
                if up {
                    lock(&self.health).push(Instant::now() + self.settings.health_interval, id);
                }
            }
        }
        if failures > 0 {
            if let Err(e) = on_store(&self.store, move |s| s.clear_failures(id)).await {
                warn!(error = %e, "cannot clear the record of failed steps");
            }
        }
    }

    /// One step toward the cluster's spec.
    async fn reconcile(&self, cluster: ClusterRecord, health_due: bool) -> Next {
        if cluster.desired == crate::cluster::Desired::Deleted {
            return self.tear_down(&cluster).await;
        }
        if expiry::expired(&cluster) {
            return self.expire(&cluster).await;
        }
        let plan = match self.plan(&cluster).await {
            Ok(plan) => plan,
            Err(next) => return next,
        };
        use ClusterState as S;
        match cluster.state {
            S::Pending | S::Building => self.build(&cluster, &plan).await,
            S::Scaling => self.scale(&cluster, &plan).await,
            S::Suspending => self.suspend(&cluster, &plan).await,
            S::Resuming => self.resume(&cluster, &plan).await,
            S::Deleting | S::Deleted => Next::Settled { up: false },
            S::Ready | S::Degraded | S::Suspended | S::Failed => {
                if let Some((state, operation)) = pending_operation(&cluster) {
                    return self.begin(&cluster, state, operation).await;
                }
                if cluster.generation != cluster.observed_generation {
                    // A change that needs no work (title, lifetime): the status reflects it.
                    self.record(&cluster, Observed::of(&cluster)).await;
                }
                if health_due && cluster.state.is_up() {
                    return self.look_at_health(&cluster, &plan).await;
                }
                Next::Settled {
                    up: cluster.state.is_up() && !health_due,
                }
            }
        }
    }

    /// The cluster's frozen plan; clusters from before plans were kept get one now.
    async fn plan(&self, cluster: &ClusterRecord) -> Result<Arc<ClusterPlan>, Next> {
        if let Some(plan) = lock(&self.plans).get(&cluster.id) {
            return Ok(Arc::clone(plan));
        }
        let id = cluster.id;
        let stored = match on_store(&self.store, move |s| s.plan(id)).await {
            Ok(stored) => stored,
            Err(e) => {
                warn!(error = %e, "cannot read the cluster's plan; will retry");
                return Err(Next::Retry);
            }
        };
        let plan = match stored {
            Some(plan) => plan,
            None => match ClusterPlan::build(id, &cluster.spec, &self.catalog) {
                Ok(plan) => {
                    let kept = plan.clone();
                    if let Err(e) = on_store(&self.store, move |s| s.keep_plan(id, &kept)).await {
                        warn!(error = %e, "cannot keep the cluster's plan");
                    }
                    plan
                }
                Err(e) => {
                    let reason =
                        format!("the request no longer matches the framework catalog: {e}");
                    self.fail(cluster, cluster.operation, reason).await;
                    return Err(Next::Settled { up: false });
                }
            },
        };
        let plan = Arc::new(plan);
        lock(&self.plans).insert(id, Arc::clone(&plan));
        Ok(plan)
    }

    /// Moves a settled cluster into the state of the operation it needs.
    async fn begin(
        &self,
        cluster: &ClusterRecord,
        state: ClusterState,
        operation: Operation,
    ) -> Next {
        let activity = match operation {
            Operation::Update => format!(
                "scaling from {} to {} slaves",
                cluster.built_slaves(),
                cluster.spec.slave_count
            ),
            Operation::Suspend => "suspending: stopping every process".to_string(),
            Operation::Resume => "resuming: starting every process again".to_string(),
            Operation::Create => "building".to_string(),
        };
        let mut observed = Observed::of(cluster);
        observed.state = state;
        observed.operation = operation;
        observed.reason = None;
        observed.progress = cluster.progress.with_activity(activity);
        self.record(cluster, observed).await;
        Next::Soon
    }

    /// What a provisioning call needs besides the plan: the key, the secrets, the backend's
    /// data. `None` (after logging) when they cannot be read now.
    async fn inputs(&self, cluster: &ClusterRecord) -> Option<Inputs> {
        let id = cluster.id;
        let read = on_store(&self.store, move |s| {
            Ok((s.generated_secrets(id)?, s.backend_data(id)?))
        })
        .await;
        match read {
            Ok((secrets, data)) => Some(Inputs {
                secrets: secrets
                    .into_iter()
                    .map(|(slot, value)| (slot.env, value))
                    .collect(),
                data,
            }),
            Err(e) => {
                warn!(error = %e, "cannot read the cluster's secrets; will retry");
                None
            }
        }
    }

    /// Records the outcome of an operation on a built cluster (scale, suspend, resume).
    async fn transition(
        &self,
        cluster: &ClusterRecord,
        result: Result<Transition, BackendError>,
        done_state: ClusterState,
    ) -> Next {
        let mut observed = Observed::of(cluster);
        match result {
            Ok(Transition::InProgress { activity, events }) => {
                observed.progress = cluster.progress.with_activity(activity);
                observed.events = events;
                self.record(cluster, observed).await;
                Next::Soon
            }
            Ok(Transition::Done {
                nodes,
                outputs,
                events,
            }) => {
                observed.state = done_state;
                observed.reason = None;
                observed.nodes = nodes;
                if let Some(outputs) = outputs {
                    observed.outputs = outputs;
                }
                observed.progress.activity = None;
                observed.events = events;
                self.record(cluster, observed).await;
                Next::Settled {
                    up: done_state.is_up(),
                }
            }
            Ok(Transition::Failed { reason }) => {
                self.fail(cluster, cluster.operation, reason).await;
                Next::Settled { up: false }
            }
            Err(BackendError::Permanent(reason)) | Err(BackendError::Unsupported(reason)) => {
                self.fail(cluster, cluster.operation, reason).await;
                Next::Settled { up: false }
            }
            Err(e) => {
                warn!(error = %e, state = cluster.state.as_str(), "step failed; will retry");
                Next::Retry
            }
        }
    }

    /// Fails the cluster with `reason`, keeping its last progress.
    async fn fail(&self, cluster: &ClusterRecord, operation: Operation, reason: String) {
        let mut observed = Observed::of(cluster);
        observed.state = ClusterState::Failed;
        observed.operation = operation;
        observed.reason = Some(reason);
        observed.progress.activity = None;
        self.record(cluster, observed).await;
    }

    /// Stores an observation if it changes anything and the spec did not change meanwhile.
    async fn record(&self, cluster: &ClusterRecord, observed: Observed) {
        // A settled state is written once more when the spec changed, to mark it observed.
        let observed_already =
            observed.state.is_active() || cluster.generation == cluster.observed_generation;
        if observed.same_as(cluster) && observed_already {
            return;
        }
        if cluster.state != observed.state {
            match &observed.reason {
                Some(reason) => info!(from = cluster.state.as_str(), to = observed.state.as_str(),
                    %reason, "state changed"),
                None => info!(
                    from = cluster.state.as_str(),
                    to = observed.state.as_str(),
                    "state changed"
                ),
            }
        }
        let id = cluster.id;
        let generation = cluster.generation;
        if let Err(e) = on_store(&self.store, move |s| s.record(id, generation, &observed)).await {
            warn!(error = %e, "cannot record the cluster's state; will retry");
        }
    }
}

/// Secrets and backend data for a provisioning call.
struct Inputs {
    secrets: Vec<(String, String)>,
    data: Option<serde_json::Value>,
}

impl Inputs {
    fn request<'a>(
        &'a self,
        cluster: &'a ClusterRecord,
        plan: &'a ClusterPlan,
    ) -> ProvisionRequest<'a> {
        ProvisionRequest {
            plan,
            ssh_public_key: &cluster.ssh_public_key,
            ssh_key_name: &cluster.ssh_key_name,
            secrets: &self.secrets,
            data: self.data.as_ref(),
            generation: cluster.generation,
            members: cluster.built_slaves(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(30), Duration::from_secs(60));
    }

    fn record(state: ClusterState, operation: Operation, slaves: u32, built: u32) -> ClusterRecord {
        let spec: crate::cluster::ClusterSpec = serde_json::from_value(serde_json::json!({
            "title": null, "summary": null, "slave_count": slaves, "infrastructure": {},
            "region": null, "deployer_username": null, "frameworks": {}
        }))
        .unwrap();
        let node = |name: &str, role: &str| crate::cluster::NodeInfo {
            name: name.into(),
            role: role.into(),
            address: "127.0.0.1".into(),
        };
        let mut nodes = vec![node("master", "master")];
        nodes.extend((1..=built).map(|i| node(&format!("slave-{i}"), "slave")));
        ClusterRecord {
            id: Uuid::nil(),
            tenant: "t".into(),
            spec,
            desired: crate::cluster::Desired::Running,
            generation: 2,
            observed_generation: 1,
            state,
            operation,
            reason: None,
            progress: Default::default(),
            outputs: Default::default(),
            nodes,
            ssh_key_name: String::new(),
            ssh_public_key: String::new(),
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
            expires_at: None,
            failures: 0,
        }
    }

    #[test]
    fn a_settled_cluster_starts_the_operation_its_spec_needs() {
        use ClusterState as S;
        let scaling = Some((S::Scaling, Operation::Update));
        assert_eq!(
            pending_operation(&record(S::Ready, Operation::Create, 3, 1)),
            scaling
        );
        assert_eq!(
            pending_operation(&record(S::Degraded, Operation::Create, 0, 1)),
            scaling
        );
        assert_eq!(
            pending_operation(&record(S::Ready, Operation::Create, 1, 1)),
            None
        );
        // A failed scale is tried again only when asked again (a newer generation), even to
        // the count of members it has: a half-built slave may be left to remove.
        let mut failed = record(S::Failed, Operation::Update, 2, 2);
        assert_eq!(pending_operation(&failed), scaling);
        failed.observed_generation = failed.generation;
        assert_eq!(pending_operation(&failed), None);
        // A failed build is final.
        assert_eq!(
            pending_operation(&record(S::Failed, Operation::Create, 3, 0)),
            None
        );
        let mut suspend = record(S::Ready, Operation::Create, 1, 1);
        suspend.spec.power = Power::Suspended;
        assert_eq!(
            pending_operation(&suspend),
            Some((S::Suspending, Operation::Suspend))
        );
        assert_eq!(
            pending_operation(&record(S::Suspended, Operation::Suspend, 1, 1)),
            Some((S::Resuming, Operation::Resume))
        );
    }

    #[test]
    fn a_health_look_comes_due_no_sooner_than_asked() {
        let mut schedule = HealthSchedule::new(1000);
        let now = Instant::now();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        schedule.push(now + Duration::from_secs(1), a);
        schedule.push(now + Duration::from_secs(2), b);
        assert!(schedule.pop_due(now).is_empty());
        assert_eq!(schedule.pop_due(now + Duration::from_millis(1500)), vec![a]);
        assert_eq!(schedule.pop_due(now + Duration::from_secs(5)), vec![b]);
    }

    #[test]
    fn many_clusters_share_the_health_budget() {
        let mut schedule = HealthSchedule::new(10);
        let now = Instant::now();
        for _ in 0..30 {
            schedule.push(now, Uuid::new_v4());
        }
        // 10 looks a second: at 0, 0.1, ... 1.0 s.
        assert_eq!(
            schedule.pop_due(now + Duration::from_millis(1050)).len(),
            11
        );
        assert_eq!(schedule.pop_due(now + Duration::from_secs(3)).len(), 19);
    }
}
