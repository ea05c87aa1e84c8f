//! The OpenStack backend: one Heat stack per cluster, driven through a Keystone trust.
//!
//! At create time the user's token creates a trust from the user to disco's own identity
//! (impersonation, the user's roles on the project). Everything afterwards (creating,
//! polling and deleting the stack, long after the user's token expired) uses trust-scoped
//! tokens; the user's password is never stored. The trust is deleted with the stack.

pub mod agent;
mod health;
pub mod heat;
pub mod identity;
pub mod keystone;
mod power;
mod scale;
mod stack_looks;
pub mod template;

use super::{Backend, BackendError, Observation, ProvisionRequest, Teardown, Transition};
use crate::cluster::{NodeInfo, Outputs, Progress};
use crate::plan::ClusterPlan;
use async_trait::async_trait;
use heat::{Heat, HeatError, Stack};
use identity::ServiceIdentity;
use keystone::{Keystone, KeystoneError, Token};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use template::{HeatTemplates, StackInputs, StackSettings, TemplateError};
use uuid::Uuid;

/// A user authenticated by Keystone for one request.
#[derive(Debug, Clone)]
pub struct UserSession {
    pub token: Token,
    /// `X-Region-Name` (or the deployer region attribute); the configured region if absent.
    pub region: Option<String>,
}

