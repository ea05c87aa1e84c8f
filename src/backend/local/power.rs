//! Suspend and resume on the local backend: suspend stops every process of every node and
//! keeps directories, addresses and keys; resume starts sshd again and, on each node, the
//! services the frameworks recorded (then the frameworks' resume hooks).

use super::node::{Hook, HookRun, NodeDir};
use super::{Inner, LocalBackend};
use crate::backend::{BackendError, PowerControl, ProvisionRequest, Transition};
use crate::frameworks::HookEvent;
use crate::plan::ClusterPlan;
use async_trait::async_trait;

/// Name of a resume's hook runs; their records are removed by each suspend.
const RESUME_RUN: &str = "resume";

impl Inner {
    fn suspend(&self, plan: &ClusterPlan) -> Result<Transition, BackendError> {
        let id = plan.cluster_id;
        let alive = self.stop_marked(
            &self.cluster_dir(id),
            &self.mark(id),
            &self.cluster_pid_files(id),
            self.cluster_group(id).as_deref(),
        );
        if alive > 0 {
            return Ok(Transition::InProgress {
                activity: format!("suspending: stopping {alive} process(es)"),
                events: Vec::new(),
            });
        }
        for node in &plan.nodes {
            forget_resume(&self.node_dir(id, node));
        }
        let addresses = self.addresses(plan)?;
        Ok(Transition::Done {
            nodes: Inner::node_infos(plan, &addresses),
            outputs: None,
            events: Vec::new(),
        })
    }

    fn resume(
        &self,
        plan: &ClusterPlan,
        public_key: &str,
        secrets: &[(String, String)],
    ) -> Result<Transition, BackendError> {
        let id = plan.cluster_id;
        let local_settings = self.installer_settings(plan, secrets)?;
        let addresses = self.addresses(plan)?;
        let master = self.node_dir(id, &plan.nodes[0]);
        self.ensure_sshd(id, &master, addresses[0], public_key)?;
        let resume = |node: &crate::plan::NodePlan| {
            let hook = Hook {
                event: HookEvent::Resume,
                run: RESUME_RUN.to_string(),
                steps: plan.hook_steps(HookEvent::Resume, node.role),
                nodes: Vec::new(),
                node,
            };
            self.hook(
                plan,
                &hook,
                &self.node_dir(id, node),
                &addresses,
                &local_settings,
            )
        };
        // The master first: the slaves' services (a Spark worker) reach for the master's.
        let (first, rest) = plan.nodes.split_at(1);
        let mut running = Vec::new();
        for group in [first, rest] {
            for node in group {
                match resume(node)? {
                    HookRun::Done => {}
                    HookRun::Running(_) => running.push(node.name.as_str()),
                    HookRun::Failed(reason) => {
                        return Ok(Transition::Failed {
                            reason: format!("{reason}; resume again to retry"),
                        })
                    }
                }
            }
            if !running.is_empty() {
                break;
            }
        }
        if !running.is_empty() {
            return Ok(Transition::InProgress {
                activity: format!("resuming: starting the services on {}", running.join(", ")),
                events: Vec::new(),
            });
        }
        Ok(Transition::Done {
            nodes: Inner::node_infos(plan, &addresses),
            outputs: Some(self.outputs(addresses[0], Inner::host_key(&master))),
            events: Vec::new(),
        })
    }
}

/// Removes a node's records of the last resume, so the next one runs afresh.
fn forget_resume(dir: &NodeDir) {
    let Ok(entries) = std::fs::read_dir(dir.hooks_dir()) else {
        return;
    };
    let prefix = format!("{RESUME_RUN}.");
    for path in entries.flatten().map(|e| e.path()) {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with(&prefix) {
            let _ = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
        }
    }
}

#[async_trait]
impl PowerControl for LocalBackend {
    async fn suspend(&self, request: ProvisionRequest<'_>) -> Result<Transition, BackendError> {
        let plan = request.plan.clone();
        self.blocking(move |inner| inner.suspend(&plan)).await
    }

    async fn resume(&self, request: ProvisionRequest<'_>) -> Result<Transition, BackendError> {
        let plan = request.plan.clone();
        let public_key = request.ssh_public_key.to_string();
        let secrets = request.secrets.to_vec();
        self.blocking(move |inner| inner.resume(&plan, &public_key, &secrets))
            .await
    }
}
