//! One local node: its directory layout, and the detached scripts disco starts in it (the
//! deploy driver and hook runs), each with the node's environment.

use super::processes::{self, ProcessMark};
use super::status::NodeStatus;
use super::{transient, Inner};
use crate::backend::BackendError;
use crate::frameworks::HookEvent;
use crate::plan::{steps_value, ClusterPlan, InstallStep, NodePlan};
use std::net::Ipv4Addr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Paths of one node's directory.
pub(super) struct NodeDir {
    pub root: PathBuf,
}

impl NodeDir {
    pub fn log_dir(&self) -> PathBuf {
        self.root.join("var/log/disco")
    }
    pub fn run_dir(&self) -> PathBuf {
        self.root.join("run/disco")
    }
    pub fn ssh_dir(&self) -> PathBuf {
        self.root.join("etc/ssh")
    }
    pub fn sshd_pid(&self) -> PathBuf {
        self.root.join("run/sshd.pid")
    }
    pub fn deploy_pid(&self) -> PathBuf {
        self.run_dir().join("deploy.pid")
    }
    pub fn hooks_dir(&self) -> PathBuf {
        self.run_dir().join("hooks")
    }
    pub fn status_file(&self) -> PathBuf {
        self.log_dir().join("status.json")
    }
    /// Present once the node is a member of the cluster: built with it, or joined.
    pub fn member_marker(&self) -> PathBuf {
        self.run_dir().join("member")
    }
    /// What identifies this node's processes.
    pub fn mark(&self) -> ProcessMark {
        ProcessMark::node(&self.root)
    }
    /// PID files of the services the frameworks started (`run/disco/<name>.pid`).
    pub fn service_pid_files(&self) -> Vec<(String, PathBuf)> {
        let mut files = Vec::new();
        if let Ok(entries) = std::fs::read_dir(self.run_dir()) {
            for path in entries.flatten().map(|e| e.path()) {
                let name = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .map(str::to_string);
                match name {
                    Some(name)
                        if path.extension().is_some_and(|x| x == "pid") && name != "deploy" =>
                    {
                        files.push((name, path))
                    }
                    _ => {}
                }
            }
        }
        files.sort();
        files
    }
    /// Every PID file under the node: sshd, the driver, services and hook runs.
    pub fn pid_files(&self) -> Vec<PathBuf> {
        let mut files = vec![self.sshd_pid(), self.deploy_pid()];
        files.extend(self.service_pid_files().into_iter().map(|(_, p)| p));
        if let Ok(entries) = std::fs::read_dir(self.hooks_dir()) {
            files.extend(
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "pid")),
            );
        }
        files
    }
}

/// A run's status file (`status.json` of the deploy driver, or a hook run's), if readable.
pub(super) fn read_status(path: &Path) -> Option<NodeStatus> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// Moves a failed run's status aside, so that asking again starts the run again instead of
/// finding the old failure. Returns the failure.
pub(super) fn consume_failure(path: &Path) -> Option<NodeStatus> {
    let status = read_status(path).filter(|s| s.state == "failed")?;
    let _ = std::fs::rename(path, path.with_extension("failed.json"));
    Some(status)
}

/// Where a hook run is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum HookRun {
    Running(String),
    Done,
    Failed(String),
}

/// One run of the hook driver on one node.
pub(super) struct Hook<'a> {
    pub event: HookEvent,
    /// Unique per cluster change and node, `[a-z0-9-]`.
    pub run: String,
    pub steps: Vec<InstallStep>,
    /// `name=address` of the nodes concerned.
    pub nodes: Vec<(String, Ipv4Addr)>,
    pub node: &'a NodePlan,
}

