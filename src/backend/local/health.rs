//! Health looks at a local cluster: every service the frameworks started is alive, and the
//! master's sshd and log server answer.

use super::{port_open, Inner, LocalBackend};
use crate::backend::{BackendError, Health, HealthCheck};
use crate::plan::ClusterPlan;
use async_trait::async_trait;

impl Inner {
    fn health(&self, plan: &ClusterPlan) -> Result<Health, BackendError> {
        let id = plan.cluster_id;
        let addresses = self.addresses(plan)?;
        let mark = self.mark(id);
        let master = &plan.nodes[0];
        let master_dir = self.node_dir(id, master);
        let unhealthy = |node: &str, service: &str, problem: String| Health::Unhealthy {
            node: Some(node.to_string()),
            service: service.to_string(),
            problem,
        };
        let ssh = (addresses[0], self.settings.ssh_port);
        if !super::processes::pid_file_alive(&master_dir.sshd_pid(), &mark)
            || !port_open(ssh.0, ssh.1)
        {
            return Ok(unhealthy(
                &master.name,
                "sshd",
                format!("does not answer on {}:{}", ssh.0, ssh.1),
            ));
        }
        for node in &plan.nodes {
            let dir = self.node_dir(id, node);
            for (service, pid_file) in dir.service_pid_files() {
                if !super::processes::pid_file_alive(&pid_file, &mark) {
                    return Ok(unhealthy(&node.name, &service, "is not running".into()));
                }
            }
        }
        let log = (addresses[0], self.settings.log_port);
        if !port_open(log.0, log.1) {
            return Ok(unhealthy(
                &master.name,
                "log server",
                format!("does not answer on {}:{}", log.0, log.1),
            ));
        }
        Ok(Health::Healthy)
    }
}

#[async_trait]
impl HealthCheck for LocalBackend {
    async fn check_health(
        &self,
        plan: &ClusterPlan,
        _data: Option<&serde_json::Value>,
    ) -> Result<Health, BackendError> {
        let plan = plan.clone();
        self.blocking(move |inner| inner.health(&plan)).await
    }
}
