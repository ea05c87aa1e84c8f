//! Scaling an OpenStack cluster: a stack update (`PATCH`) of the slave group's count, with
//! the installers' environment for the new count. New slaves boot, install and signal their
//! own wait conditions; Heat removes the highest indexes first when the count goes down (no
//! removal policy: one would exclude the index for good, and a slave added later would get
//! another name and address).

use super::agent::{Agent, HookCall};
use super::heat::Stack;
use super::{stack_name, Grant, Looked, OpenStackBackend};
use crate::backend::{BackendError, ProvisionRequest, Scaling, Transition};
use crate::frameworks::{HookEvent, Role};
use crate::plan::steps_value;
use async_trait::async_trait;
use std::time::{Duration, Instant};

/// How long disco keeps trying to reach the master's agent before the scale fails.
const AGENT_PATIENCE: Duration = Duration::from_secs(600);

/// What to do with a stack for a scale toward `target` slaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ScaleStep {
    /// Heat is busy (this update, or something else): look again later.
    Wait,
    /// Ask Heat for the update.
    Update,
    Done,
    Failed,
}

/// Decides the next step from the stack's status, its slave count now, and whether this
/// process already asked for this attempt (a failure seen before asking is an old one, so
/// a new attempt updates again). Pure.
pub(super) fn scale_step(status: &str, count: Option<u64>, target: u64, asked: bool) -> ScaleStep {
    if status.ends_with("_IN_PROGRESS") {
        return ScaleStep::Wait;
    }
    if count != Some(target) {
        return ScaleStep::Update;
    }
    if status.ends_with("_FAILED") {
        return if asked {
            ScaleStep::Failed
        } else {
            ScaleStep::Update
        };
    }
    ScaleStep::Done
}

/// A Heat parameter's value as a count (Heat shows them as strings).
fn parameter_count(stack: &super::heat::Stack, name: &str) -> Option<u64> {
    match stack.parameters.get(name)? {
        serde_json::Value::String(s) => s.trim().parse().ok(),
        other => other.as_u64(),
    }
}

#[async_trait]
impl Scaling for OpenStackBackend {
    async fn scale(&self, request: ProvisionRequest<'_>) -> Result<Transition, BackendError> {
        let id = request.plan.cluster_id;
        if let Some(in_progress) = self.operation_still_in_progress(id) {
            return Ok(in_progress);
        }
        let grant = Self::grant(request.data)?;
        let name = stack_name(id);
        let target = request.plan.nodes.len().saturating_sub(1) as u64;
        let Some(stack) = self.current_stack(&grant, id).await? else {
            return Ok(Transition::Failed {
                reason: format!("the cluster's Heat stack {name} is gone"),
            });
        };
        let count = parameter_count(&stack, "slave_count");
        let asked = self.asked(id, request.generation, "update", false);
        let activity = |what: &str| format!("scaling to {target} slaves: {what}");
        // Slaves about to be removed leave the frameworks first, highest index first.
        if let Some(count) =
            count.filter(|c| *c > target && !stack.stack_status.ends_with("_IN_PROGRESS"))
        {
            let leaving: Vec<u64> = (target + 1..=count).rev().collect();
            if let Some(transition) = self
                .hooks(&request, &grant, &stack, HookEvent::Leave, &leaving)
                .await?
            {
                return Ok(transition);
            }
        }
        match scale_step(&stack.stack_status, count, target, asked) {
            ScaleStep::Wait => {
                let activity = activity(&format!("stack {}", stack.stack_status));
                self.remember(
                    id,
                    format!("{} {count:?}", stack.stack_status),
                    Looked::Operation(activity.clone()),
                );
                Ok(Transition::InProgress {
                    activity,
                    events: Vec::new(),
                })
            }
            ScaleStep::Update => {
                let document = self.render(&request, &grant)?;
                let mut parameters = serde_json::Map::new();
                for key in ["slave_count", "installer_environment"] {
                    if let Some(value) = document.parameters.get(key) {
                        parameters.insert(key.to_string(), value.clone());
                    }
                }
                let timeout = self.settings.stack_timeout_mins;
                self.with_heat(&grant, |heat| {
                    let (stack, parameters) = (&stack, &parameters);
                    async move { heat.update(stack, parameters, timeout).await }
                })
                .await?;
                tracing::info!(stack = %name, slaves = target, "Heat stack update requested");
                Ok(self.after_asking(
                    id,
                    request.generation,
                    "update",
                    activity("stack update requested"),
                    format!("Heat asked to update stack {name} to {target} slaves"),
                ))
            }
            ScaleStep::Failed => Ok(Transition::Failed {
                reason: format!(
                    "{}; scale again to retry",
                    self.failure(&grant, &stack).await
                ),
            }),
            ScaleStep::Done => {
                // New slaves join the frameworks once Heat has built them.
                let members = u64::from(request.members);
                let joining: Vec<u64> = (members + 1..=target).collect();
                if let Some(transition) = self
                    .hooks(&request, &grant, &stack, HookEvent::Join, &joining)
                    .await?
                {
                    return Ok(transition);
                }
                // The master forgets the runs of slaves that left: one of the same name added
                // later joins afresh.
                let left: Vec<u64> = (target + 1..=members).collect();
                if let Some(transition) = self.forget(&request, &grant, &stack, &left).await {
                    return Ok(transition);
                }
                super::lock(&self.agent_trouble).remove(&id);
                Ok(Transition::Done {
                    nodes: self.node_infos(request.plan),
                    outputs: Some(self.outputs(&stack)),
                    events: Vec::new(),
                })
            }
        }
    }
}

