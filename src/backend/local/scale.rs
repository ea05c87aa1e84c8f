//! Scaling a local cluster: new slaves get an address, a directory and the slave installers,
//! then join (the frameworks' join hooks); slaves beyond the count leave, highest index first
//! (the frameworks' leave hooks, then their processes stop, their directory and address go).

use super::node::{consume_failure, read_status, Hook, HookRun, NodeDir};
use super::{store_error, transient, Inner, LocalBackend};
use crate::backend::{BackendError, ProvisionRequest, Scaling, Transition};
use crate::cluster::event::{EventKind, NewEvent};
use crate::frameworks::{HookEvent, Role};
use crate::plan::{ClusterPlan, NodePlan};
use async_trait::async_trait;
use std::net::Ipv4Addr;

fn in_progress(activity: String, events: Vec<NewEvent>) -> Transition {
    Transition::InProgress { activity, events }
}

impl Inner {
    fn scale(
        &self,
        plan: &ClusterPlan,
        secrets: &[(String, String)],
    ) -> Result<Transition, BackendError> {
        let id = plan.cluster_id;
        let local_settings = self.installer_settings(plan, secrets)?;
        let held = self.store.addresses(id).map_err(store_error)?;
        let target = plan.nodes.len();
        let slaves = target - 1;
        let leaving = held
            .iter()
            .filter(|(index, _)| *index >= target)
            .max_by_key(|(index, _)| *index);
        if let Some(&(index, address)) = leaving {
            return self.remove_slave(plan, index, address, &held, &local_settings);
        }
        let addresses = self.addresses(plan)?;
        let joining: Vec<&NodePlan> = plan
            .nodes
            .iter()
            .filter(|n| n.role == Role::Slave && !self.node_dir(id, n).member_marker().exists())
            .collect();
        if joining.is_empty() {
            return Ok(Transition::Done {
                nodes: Inner::node_infos(plan, &addresses),
                outputs: None,
                events: Vec::new(),
            });
        }
        let names: Vec<&str> = joining.iter().map(|n| n.name.as_str()).collect();
        let mut events = Vec::new();
        let mut installing = Vec::new();
        for node in &joining {
            let dir = self.node_dir(id, node);
            self.prepare_node(&dir)?;
            if let Some(failed) = consume_failure(&dir.status_file()) {
                return Ok(Transition::Failed {
                    reason: format!(
                        "{} failed on {}: {}; scale again to retry",
                        failed.current, node.name, failed.reason
                    ),
                });
            }
            let status = read_status(&dir.status_file());
            if status.is_none()
                && !super::processes::pid_file_alive(&dir.deploy_pid(), &self.mark(id))
            {
                events.push(
                    NewEvent::new(EventKind::Step, "added: installing its frameworks")
                        .on(&node.name),
                );
            }
            self.start_driver(plan, node, &dir, &addresses, &local_settings)?;
            match status {
                Some(status) if status.state == "ready" => {}
                Some(status) if !status.current.is_empty() => {
                    installing.push(format!("{} on {}", status.current, node.name))
                }
                _ => installing.push(format!("starting {}", node.name)),
            }
        }
        if !installing.is_empty() {
            return Ok(in_progress(
                format!(
                    "scaling to {slaves} slaves: adding {} ({})",
                    names.join(", "),
                    installing.join(", ")
                ),
                events,
            ));
        }
        // Every new slave is installed: the frameworks take them in, master first.
        let hook_nodes: Vec<(String, Ipv4Addr)> = joining
            .iter()
            .map(|n| (n.name.clone(), addresses[n.index]))
            .collect();
        let master = &plan.nodes[0];
        let on_master = Hook {
            event: HookEvent::Join,
            run: format!("join-{}", names.join("-")),
            steps: plan.hook_steps(HookEvent::Join, Role::Master),
            nodes: hook_nodes.clone(),
            node: master,
        };
        let mut runs = vec![(on_master, self.node_dir(id, master))];
        for node in &joining {
            runs.push((
                Hook {
                    event: HookEvent::Join,
                    run: "join".to_string(),
                    steps: plan.hook_steps(HookEvent::Join, Role::Slave),
                    nodes: hook_nodes.clone(),
                    node,
                },
                self.node_dir(id, node),
            ));
        }
        for (hook, dir) in &runs {
            match self.hook(plan, hook, dir, &addresses, &local_settings)? {
                HookRun::Done => {}
                HookRun::Running(what) => {
                    return Ok(in_progress(
                        format!(
                            "scaling to {slaves} slaves: {} joining ({what})",
                            names.join(", ")
                        ),
                        events,
                    ))
                }
                HookRun::Failed(reason) => {
                    return Ok(Transition::Failed {
                        reason: format!("{reason}; scale again to retry"),
                    })
                }
            }
        }
        for node in &joining {
            std::fs::write(self.node_dir(id, node).member_marker(), b"").map_err(transient)?;
            events.push(NewEvent::new(EventKind::Step, "joined the cluster").on(&node.name));
        }
        Ok(Transition::Done {
            nodes: Inner::node_infos(plan, &addresses),
            outputs: None,
            events,
        })
    }

