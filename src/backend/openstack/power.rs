//! Suspend and resume through Heat's stack actions (Nova suspends and resumes the servers;
//! their disks, addresses and keys stay).

use super::{Looked, OpenStackBackend};
use crate::backend::{BackendError, PowerControl, ProvisionRequest, Transition};
use async_trait::async_trait;

/// What to do for a stack `action` (suspend or resume), from the stack's status and whether
/// this process already asked for this attempt. Pure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ActionStep {
    Wait,
    Ask,
    Done,
    Failed,
}

pub(super) fn action_step(action: &str, status: &str, asked: bool) -> ActionStep {
    let action = action.to_ascii_uppercase();
    if status == format!("{action}_COMPLETE") {
        ActionStep::Done
    } else if status.ends_with("_IN_PROGRESS") {
        ActionStep::Wait
    } else if !asked {
        ActionStep::Ask
    } else if status == format!("{action}_FAILED") {
        ActionStep::Failed
    } else {
        // Asked, and Heat has not started yet.
        ActionStep::Wait
    }
}

impl OpenStackBackend {
    async fn stack_action(
        &self,
        request: ProvisionRequest<'_>,
        action: &'static str,
    ) -> Result<Transition, BackendError> {
        let id = request.plan.cluster_id;
        if let Some(in_progress) = self.operation_still_in_progress(id) {
            return Ok(in_progress);
        }
        let grant = Self::grant(request.data)?;
        let name = super::stack_name(id);
        let Some(stack) = self.current_stack(&grant, id).await? else {
            return Ok(Transition::Failed {
                reason: format!("the cluster's Heat stack {name} is gone"),
            });
        };
        let asked = self.asked(id, request.generation, action, false);
        match action_step(action, &stack.stack_status, asked) {
            ActionStep::Done => Ok(Transition::Done {
                nodes: self.node_infos(request.plan),
                outputs: Some(self.outputs(&stack)),
                events: Vec::new(),
            }),
            ActionStep::Wait => {
                let activity = format!("{action}: stack {}", stack.stack_status);
                self.remember(
                    id,
                    stack.stack_status.clone(),
                    Looked::Operation(activity.clone()),
                );
                Ok(Transition::InProgress {
                    activity,
                    events: Vec::new(),
                })
            }
            ActionStep::Ask => {
                self.with_heat(&grant, |heat| {
                    let stack = &stack;
                    async move { heat.act(stack, action).await }
                })
                .await?;
                Ok(self.after_asking(
                    id,
                    request.generation,
                    action,
                    format!("{action}: asked Heat"),
                    format!("Heat asked to {action} stack {name}"),
                ))
            }
            ActionStep::Failed => Ok(Transition::Failed {
                reason: format!(
                    "{}; {action} again to retry",
                    self.failure(&grant, &stack).await
                ),
            }),
        }
    }
}

#[async_trait]
impl PowerControl for OpenStackBackend {
    async fn suspend(&self, request: ProvisionRequest<'_>) -> Result<Transition, BackendError> {
        self.stack_action(request, "suspend").await
    }

    async fn resume(&self, request: ProvisionRequest<'_>) -> Result<Transition, BackendError> {
        self.stack_action(request, "resume").await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_action_is_asked_once_and_its_outcome_followed() {
        assert_eq!(
            action_step("suspend", "UPDATE_COMPLETE", false),
            ActionStep::Ask
        );
        assert_eq!(
            action_step("suspend", "UPDATE_COMPLETE", true),
            ActionStep::Wait
        );
        assert_eq!(
            action_step("suspend", "SUSPEND_IN_PROGRESS", true),
            ActionStep::Wait
        );
        assert_eq!(
            action_step("suspend", "SUSPEND_COMPLETE", true),
            ActionStep::Done
        );
        assert_eq!(
            action_step("suspend", "SUSPEND_FAILED", true),
            ActionStep::Failed
        );
        assert_eq!(
            action_step("resume", "SUSPEND_FAILED", false),
            ActionStep::Ask
        );
        assert_eq!(
            action_step("resume", "RESUME_FAILED", false),
            ActionStep::Ask
        );
    }
}