/// What disco keeps about each cluster to act for its owner (stored encrypted; `Debug` shows
/// neither the trust nor the secret).
#[derive(Clone, Serialize, Deserialize)]
pub struct Grant {
    pub trust_id: String,
    pub project_id: String,
    pub region: Option<String>,
    /// Shared by the cluster's nodes (share server, join tokens).
    pub cluster_secret: String,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("trust_id", &"<redacted>")
            .field("project_id", &self.project_id)
            .field("region", &self.region)
            .field("cluster_secret", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct OpenStackSettings {
    pub region: Option<String>,
    pub interface: String,
    pub stack: StackSettings,
    pub stack_timeout_mins: u64,
    pub ssh_user: String,
    /// Shortest and longest pause between two looks at a building or deleting stack.
    pub poll_min: Duration,
    pub poll_max: Duration,
    pub request_timeout: Duration,
}

/// What one look at a stack found.
struct Seen {
    stack: Stack,
    /// Why resources failed (for a failed stack).
    reasons: Vec<String>,
    /// Nodes whose installers signalled (while the stack is being created), if Heat said.
    signalled: Option<usize>,
}

impl Seen {
    /// What makes two looks different enough to look again soon.
    fn key(&self) -> String {
        format!("{} {:?}", self.stack.stack_status, self.signalled)
    }
}

/// When to look at a changing stack again: sooner after a change, less often while the same.
struct Poll {
    next: Instant,
    interval: Duration,
    /// What the last look saw (the stack status, and while building the nodes signalled).
    key: String,
    last: Looked,
}

/// When to look at a building stack's nodes again, and what the last look found.
struct ProgressLook {
    next: Instant,
    interval: Duration,
    signalled: Option<usize>,
}

/// What the last look answered, to answer the same until the next look.
#[derive(Clone)]
enum Looked {
    Build(Observation),
    Teardown(String),
    /// A scale, suspend or resume in progress (Heat is converging; nothing to ask).
    Operation(String),
}

pub struct OpenStackBackend {
    keystone: Keystone,
    identity: ServiceIdentity,
    templates: Arc<HeatTemplates>,
    settings: OpenStackSettings,
    http: reqwest::Client,
    /// Trust-scoped tokens by trust id, reused until close to expiry.
    tokens: Mutex<HashMap<String, Token>>,
    polls: Mutex<HashMap<Uuid, Poll>>,
    /// Looks at building stacks, batched per project.
    looks: stack_looks::StackLooks,
    progress: Mutex<HashMap<Uuid, ProgressLook>>,
    /// The last operation this process asked Heat for, per cluster, with its generation.
    asked: Mutex<HashMap<Uuid, (i64, &'static str)>>,
    /// For talking to the nodes' agents.
    agent_http: reqwest::Client,
    /// Since when a cluster's master agent could not be asked.
    agent_trouble: Mutex<HashMap<Uuid, Instant>>,
    /// Clusters whose stack disco saw being deleted: once Heat has deleted it, it deletes
    /// the trust too, so a refused trust then means the stack is gone.
    stack_deleting: Mutex<HashSet<Uuid>>,
}

/// Why a stack failed, in one line: its status, Heat's reason, and up to five failed
/// resources' reasons.
fn failure_reason(stack: &Stack, reasons: &[String]) -> String {
    let mut reason = format!("Heat stack {} is {}", stack.stack_name, stack.stack_status);
    if let Some(why) = stack
        .stack_status_reason
        .as_deref()
        .filter(|r| !r.is_empty())
    {
        reason.push_str(": ");
        reason.push_str(why);
    }
    // `resource: why` each; Heat repeats one cause with other prefixes at every level: a
    // cause already told only adds its resource's name.
    let mut also_failed = Vec::new();
    for line in reasons.iter().take(5) {
        let (resource, why) = line.split_once(": ").unwrap_or((line.as_str(), ""));
        if reason.contains(cause(why)) {
            also_failed.push(resource);
        } else {
            reason.push_str("; ");
            reason.push_str(line);
        }
    }
    if !also_failed.is_empty() {
        reason.push_str("; failed resources: ");
        reason.push_str(&also_failed.join(", "));
    }
    reason
}

/// A Heat failure message without the prefixes Heat puts before the cause at each level
/// (`Resource CREATE failed: `, `WaitConditionFailure: `, `resources.master_wait: `).
fn cause(message: &str) -> &str {
    let mut rest = message;
    while let Some((head, tail)) = rest.split_once(": ") {
        let prefix =
            !head.contains(' ') || (head.starts_with("Resource ") && head.ends_with(" failed"));
        if !prefix || tail.is_empty() {
            break;
        }
        rest = tail;
    }
    rest
}

/// Why a cluster cannot be torn down when Keystone refuses its trust, and what an operator
/// does about it.
fn cannot_act_for_owner(id: Uuid, stack: &str, grant: &Grant, keystone: &str) -> String {
    format!(
        "disco can no longer act for the cluster's owner (Keystone refused the cluster's trust: \
         {keystone}): the owner revoked it or was disabled. Stack {stack} in project {project} \
         may remain. An operator removes it with `openstack stack delete {stack}` (as an \
         admin of that project), then `disco forget {id}`",
        project = grant.project_id,
    )
}

/// The stack's name: derived from the cluster id, so a retry finds the stack it made.
pub fn stack_name(id: Uuid) -> String {
    format!("disco-{}", id.simple())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl From<KeystoneError> for BackendError {
    fn from(e: KeystoneError) -> BackendError {
        match e {
            KeystoneError::Rejected(m) | KeystoneError::Forbidden(m) => BackendError::Permanent(m),
            KeystoneError::Unavailable(m) => BackendError::Transient(m),
        }
    }
}

fn heat_error(e: HeatError) -> BackendError {
    match e {
        HeatError::Rejected(m) => BackendError::Permanent(format!("Heat rejected the stack: {m}")),
        other => BackendError::Transient(other.to_string()),
    }
}

impl OpenStackBackend {
    pub fn new(
        keystone: Keystone,
        identity: ServiceIdentity,
        templates: Arc<HeatTemplates>,
        settings: OpenStackSettings,
    ) -> Result<OpenStackBackend, String> {
        let http = heat::client(settings.request_timeout)?;
        let agent_http = agent::client(settings.request_timeout)?;
        Ok(OpenStackBackend {
            keystone,
            identity,
            templates,
            settings,
            http,
            tokens: Mutex::new(HashMap::new()),
            polls: Mutex::new(HashMap::new()),
            looks: stack_looks::StackLooks::default(),
            progress: Mutex::new(HashMap::new()),
            asked: Mutex::new(HashMap::new()),
            agent_http,
            agent_trouble: Mutex::new(HashMap::new()),
            stack_deleting: Mutex::new(HashSet::new()),
        })
    }

    fn grant(data: Option<&serde_json::Value>) -> Result<Grant, BackendError> {
        data.cloned()
            .and_then(|v| serde_json::from_value(v).ok())
            .ok_or_else(|| {
                BackendError::Permanent(
                    "the cluster has no Keystone trust (it was created by another backend)".into(),
                )
            })
    }

    /// A trust-scoped token for the grant (a fresh one when `renew`).
    async fn token(&self, grant: &Grant, renew: bool) -> Result<Token, BackendError> {
        if !renew {
            if let Some(token) = lock(&self.tokens).get(&grant.trust_id) {
                if token.remaining() > chrono::Duration::minutes(5) {
                    return Ok(token.clone());
                }
            }
        }
        let own = self.identity.token(&self.keystone).await?;
        let token = self.keystone.trust_token(&own, &grant.trust_id).await?;
        lock(&self.tokens).insert(grant.trust_id.clone(), token.clone());
        Ok(token)
    }

    /// Keystone refused the cluster's trust during a teardown. After disco saw the stack
    /// being deleted, that is Heat having deleted the trust with the stack: gone. Otherwise
    /// the owner revoked the trust or was disabled, and the stack may remain: only an
    /// operator can remove it, and the cluster stays `deleting`, saying so.
    fn trust_refused(
        &self,
        id: Uuid,
        name: &str,
        grant: &Grant,
        reason: &str,
    ) -> Result<Teardown, BackendError> {
        if lock(&self.stack_deleting).remove(&id) {
            tracing::info!(%reason, "the stack and its trust are gone");
            lock(&self.polls).remove(&id);
            return Ok(Teardown::Gone);
        }
        Err(BackendError::Permanent(cannot_act_for_owner(
            id, name, grant, reason,
        )))
    }

    fn heat_url(&self, token: &Token, grant: &Grant) -> Result<String, BackendError> {
        let region = grant.region.as_deref().or(self.settings.region.as_deref());
        Ok(token.endpoint("orchestration", region, &self.settings.interface)?)
    }

    /// Runs `call` against Heat; on a refused token, once more with a new token.
    async fn with_heat<T, F, Fut>(&self, grant: &Grant, call: F) -> Result<T, BackendError>
    where
        F: Fn(Heat) -> Fut,
        Fut: std::future::Future<Output = Result<T, HeatError>>,
    {
        let mut renew = false;
        loop {
            let token = self.token(grant, renew).await?;
            let url = self.heat_url(&token, grant)?;
            let heat = Heat {
                http: self.http.clone(),
                url,
                token: token.value.clone(),
            };
            match call(heat).await {
                Err(HeatError::Unauthorized(m)) if !renew => {
                    tracing::info!(reason = %m, "Heat refused the trust token; getting a new one");
                    renew = true;
                }
                Err(HeatError::Unauthorized(m)) => {
                    return Err(BackendError::Transient(format!(
                        "Heat refused a new trust token too: {m}"
                    )))
                }
                other => return other.map_err(heat_error),
            }
        }
    }

    /// What the last look answered, while it is too soon to look again.
    fn recent(&self, id: Uuid) -> Option<Looked> {
        lock(&self.polls)
            .get(&id)
            .filter(|poll| Instant::now() < poll.next)
            .map(|poll| poll.last.clone())
    }

    /// A stack operation (scale, suspend, resume) looked at too recently to look again: it is
    /// still in progress as last seen.
    fn operation_still_in_progress(&self, id: Uuid) -> Option<Transition> {
        match self.recent(id) {
            Some(Looked::Operation(activity)) => Some(Transition::InProgress {
                activity,
                events: Vec::new(),
            }),
            _ => None,
        }
    }

    /// Records a look: the next comes after `poll_min`, doubling up to `poll_max` while what
    /// is seen (`key`) stays the same.
    fn remember(&self, id: Uuid, key: String, last: Looked) {
        let mut polls = lock(&self.polls);
        let interval = match polls.get(&id) {
            Some(poll) if poll.key == key => (poll.interval * 2).min(self.settings.poll_max),
            _ => self.settings.poll_min,
        };
        polls.insert(
            id,
            Poll {
                next: Instant::now() + interval,
                interval,
                key,
                last,
            },
        );
    }

    /// The stack called `name` as the list shows it, looked up together with the other
    /// clusters of the same project and region that look now (see [`stack_looks`]).
    async fn look_up(&self, grant: &Grant, name: &str) -> Result<Option<Stack>, BackendError> {
        let scope = format!(
            "{}/{}",
            grant.project_id,
            grant.region.as_deref().unwrap_or("")
        );
        let joined = self.looks.join(&scope, name);
        if joined.leads {
            tokio::time::sleep(stack_looks::WINDOW).await;
            for batch in self.looks.close(&scope) {
                let names: Vec<String> = batch.iter().map(|(n, _)| n.clone()).collect();
                let listed = self
                    .with_heat(grant, |heat| {
                        let names = &names;
                        async move {
                            let names: Vec<&str> = names.iter().map(String::as_str).collect();
                            heat.find_many(&names).await
                        }
                    })
                    .await;
                // A failed list answers nothing: each cluster then looks alone.
                stack_looks::answer(batch, &listed.unwrap_or_default());
            }
        }
        if let Ok(Some(stack)) = joined.answer.await {
            return Ok(Some(stack));
        }
        self.with_heat(grant, |heat| async move { heat.find(name).await })
            .await
    }

    /// Whether the nodes' progress is due for a look: after `poll_min`, doubling up to
    /// `poll_max` while it stays the same.
    fn progress_due(&self, id: Uuid) -> bool {
        lock(&self.progress)
            .get(&id)
            .is_none_or(|look| Instant::now() >= look.next)
    }

    /// The nodes signalled: what a look just found, else what the last one did.
    fn signalled(&self, id: Uuid, looked: bool, found: Option<usize>) -> Option<usize> {
        let mut progress = lock(&self.progress);
        if !looked {
            return progress.get(&id).and_then(|look| look.signalled);
        }
        let interval = match progress.get(&id) {
            Some(look) if look.signalled == found => {
                (look.interval * 2).min(self.settings.poll_max)
            }
            _ => self.settings.poll_min,
        };
        progress.insert(
            id,
            ProgressLook {
                next: Instant::now() + interval,
                interval,
                signalled: found,
            },
        );
        found
    }

    /// The stack for the request's plan: template, parameters and files.
    fn render(
        &self,
        request: &ProvisionRequest<'_>,
        grant: &Grant,
    ) -> Result<template::StackDocument, BackendError> {
        self.templates
            .render(
                request.plan,
                &self.settings.stack,
                &StackInputs {
                    cluster_name: request.ssh_key_name,
                    key_name: request.ssh_key_name,
                    ssh_public_key: request.ssh_public_key,
                    cluster_secret: &grant.cluster_secret,
                    secrets: request.secrets,
                },
            )
            .map_err(|e| BackendError::Permanent(e.to_string()))
    }

    /// Whether this process already asked Heat for `operation` toward `generation`; marks it
    /// asked when `mark`.
    fn asked(&self, id: Uuid, generation: i64, operation: &'static str, mark: bool) -> bool {
        let mut asked = lock(&self.asked);
        let before = asked.get(&id) == Some(&(generation, operation));
        if mark {
            asked.insert(id, (generation, operation));
        }
        before
    }

    /// What an operation answers right after Heat accepted a request for it: the request is
    /// marked asked for this attempt, the stack is looked at again soon, and the history says so.
    fn after_asking(
        &self,
        id: Uuid,
        generation: i64,
        operation: &'static str,
        activity: String,
        event: String,
    ) -> super::Transition {
        self.asked(id, generation, operation, true);
        lock(&self.polls).remove(&id);
        super::Transition::InProgress {
            activity,
            events: vec![crate::cluster::event::NewEvent::new(
                crate::cluster::event::EventKind::Step,
                event,
            )],
        }
    }

    /// The stack as `show` has it (parameters and outputs), or `None` when there is none.
    async fn current_stack(&self, grant: &Grant, id: Uuid) -> Result<Option<Stack>, BackendError> {
        let name = stack_name(id);
        self.with_heat(grant, |heat| {
            let name = name.clone();
            async move {
                match heat.find(&name).await? {
                    Some(stack) => heat.show(&stack).await.map(Some),
                    None => Ok(None),
                }
            }
        })
        .await
    }

    /// Why a failed stack failed: Heat's reason and the failed resources' reasons.
    async fn failure(&self, grant: &Grant, stack: &Stack) -> String {
        let reasons = self
            .with_heat(
                grant,
                |heat| async move { heat.failure_reasons(stack).await },
            )
            .await
            .unwrap_or_default();
        failure_reason(stack, &reasons)
    }

    /// The outputs a ready stack reports.
    fn outputs(&self, stack: &Stack) -> Outputs {
        let external_ip = stack
            .output("external_ip")
            .and_then(|v| v.as_str())
            .map(str::to_string);
        Outputs {
            log_url: external_ip
                .as_ref()
                .map(|ip| format!("http://{ip}:{}/", self.settings.stack.log_port)),
            external_ip,
            ssh_user: Some(self.settings.ssh_user.clone()),
            ssh_port: Some(22),
            ssh_known_hosts: None,
        }
    }

    /// The nodes with their cluster-internal addresses (fixed by the network layout).
    fn node_infos(&self, plan: &ClusterPlan) -> Vec<NodeInfo> {
        let network = &self.settings.stack.network;
        plan.nodes
            .iter()
            .map(|node| NodeInfo {
                name: node.name.clone(),
                role: node.role.as_str().to_string(),
                address: match node.index {
                    0 => network.master(),
                    n => network.slave(n - 1),
                },
            })
            .collect()
    }

    fn observation(&self, plan: &ClusterPlan, seen: &Seen) -> Observation {
        let stack = &seen.stack;
        let status = stack.stack_status.as_str();
        let installing = match seen.signalled {
            Some(done) => format!(
                "the frameworks: {done} of {} nodes finished (stack {status})",
                plan.nodes.len()
            ),
            None => format!("stack {status}"),
        };
        let building = Progress {
            frameworks: plan.frameworks.clone(),
            installing: vec![installing],
            ..Progress::default()
        };
        let (action, state) = status.split_once('_').unwrap_or((status, ""));
        match (action, state) {
            ("CREATE" | "UPDATE" | "RESUME", "COMPLETE") => Observation::Ready {
                progress: Progress::complete(&plan.frameworks),
                nodes: self.node_infos(plan),
                outputs: self.outputs(stack),
            },
            (_, "FAILED") | ("ROLLBACK", _) | ("DELETE", _) => Observation::Failed {
                progress: building,
                reason: failure_reason(stack, &seen.reasons),
            },
            _ => Observation::Building { progress: building },
        }
    }
}

#[async_trait]
impl Backend for OpenStackBackend {
    async fn check(&self, plan: &ClusterPlan) -> Result<(), BackendError> {
        let slaves = plan.nodes.len().saturating_sub(1) as u32;
        if slaves > self.settings.stack.max_slave_count {
            return Err(BackendError::Unsupported(format!(
                "at most {} slaves fit the cluster network",
                self.settings.stack.max_slave_count
            )));
        }
        match self.templates.render_preview(plan, &self.settings.stack) {
            Ok(_) => Ok(()),
            Err(TemplateError::TooLarge(message)) => Err(BackendError::Unsupported(message)),
            Err(other) => Err(BackendError::Unavailable(other.to_string())),
        }
    }

    async fn admit(
        &self,
        user: Option<&UserSession>,
        _id: Uuid,
    ) -> Result<Option<serde_json::Value>, BackendError> {
        let Some(user) = user else {
            return Err(BackendError::Unsupported(
                "the openstack backend needs a Keystone user (X-User-Name and X-Password, or X-Auth-Token)".into(),
            ));
        };
        let region = user.region.as_deref().or(self.settings.region.as_deref());
        user.token
            .endpoint("orchestration", region, &self.settings.interface)
            .map_err(|e| BackendError::Unsupported(e.to_string()))?;
        let project_id = user.token.project_id.clone().ok_or_else(|| {
            BackendError::Unsupported("the token is not scoped to a project".into())
        })?;
        let trustee = self
            .identity
            .user_id(&self.keystone)
            .await
            .map_err(|e| BackendError::Unavailable(e.to_string()))?;
        let trust_id = self
            .keystone
            .create_trust(&user.token, &trustee)
            .await
            .map_err(|e| match e {
                KeystoneError::Unavailable(m) => BackendError::Unavailable(m),
                KeystoneError::Rejected(m) | KeystoneError::Forbidden(m) => {
                    BackendError::Unsupported(m)
                }
            })?;
        let grant = Grant {
            trust_id,
            project_id,
            region: user.region.clone(),
            cluster_secret: crate::cluster::keys::generate_secret(32),
        };
        serde_json::to_value(grant)
            .map(Some)
            .map_err(|e| BackendError::Permanent(e.to_string()))
    }

    async fn provision(&self, request: ProvisionRequest<'_>) -> Result<(), BackendError> {
        let grant = Self::grant(request.data)?;
        let id = request.plan.cluster_id;
        let name = stack_name(id);
        let document = self.render(&request, &grant)?;
        let timeout = self.settings.stack_timeout_mins;
        let created = self
            .with_heat(&grant, |heat| {
                let name = name.clone();
                let document = &document;
                async move {
                    // A stack of this name means an earlier attempt got through.
                    if heat.find(&name).await?.is_some() {
                        return Ok(false);
                    }
                    match heat.create(&name, document, timeout).await {
                        Ok(_) => Ok(true),
                        Err(HeatError::Conflict) => Ok(false),
                        Err(e) => Err(e),
                    }
                }
            })
            .await?;
        if created {
            tracing::info!(stack = %name, "Heat stack created");
        }
        lock(&self.polls).remove(&id);
        Ok(())
    }

    async fn observe(
        &self,
        plan: &ClusterPlan,
        data: Option<&serde_json::Value>,
    ) -> Result<Observation, BackendError> {
        let id = plan.cluster_id;
        if let Some(Looked::Build(last)) = self.recent(id) {
            return Ok(last);
        }
        let grant = Self::grant(data)?;
        let name = stack_name(id);
        let Some(listed) = self.look_up(&grant, &name).await? else {
            lock(&self.polls).remove(&id);
            lock(&self.progress).remove(&id);
            return Ok(Observation::Stalled {
                progress: Progress {
                    frameworks: plan.frameworks.clone(),
                    ..Progress::default()
                },
            });
        };
        let status = listed.stack_status.clone();
        // Progress is a courtesy (a Heat that cannot tell just shows none), looked at less
        // often while it stays the same.
        let progress_due = status == "CREATE_IN_PROGRESS" && self.progress_due(id);
        let seen = self
            .with_heat(&grant, |heat| {
                let listed = listed.clone();
                async move {
                    let stack = if listed.stack_status.ends_with("_COMPLETE") {
                        heat.show(&listed).await?
                    } else {
                        listed
                    };
                    let reasons = if stack.stack_status.ends_with("FAILED") {
                        heat.failure_reasons(&stack).await.unwrap_or_default()
                    } else {
                        Vec::new()
                    };
                    let signalled = if progress_due {
                        heat.signalled_nodes(&stack).await.ok()
                    } else {
                        None
                    };
                    Ok(Seen {
                        stack,
                        reasons,
                        signalled,
                    })
                }
            })
            .await?;
        let seen = Seen {
            signalled: self.signalled(id, progress_due, seen.signalled),
            ..seen
        };
        let observation = self.observation(plan, &seen);
        // The status is looked at every `poll_min`: one batched list call serves many
        // clusters, so a finished stack is seen soon without a call per cluster.
        if matches!(observation, Observation::Building { .. }) {
            lock(&self.polls).insert(
                id,
                Poll {
                    next: Instant::now() + self.settings.poll_min,
                    interval: self.settings.poll_min,
                    key: seen.key(),
                    last: Looked::Build(observation.clone()),
                },
            );
        } else {
            // Settled: nothing of this build is needed again.
            lock(&self.polls).remove(&id);
            lock(&self.progress).remove(&id);
        }
        Ok(observation)
    }

    async fn destroy(
        &self,
        id: Uuid,
        data: Option<&serde_json::Value>,
    ) -> Result<Teardown, BackendError> {
        if let Some(Looked::Teardown(remaining)) = self.recent(id) {
            return Ok(Teardown::InProgress { remaining });
        }
        let grant = Self::grant(data)?;
        let name = stack_name(id);
        if let Err(BackendError::Permanent(reason)) = self.token(&grant, false).await {
            return self.trust_refused(id, &name, &grant, &reason);
        }
        let remaining = match self
            .with_heat(&grant, |heat| {
                let name = name.clone();
                async move {
                    let Some(stack) = heat.find(&name).await? else {
                        return Ok(None);
                    };
                    // A failed delete (a port still in use, a volume attached) is asked again:
                    // Heat retries what is left.
                    if stack.stack_status != "DELETE_IN_PROGRESS" {
                        heat.delete(&stack).await?;
                    }
                    Ok(Some(stack))
                }
            })
            .await
        {
            Err(BackendError::Permanent(message)) => {
                // Heat refused the cached token and Keystone a new one, or Heat refused the
                // request: only a fresh token tells which.
                return match self.token(&grant, true).await {
                    Err(BackendError::Permanent(reason)) => {
                        self.trust_refused(id, &name, &grant, &reason)
                    }
                    _ => Err(BackendError::Permanent(message)),
                };
            }
            other => other?,
        };
        if let Some(stack) = remaining {
            lock(&self.stack_deleting).insert(id);
            let mut remaining = format!("stack {name} is {}", stack.stack_status);
            if stack.stack_status == "DELETE_FAILED" {
                if let Some(why) = stack.stack_status_reason.filter(|r| !r.is_empty()) {
                    remaining.push_str(&format!(": {why}"));
                }
                remaining.push_str("; Heat is asked to delete it again");
            }
            self.remember(id, stack.stack_status, Looked::Teardown(remaining.clone()));
            return Ok(Teardown::InProgress { remaining });
        }
        // The stack is gone: remove the trust (Heat usually has already: it adopts the trust
        // of the token that created the stack and deletes it with the stack). A token of the
        // trust itself may do so, as it impersonates the trustor.
        match self.token(&grant, false).await {
            Ok(token) => {
                self.keystone
                    .delete_trust(&token.value, &grant.trust_id)
                    .await?
            }
            Err(BackendError::Permanent(reason)) => {
                tracing::info!(%reason, "the cluster's trust is already gone")
            }
            Err(other) => return Err(other),
        }
        lock(&self.tokens).remove(&grant.trust_id);
        lock(&self.polls).remove(&id);
        lock(&self.asked).remove(&id);
        lock(&self.stack_deleting).remove(&id);
        Ok(Teardown::Gone)
    }

    fn scaling(&self) -> Option<&dyn super::Scaling> {
        Some(self)
    }

    fn power(&self) -> Option<&dyn super::PowerControl> {
        Some(self)
    }

    /// Only the master has a floating IP: slaves' UIs are reached through the master's
    /// (Spark's master proxies its workers' UIs), not directly.
    fn look_interval(&self) -> Duration {
        self.settings.poll_min
    }

    fn ui_host(&self, outputs: &Outputs, node: &NodeInfo) -> Option<String> {
        if node.role == "master" {
            outputs.external_ip.clone()
        } else {
            None
        }
    }

    fn health(&self) -> Option<&dyn super::HealthCheck> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_heat_reports_at_every_level_is_told_once() {
        let why = "shell failed on master: the command exited with status 3 on master";
        let stack = Stack {
            id: "1".into(),
            stack_name: "disco-1".into(),
            stack_status: "CREATE_FAILED".into(),
            stack_status_reason: Some(format!(
                "Resource CREATE failed: WaitConditionFailure: resources.master_wait: {why}"
            )),
            outputs: Vec::new(),
            parameters: Default::default(),
        };
        let events = [
            format!("disco-1: Resource CREATE failed: WaitConditionFailure: resources.master_wait: {why}"),
            format!("master_wait: WaitConditionFailure: resources.master_wait: {why}"),
            "port: Quota exceeded for ports".to_string(),
        ];
        let reason = failure_reason(&stack, &events);
        assert_eq!(reason.matches(why).count(), 1, "{reason}");
        assert!(
            reason.ends_with(
                "; port: Quota exceeded for ports; failed resources: disco-1, master_wait"
            ),
            "{reason}"
        );
    }
}
