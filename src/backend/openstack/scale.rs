//! Scaling an OpenStack cluster: a stack update (`PATCH`) of the slave group's count, with
//! the installers' environment for the new count. New slaves boot, install and signal their
//! own wait conditions; Heat removes the highest indexes first when the count goes down (no
//! removal policy: one would exclude the index for good, and a slave added later would get
//! another name and address).

use super::{stack_name, Looked, OpenStackBackend};
use crate::backend::{BackendError, ProvisionRequest, Scaling, Transition};
use async_trait::async_trait;

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
        if let Some(Looked::Operation(activity)) = self.recent(id) {
            return Ok(Transition::InProgress {
                activity,
                events: Vec::new(),
            });
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
            ScaleStep::Done => Ok(Transition::Done {
                nodes: self.node_infos(request.plan),
                outputs: Some(self.outputs(&stack)),
                events: Vec::new(),
            }),
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
