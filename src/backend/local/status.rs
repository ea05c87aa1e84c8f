//! Reading the nodes' `status.json` and summing them up into one observation. Pure.

use crate::backend::Observation;
use crate::cluster::{NodeInfo, Outputs, Progress};
use crate::plan::{ClusterPlan, NodePlan};
use serde::Deserialize;

/// A node's `status.json`, as the deploy driver writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct NodeStatus {
    pub state: String,
    #[serde(default)]
    pub current: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub done: Vec<String>,
}

/// What disco knows of one node.
#[derive(Debug, Clone)]
pub struct NodeView<'a> {
    pub plan: &'a NodePlan,
    pub status: Option<NodeStatus>,
    pub driver_running: bool,
}

impl NodeView<'_> {
    fn state(&self) -> &str {
        self.status.as_ref().map_or("", |s| s.state.as_str())
    }
}

/// Sums the nodes up. `master_reachable` says whether the master's sshd is serving.
pub fn summarize(
    plan: &ClusterPlan,
    nodes: &[NodeView<'_>],
    master_reachable: bool,
    outputs: Outputs,
    node_infos: Vec<NodeInfo>,
) -> Observation {
    let mut progress = Progress {
        frameworks: plan.frameworks.clone(),
        ..Progress::default()
    };
    for framework in &plan.frameworks {
        let finished_everywhere = nodes.iter().all(|node| {
            !node.plan.steps.iter().any(|s| &s.framework == framework)
                || node
                    .status
                    .as_ref()
                    .is_some_and(|s| s.done.iter().any(|d| d == framework))
        });
        if finished_everywhere {
            progress.done.push(framework.clone());
        }
    }
    for node in nodes {
        if let Some(status) = &node.status {
            if status.state == "installing" && !status.current.is_empty() {
                progress
                    .installing
                    .push(format!("{} on {}", status.current, node.plan.name));
            }
        }
    }
    if let Some(failed) = nodes.iter().find(|n| n.state() == "failed") {
        let status = failed.status.clone().unwrap_or_default();
        return Observation::Failed {
            progress,
            reason: format!(
                "{} failed on {}: {}",
                status.current, failed.plan.name, status.reason
            ),
        };
    }
    if nodes.iter().all(|n| n.state() == "ready") && master_reachable {
        return Observation::Ready {
            progress,
            outputs,
            nodes: node_infos,
        };
    }
    if nodes
        .iter()
        .any(|n| n.state() != "ready" && !n.driver_running)
        || !master_reachable
    {
        return Observation::Stalled { progress };
    }
    Observation::Building { progress }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frameworks::Role;
    use crate::plan::InstallStep;
    use uuid::Uuid;

    fn node(name: &str, role: Role, steps: &[&str]) -> NodePlan {
        NodePlan {
            index: 0,
            name: name.into(),
            role,
            steps: steps
                .iter()
                .map(|f| InstallStep {
                    framework: f.to_string(),
                    installer: "install.sh".into(),
                })
                .collect(),
        }
    }

    fn plan() -> ClusterPlan {
        ClusterPlan {
            infrastructure: Default::default(),
            cluster_id: Uuid::nil(),
            nodes: vec![
                node("master", Role::Master, &["base", "shell"]),
                node("slave-1", Role::Slave, &["shell"]),
            ],
            role_steps: Default::default(),
            hooks: Default::default(),
            frameworks: vec!["base".into(), "shell".into()],
            ports: Vec::new(),
            environment: Vec::new(),
            secret_environment: Vec::new(),
            local_needs: Vec::new(),
            generated: Vec::new(),
            secret_vars: String::new(),
            uis: Vec::new(),
        }
    }

    fn status(state: &str, current: &str, done: &[&str]) -> Option<NodeStatus> {
        Some(NodeStatus {
            state: state.into(),
            current: current.into(),
            reason: if state == "failed" {
                "exit 3".into()
            } else {
                String::new()
            },
            done: done.iter().map(|d| d.to_string()).collect(),
        })
    }

    #[test]
    fn progress_counts_a_framework_done_only_when_every_node_finished_it() {
        let plan = plan();
        let nodes = [
            NodeView {
                plan: &plan.nodes[0],
                status: status("ready", "", &["base", "shell"]),
                driver_running: false,
            },
            NodeView {
                plan: &plan.nodes[1],
                status: status("installing", "shell", &[]),
                driver_running: true,
            },
        ];
        let Observation::Building { progress } =
            summarize(&plan, &nodes, true, Outputs::default(), Vec::new())
        else {
            panic!("not building");
        };
        assert_eq!(progress.done, vec!["base"]);
        assert_eq!(progress.installing, vec!["shell on slave-1"]);
    }

    #[test]
    fn one_failed_node_fails_the_cluster_with_its_reason() {
        let plan = plan();
        let nodes = [
            NodeView {
                plan: &plan.nodes[0],
                status: status("ready", "", &["base", "shell"]),
                driver_running: false,
            },
            NodeView {
                plan: &plan.nodes[1],
                status: status("failed", "shell", &[]),
                driver_running: false,
            },
        ];
        let Observation::Failed { reason, .. } =
            summarize(&plan, &nodes, true, Outputs::default(), Vec::new())
        else {
            panic!("not failed");
        };
        assert_eq!(reason, "shell failed on slave-1: exit 3");
    }

    #[test]
    fn a_node_whose_driver_died_unfinished_stalls_the_cluster() {
        let plan = plan();
        let nodes = [
            NodeView {
                plan: &plan.nodes[0],
                status: status("installing", "base", &[]),
                driver_running: false,
            },
            NodeView {
                plan: &plan.nodes[1],
                status: None,
                driver_running: true,
            },
        ];
        assert!(matches!(
            summarize(&plan, &nodes, true, Outputs::default(), Vec::new()),
            Observation::Stalled { .. }
        ));
    }

    #[test]
    fn all_nodes_ready_and_a_reachable_master_is_ready() {
        let plan = plan();
        let nodes = [
            NodeView {
                plan: &plan.nodes[0],
                status: status("ready", "", &["base", "shell"]),
                driver_running: false,
            },
            NodeView {
                plan: &plan.nodes[1],
                status: status("ready", "", &["shell"]),
                driver_running: false,
            },
        ];
        assert!(matches!(
            summarize(&plan, &nodes, true, Outputs::default(), Vec::new()),
            Observation::Ready { .. }
        ));
        assert!(matches!(
            summarize(&plan, &nodes, false, Outputs::default(), Vec::new()),
            Observation::Stalled { .. }
        ));
    }
}
