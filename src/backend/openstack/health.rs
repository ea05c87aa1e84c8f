//! Health looks at an OpenStack cluster: Heat's stack check asks each resource's service
//! (Nova for the servers) whether it is still as Heat made it. One look reads the outcome of
//! the previous check and starts the next.

use super::OpenStackBackend;
use crate::backend::{BackendError, Health, HealthCheck};
use crate::plan::ClusterPlan;
use async_trait::async_trait;

#[async_trait]
impl HealthCheck for OpenStackBackend {
    async fn check_health(
        &self,
        plan: &ClusterPlan,
        data: Option<&serde_json::Value>,
    ) -> Result<Health, BackendError> {
        let grant = Self::grant(data)?;
        let name = super::stack_name(plan.cluster_id);
        let Some(stack) = self.current_stack(&grant, plan.cluster_id).await? else {
            return Ok(Health::Unhealthy {
                node: None,
                service: format!("Heat stack {name}"),
                problem: "is gone".into(),
            });
        };
        let status = stack.stack_status.as_str();
        if status.ends_with("_IN_PROGRESS") {
            return Err(BackendError::Transient(format!(
                "stack {name} is {status}; its health is looked at later"
            )));
        }
        if status.ends_with("_FAILED") {
            return Ok(Health::Unhealthy {
                node: None,
                service: format!("Heat stack {name}"),
                problem: self.failure(&grant, &stack).await,
            });
        }
        self.with_heat(&grant, |heat| {
            let stack = &stack;
            async move { heat.act(stack, "check").await }
        })
        .await?;
        Ok(Health::Healthy)
    }
}