    /// One step of removing slave `index`: its leave hooks (master's, then its own), then its
    /// processes stop, then its directory and address go.
    fn remove_slave(
        &self,
        plan: &ClusterPlan,
        index: usize,
        address: Ipv4Addr,
        held: &[(usize, Ipv4Addr)],
        local_settings: &[(String, String)],
    ) -> Result<Transition, BackendError> {
        let id = plan.cluster_id;
        let everyone = plan.with_slaves(held.len().saturating_sub(1) as u32);
        let Some(node) = everyone.nodes.get(index) else {
            return Err(BackendError::Permanent(format!(
                "node {index} of the cluster has an address but no place in its plan"
            )));
        };
        let all_addresses: Vec<Ipv4Addr> = held.iter().map(|(_, a)| *a).collect();
        let remaining: Vec<Ipv4Addr> = all_addresses[..plan.nodes.len()].to_vec();
        let dir = self.node_dir(id, node);
        let master_dir = self.node_dir(id, &plan.nodes[0]);
        let activity = |what: String| format!("scaling to {} slaves: {what}", plan.nodes.len() - 1);
        let left = dir.run_dir().join("left");
        let mut events = Vec::new();
        if dir.root.exists() && !left.exists() {
            let nodes = vec![(node.name.clone(), address)];
            let runs = [
                (
                    Hook {
                        event: HookEvent::Leave,
                        run: format!("leave-{}", node.name),
                        steps: plan.hook_steps(HookEvent::Leave, Role::Master),
                        nodes: nodes.clone(),
                        node: &plan.nodes[0],
                    },
                    &master_dir,
                    &remaining,
                ),
                (
                    Hook {
                        event: HookEvent::Leave,
                        run: "leave".to_string(),
                        steps: plan.hook_steps(HookEvent::Leave, Role::Slave),
                        nodes,
                        node,
                    },
                    &dir,
                    &all_addresses,
                ),
            ];
            for (hook, hook_dir, addresses) in runs {
                match self.hook(plan, &hook, hook_dir, addresses, local_settings)? {
                    HookRun::Done => {}
                    HookRun::Running(what) => {
                        return Ok(in_progress(
                            activity(format!("{} leaving ({what})", node.name)),
                            events,
                        ))
                    }
                    HookRun::Failed(reason) => {
                        return Ok(Transition::Failed {
                            reason: format!("{reason}; scale again to retry"),
                        })
                    }
                }
            }
            std::fs::create_dir_all(dir.run_dir()).map_err(transient)?;
            std::fs::write(&left, b"").map_err(transient)?;
            events.push(NewEvent::new(EventKind::Step, "left the frameworks").on(&node.name));
        }
        let group = self.node_group(id, &dir);
        let alive = self.stop_marked(&dir.root, &dir.mark(), &dir.pid_files(), group.as_deref());
        if alive > 0 {
            return Ok(in_progress(
                activity(format!(
                    "{} leaving: stopping {alive} process(es)",
                    node.name
                )),
                events,
            ));
        }
        if let Err(reason) = self.remove_group(group.as_deref()) {
            return Ok(in_progress(activity(reason), events));
        }
        match std::fs::remove_dir_all(&dir.root) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Ok(in_progress(
                    activity(format!("cannot remove {} yet: {e}", dir.root.display())),
                    events,
                ))
            }
        }
        forget_hook_runs(&master_dir, &node.name);
        self.store
            .release_addresses(id, index)
            .map_err(store_error)?;
        events.push(NewEvent::new(EventKind::Step, "removed").on(&node.name));
        Ok(in_progress(
            activity(format!("removed {}", node.name)),
            events,
        ))
    }
}

/// Forgets the master's records of join runs and of `node`'s leave run, so that a slave of
/// the same name added later joins afresh.
fn forget_hook_runs(master: &NodeDir, node: &str) {
    let Ok(entries) = std::fs::read_dir(master.hooks_dir()) else {
        return;
    };
    let leave = format!("leave-{node}.");
    for path in entries.flatten().map(|e| e.path()) {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if name.starts_with("join-") || name.starts_with(&leave) {
            let _ = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
        }
    }
}

#[async_trait]
impl Scaling for LocalBackend {
    async fn scale(&self, request: ProvisionRequest<'_>) -> Result<Transition, BackendError> {
        let plan = request.plan.clone();
        let secrets = request.secrets.to_vec();
        self.blocking(move |inner| inner.scale(&plan, &secrets))
            .await
    }
}