impl Inner {
    /// The command that runs `script` (in `frameworks/lib/`) in a node, with the node's
    /// environment (who it is, the cluster's addresses, the plan's parameters and secrets),
    /// in the node's cgroup.
    fn node_command(
        &self,
        plan: &ClusterPlan,
        node: &NodePlan,
        dir: &NodeDir,
        addresses: &[Ipv4Addr],
        local_settings: &[(String, String)],
        script: &str,
    ) -> Result<Command, BackendError> {
        let id = plan.cluster_id;
        let master = addresses[0];
        let slaves: Vec<String> = addresses[1..].iter().map(|a| a.to_string()).collect();
        let lib = self.settings.frameworks_dir.join("lib");
        let mut command = Command::new("nice");
        command
            .arg("-n")
            .arg(self.settings.build_nice.to_string())
            .arg("bash")
            .arg(lib.join(script))
            .current_dir(&dir.root)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &dir.root)
            .env("LANG", "C.UTF-8")
            .env("DISCO_PROFILE", "local")
            .env("DISCO_CLUSTER_ID", id.to_string())
            .env("DISCO_NODE_NAME", &node.name)
            .env("DISCO_ROLE", node.role.as_str())
            .env("DISCO_NODE_ROOT", &dir.root)
            .env("DISCO_NODE_ADDR", addresses[node.index].to_string())
            .env("DISCO_MASTER_ADDR", master.to_string())
            .env("DISCO_SLAVE_ADDRS", slaves.join(" "))
            .env("DISCO_NODE_COUNT", addresses.len().to_string())
            .env("DISCO_LOG_PORT", self.settings.log_port.to_string())
            .env(
                "DISCO_STOP_GRACE",
                self.settings.stop_grace.as_secs().to_string(),
            )
            .env("DISCO_FRAMEWORKS_DIR", &self.settings.frameworks_dir)
            .env("DISCO_LIB", &lib)
            .env("DISCO_STEPS", node.steps_value())
            .env("DISCO_FRAMEWORKS", plan.frameworks_value())
            .env("DISCO_SECRET_VARS", &plan.secret_vars)
            .env("DISCO_CLUSTER_SHARE", self.cluster_dir(id).join("shared"))
            .env("DISCO_ARTIFACT_CACHE", self.artifact_cache())
            .envs(self.settings.mirror.iter().map(|m| ("DISCO_MIRROR", m)))
            .envs(local_settings.iter().map(|(k, v)| (k, v)))
            .envs(plan.environment.iter().map(|(k, v)| (k, v)))
            .envs(plan.secret_environment.iter().map(|(k, v)| (k, v.expose())))
            .stdin(Stdio::null())
            .process_group(0);
        self.contain(&mut command, id, dir)?;
        Ok(command)
    }

    /// Starts `command` detached, its output appended to `log`, and writes its PID to
    /// `pid_file` before returning (so a look right after sees it running).
    fn spawn_detached(
        &self,
        mut command: Command,
        log: &Path,
        pid_file: &Path,
        what: &str,
    ) -> Result<(), BackendError> {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(transient)?;
        let err = out.try_clone().map_err(transient)?;
        command.stdout(out).stderr(err);
        let pid = super::spawn_reaped(command)
            .map_err(|e| transient(format!("cannot start {what}: {e}")))?;
        std::fs::write(pid_file, format!("{pid}\n")).map_err(transient)?;
        Ok(())
    }

    /// Starts the node's deploy driver unless it runs or has finished.
    pub(super) fn start_driver(
        &self,
        plan: &ClusterPlan,
        node: &NodePlan,
        dir: &NodeDir,
        addresses: &[Ipv4Addr],
        local_settings: &[(String, String)],
    ) -> Result<(), BackendError> {
        if processes::pid_file_alive(&dir.deploy_pid(), &self.mark(plan.cluster_id)) {
            return Ok(());
        }
        if read_status(&dir.status_file())
            .is_some_and(|s| s.state == "ready" || s.state == "failed")
        {
            return Ok(());
        }
        let command = self.node_command(plan, node, dir, addresses, local_settings, "deploy.sh")?;
        self.spawn_detached(
            command,
            &dir.log_dir().join("deploy.out"),
            &dir.deploy_pid(),
            "the deploy driver",
        )
    }

    /// Starts (or follows) a hook run on a node: where it is now.
    pub(super) fn hook(
        &self,
        plan: &ClusterPlan,
        hook: &Hook<'_>,
        dir: &NodeDir,
        addresses: &[Ipv4Addr],
        local_settings: &[(String, String)],
    ) -> Result<HookRun, BackendError> {
        // Resume always runs: it restarts the node's services before any hook step.
        if hook.steps.is_empty() && hook.event != HookEvent::Resume {
            return Ok(HookRun::Done);
        }
        let hooks_dir = dir.hooks_dir();
        std::fs::create_dir_all(&hooks_dir).map_err(transient)?;
        let status_file = hooks_dir.join(format!("{}.json", hook.run));
        let pid_file = hooks_dir.join(format!("{}.pid", hook.run));
        let what = format!("{} hooks on {}", hook.event.as_str(), hook.node.name);
        match read_status(&status_file) {
            Some(status) if status.state == "done" => return Ok(HookRun::Done),
            Some(status) if status.state == "failed" => {
                let failed = consume_failure(&status_file).unwrap_or(status);
                return Ok(HookRun::Failed(format!(
                    "{what}: {} failed: {}",
                    failed.current, failed.reason
                )));
            }
            _ => {}
        }
        if processes::pid_file_alive(&pid_file, &self.mark(plan.cluster_id)) {
            return Ok(HookRun::Running(what));
        }
        if pid_file.exists() {
            // Started before and gone: finished just now, or ended without a word.
            if read_status(&status_file).is_some() {
                return self.hook(plan, hook, dir, addresses, local_settings);
            }
            let _ = std::fs::remove_file(&pid_file);
            let output =
                std::fs::read_to_string(dir.log_dir().join("hooks.out")).unwrap_or_default();
            let last = output
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no output");
            return Ok(HookRun::Failed(format!(
                "{what} stopped without reporting an outcome (last output: {})",
                last.chars().take(300).collect::<String>()
            )));
        }
        let nodes: Vec<String> = hook
            .nodes
            .iter()
            .map(|(name, address)| format!("{name}={address}"))
            .collect();
        let mut command = self.node_command(
            plan,
            hook.node,
            dir,
            addresses,
            local_settings,
            "hooks/driver.sh",
        )?;
        command
            .env("DISCO_HOOK", hook.event.as_str())
            .env("DISCO_HOOK_RUN", &hook.run)
            .env("DISCO_HOOK_STEPS", steps_value(&hook.steps))
            .env("DISCO_HOOK_NODES", nodes.join(" "));
        self.spawn_detached(command, &dir.log_dir().join("hooks.out"), &pid_file, &what)?;
        Ok(HookRun::Running(what))
    }
}