impl OpenStackBackend {
    /// The master's agent, through its floating IP.
    fn agent(&self, grant: &Grant, stack: &Stack) -> Result<Agent, BackendError> {
        let ip = stack
            .output("external_ip")
            .and_then(|v| v.as_str())
            .ok_or_else(|| {
                BackendError::Transient("the stack does not show the master's address yet".into())
            })?;
        Ok(Agent {
            http: self.agent_http.clone(),
            url: format!("http://{ip}:{}", self.settings.stack.agent_port),
            secret: grant.cluster_secret.clone(),
        })
    }

    /// Runs `event`'s hooks for the slaves at `indexes`, one slave at a time: the master's
    /// hooks, then the slave's own. `None` once every run is done; else what to report now.
    async fn hooks(
        &self,
        request: &ProvisionRequest<'_>,
        grant: &Grant,
        stack: &Stack,
        event: HookEvent,
        indexes: &[u64],
    ) -> Result<Option<Transition>, BackendError> {
        let plan = request.plan;
        let master_steps = steps_value(&plan.hook_steps(event, Role::Master));
        let slave_steps = steps_value(&plan.hook_steps(event, Role::Slave));
        if indexes.is_empty() || master_steps.is_empty() && slave_steps.is_empty() {
            return Ok(None);
        }
        let id = plan.cluster_id;
        let agent = self.agent(grant, stack)?;
        let network = &self.settings.stack.network;
        for index in indexes {
            let name = format!("slave-{index}");
            let address = network.slave(*index as usize - 1);
            let nodes = format!("{name}={address}");
            let master_run = format!("{}-{name}", event.as_str());
            let calls = [
                (None, master_run.as_str(), &master_steps, "master"),
                (
                    Some(address.as_str()),
                    event.as_str(),
                    &slave_steps,
                    name.as_str(),
                ),
            ];
            for (relay, run, steps, on) in calls {
                if steps.is_empty() {
                    continue;
                }
                let call = HookCall {
                    relay,
                    run,
                    event: event.as_str(),
                    steps,
                    nodes: &nodes,
                };
                let what = format!("{} hooks for {name} on {on}", event.as_str());
                let status = match agent.run(&call).await {
                    Ok(status) => status,
                    Err(e) => return Ok(Some(self.agent_trouble(id, e.0))),
                };
                match status.state.as_str() {
                    "done" => {}
                    "failed" => {
                        return Ok(Some(Transition::Failed {
                            reason: format!(
                                "{what}: {} failed: {}; scale again to retry",
                                status.current, status.reason
                            ),
                        }))
                    }
                    _ => {
                        super::lock(&self.agent_trouble).remove(&id);
                        let activity = format!("scaling: running the {what}");
                        // Look again at Heat's pace, not at every tick.
                        self.remember(id, activity.clone(), Looked::Operation(activity.clone()));
                        return Ok(Some(Transition::InProgress {
                            activity,
                            events: Vec::new(),
                        }));
                    }
                }
            }
        }
        Ok(None)
    }

    /// Has the master forget the runs of the slaves at `indexes`; `None` once done.
    async fn forget(
        &self,
        request: &ProvisionRequest<'_>,
        grant: &Grant,
        stack: &Stack,
        indexes: &[u64],
    ) -> Option<Transition> {
        let plan = request.plan;
        let hooked = [HookEvent::Join, HookEvent::Leave]
            .iter()
            .any(|e| !plan.hook_steps(*e, Role::Master).is_empty());
        if indexes.is_empty() || !hooked {
            return None;
        }
        let agent = match self.agent(grant, stack) {
            Ok(agent) => agent,
            Err(e) => return Some(self.agent_trouble(plan.cluster_id, e.to_string())),
        };
        for index in indexes {
            for event in ["join", "leave"] {
                if let Err(e) = agent.forget(None, &format!("{event}-slave-{index}")).await {
                    return Some(self.agent_trouble(plan.cluster_id, e.0));
                }
            }
        }
        None
    }

    /// The master's agent cannot be asked: keep trying for a while, saying why, then fail.
    fn agent_trouble(&self, id: uuid::Uuid, problem: String) -> Transition {
        let since = *super::lock(&self.agent_trouble)
            .entry(id)
            .or_insert_with(Instant::now);
        if since.elapsed() > AGENT_PATIENCE {
            super::lock(&self.agent_trouble).remove(&id);
            return Transition::Failed {
                reason: format!("{problem}; scale again to retry"),
            };
        }
        let activity = format!("scaling: {problem}");
        self.remember(id, activity.clone(), Looked::Operation(activity.clone()));
        Transition::InProgress {
            activity,
            events: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stack_with_another_count_is_updated_once_heat_is_idle() {
        assert_eq!(
            scale_step("CREATE_COMPLETE", Some(1), 2, false),
            ScaleStep::Update
        );
        assert_eq!(
            scale_step("CHECK_IN_PROGRESS", Some(1), 2, false),
            ScaleStep::Wait
        );
        // An update Heat took (even if its answer was lost) is not asked for again.
        assert_eq!(
            scale_step("UPDATE_IN_PROGRESS", Some(2), 2, false),
            ScaleStep::Wait
        );
        assert_eq!(
            scale_step("UPDATE_COMPLETE", Some(2), 2, false),
            ScaleStep::Done
        );
    }

    #[test]
    fn a_failed_update_is_reported_once_and_a_new_attempt_updates_again() {
        assert_eq!(
            scale_step("UPDATE_FAILED", Some(2), 2, true),
            ScaleStep::Failed
        );
        assert_eq!(
            scale_step("UPDATE_FAILED", Some(2), 2, false),
            ScaleStep::Update
        );
        assert_eq!(
            scale_step("UPDATE_FAILED", Some(3), 2, true),
            ScaleStep::Update
        );
    }
}
