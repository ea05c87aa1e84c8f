//! The `local` backend: a cluster on this machine. Each node is a loopback address and a
//! directory; the master runs a real sshd and the deployment log server; installers run with
//! the framework runtime's `local` profile through one deploy driver per node.

pub mod cgroup;
mod health;
mod node;
mod power;
pub mod processes;
mod scale;
pub mod sshd;
pub mod status;

use super::{
    Backend, BackendError, HealthCheck, Observation, PowerControl, ProvisionRequest, Scaling,
    Teardown,
};
use crate::cluster::{NodeInfo, Outputs};
use crate::config::AddressRange;
use crate::plan::{ClusterPlan, NodePlan};
use crate::store::{Store, StoreError};
use async_trait::async_trait;
use cgroup::{CgroupMode, Cgroups};
use node::NodeDir;
use processes::ProcessMark;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Settings of the local backend.
#[derive(Debug, Clone)]
pub struct LocalSettings {
    /// Where node directories live: `<clusters_dir>/<cluster id>/<node name>/`.
    pub clusters_dir: PathBuf,
    pub frameworks_dir: PathBuf,
    pub address_range: AddressRange,
    pub ssh_port: u16,
    pub log_port: u16,
    pub sshd_path: PathBuf,
    pub stop_grace: Duration,
    /// Niceness of deploy drivers and everything they start.
    pub build_nice: u8,
    /// Artifact mirror for installers (`DISCO_MIRROR`).
    pub mirror: Option<String>,
    /// Which cgroups hold the nodes' processes (`local.cgroups`).
    pub cgroups: CgroupMode,
    /// How long a framework's `local-check.sh` may run.
    pub check_timeout: Duration,
}

pub struct LocalBackend {
    inner: Arc<Inner>,
}

/// How long a local check script's answer is reused.
const CHECK_CACHE: Duration = Duration::from_secs(60);

type CheckResult = Result<Vec<(String, String)>, String>;

struct Inner {
    settings: LocalSettings,
    store: Arc<Store>,
    user: String,
    /// Answers of frameworks' local check scripts, by script path.
    checks: Mutex<HashMap<PathBuf, (Instant, CheckResult)>>,
    /// When stopping a set of processes (a cluster's or a node's, by directory) first
    /// signalled them (SIGKILL follows after the grace period).
    stops: Mutex<HashMap<PathBuf, Instant>>,
    /// The nodes' cgroups, when this machine lets disco make them.
    cgroups: Option<Cgroups>,
}

fn transient(e: impl std::fmt::Display) -> BackendError {
    BackendError::Transient(e.to_string())
}

fn store_error(e: StoreError) -> BackendError {
    match e {
        StoreError::AddressesExhausted => BackendError::Permanent(e.to_string()),
        other => BackendError::Transient(other.to_string()),
    }
}

/// The name of the user this process runs as (the only user the nodes' sshd lets in).
fn current_user() -> String {
    // SAFETY: getuid(2) cannot fail and touches no memory.
    let uid = unsafe { libc::getuid() };
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                let id: u32 = fields.nth(1)?.parse().ok()?;
                (id == uid).then(|| name.to_string())
            })
        })
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "root".into())
}

fn find_on_path(tool: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|dir| {
        let candidate = dir.join(tool);
        candidate.is_file()
            && std::fs::metadata(&candidate)
                .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0)
                .unwrap_or(false)
    })
}

fn port_open(address: Ipv4Addr, port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from((address, port)),
        Duration::from_millis(200),
    )
    .is_ok()
}

fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    std::io::Write::write_all(&mut file, contents)
}

/// Starts `command` and waits for it in a task of the runtime (tokio reaps its children on
/// SIGCHLD), so it never lingers as a zombie and no thread waits for it. Must be called from
/// within the runtime (the backend's blocking tasks are).
pub(super) fn spawn_reaped(command: Command) -> std::io::Result<u32> {
    let mut child = tokio::process::Command::from(command).spawn()?;
    let pid = child
        .id()
        .ok_or_else(|| std::io::Error::other("the child exited before its PID was read"))?;
    tokio::spawn(async move {
        let _ = child.wait().await;
    });
    Ok(pid)
}

/// Reads (or creates) the id that names this data directory's cgroups, so that several
/// disco instances on one machine keep to their own.
fn instance_id(data_dir: &Path) -> std::io::Result<String> {
    let path = data_dir.join("instance-id");
    match std::fs::read_to_string(&path) {
        Ok(text) if is_instance_id(text.trim()) => Ok(text.trim().to_string()),
        Ok(_) => Err(std::io::Error::other(format!(
            "{} does not hold 32 hexadecimal digits",
            path.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir)?;
            let id = Uuid::new_v4().simple().to_string();
            std::fs::write(&path, format!("{id}\n"))?;
            Ok(id)
        }
        Err(e) => Err(e),
    }
}

fn is_instance_id(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The nodes' cgroups, or `None` with a warning (once, at start) saying what is lost.
fn open_cgroups(settings: &LocalSettings) -> Option<Cgroups> {
    let data_dir = settings
        .clusters_dir
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let opened = if settings.cgroups == CgroupMode::Off {
        Err("local.cgroups = off".to_string())
    } else {
        instance_id(&data_dir)
            .map_err(|e| format!("no instance id: {e}"))
            .and_then(|instance| Cgroups::open(settings.cgroups, &instance))
    };
    match opened {
        Ok(cgroups) => {
            let hierarchy = match cgroups.version() {
                cgroup::Version::V1 => "cgroup v1, pids controller",
                cgroup::Version::V2 => "cgroup v2",
            };
            tracing::info!(
                "each local node's processes run in a cgroup of their own ({hierarchy})"
            );
            Some(cgroups)
        }
        Err(reason) => {
            tracing::warn!(
                %reason,
                "cgroups are not used: a node's processes are found by PID files, process \
                 groups, environment and command line, and one that leaves all of them \
                 (env -i setsid ... &) survives delete and suspend"
            );
            None
        }
    }
}

impl LocalBackend {
    /// The backend; opens the nodes' cgroups (or warns that it cannot) and stops what is
    /// left in the groups of clusters that are gone.
    pub fn new(settings: LocalSettings, store: Arc<Store>) -> LocalBackend {
        let cgroups = open_cgroups(&settings);
        let inner = Inner {
            settings,
            store,
            user: current_user(),
            checks: Mutex::new(HashMap::new()),
            stops: Mutex::new(HashMap::new()),
            cgroups,
        };
        inner.remove_leftover_groups();
        LocalBackend {
            inner: Arc::new(inner),
        }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<T, BackendError> + Send + 'static,
    ) -> Result<T, BackendError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(|e| BackendError::Transient(format!("local backend task failed: {e}")))?
    }
}

/// Runs a framework's local check script: `KEY=VALUE` lines on success, or the reason. The
/// script runs as a child the runtime waits for, so no thread blocks on it; if the future is
/// dropped (a timeout), the script's whole process group is killed.
async fn run_check(script: &Path) -> CheckResult {
    let mut command = tokio::process::Command::new("bash");
    command
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let child = command
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    let mut group = GroupKiller(child.id().map(|pid| pid as i32));
    let output = child
        .wait_with_output()
        .await
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    group.0 = None; // finished: nothing to kill
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let reason = stdout
            .lines()
            .chain(stderr.lines())
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("its local check failed");
        return Err(reason.to_string());
    }
    let mut settings = Vec::new();
    for line in stdout.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let valid = line.split_once('=').filter(|(key, _)| {
            key.starts_with("DISCO_LOCAL_")
                && key
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        });
        match valid {
            Some((key, value)) => settings.push((key.to_string(), value.to_string())),
            None => {
                return Err(format!(
                    "{} printed `{line}`; only DISCO_LOCAL_*=value lines are allowed",
                    script.display()
                ))
            }
        }
    }
    Ok(settings)
}

/// Kills a process group when dropped, unless disarmed (`None`): a check that timed out.
struct GroupKiller(Option<i32>);

impl Drop for GroupKiller {
    fn drop(&mut self) {
        if let Some(group) = self.0 {
            // SAFETY: kill(2) has no memory-safety preconditions; the group is the check's,
            // whose leader was not waited for yet, so its id cannot have been reused.
            unsafe {
                libc::kill(-group, libc::SIGKILL);
            }
        }
    }
}

impl Inner {
    /// The local checks of the plan's frameworks: the settings they printed, or the first
    /// framework that cannot run here and why. A check that timed out is not remembered.
    async fn local_settings(
        &self,
        plan: &ClusterPlan,
    ) -> Result<Vec<(String, String)>, BackendError> {
        let mut settings = Vec::new();
        for need in &plan.local_needs {
            let Some(script) = &need.check else { continue };
            let cached = {
                let checks = self.checks.lock().unwrap_or_else(|p| p.into_inner());
                checks
                    .get(script)
                    .filter(|(at, _)| at.elapsed() < CHECK_CACHE)
                    .map(|(_, result)| result.clone())
            };
            let result = match cached {
                Some(result) => result,
                None => {
                    let timeout = self.settings.check_timeout;
                    let Ok(result) = tokio::time::timeout(timeout, run_check(script)).await else {
                        return Err(BackendError::Unavailable(format!(
                            "framework {}: its local check {} did not finish within {} s \
                             (local.check_timeout_secs); the machine may be overloaded, try \
                             again later",
                            need.framework,
                            script.display(),
                            timeout.as_secs()
                        )));
                    };
                    self.checks
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(script.clone(), (Instant::now(), result.clone()));
                    result
                }
            };
            match result {
                Ok(found) => settings.extend(found),
                Err(reason) => {
                    return Err(BackendError::Unsupported(format!(
                        "framework {} cannot run on this machine: {reason}",
                        need.framework
                    )))
                }
            }
        }
        Ok(settings)
    }

    fn cluster_dir(&self, id: Uuid) -> PathBuf {
        self.settings.clusters_dir.join(id.to_string())
    }

    fn mark(&self, id: Uuid) -> ProcessMark {
        ProcessMark::cluster(id, &self.cluster_dir(id))
    }

    fn node_dir(&self, id: Uuid, node: &NodePlan) -> NodeDir {
        NodeDir {
            root: self.cluster_dir(id).join(&node.name),
        }
    }

    /// The nodes as their owner sees them: name, role and address.
    fn node_infos(plan: &ClusterPlan, addresses: &[Ipv4Addr]) -> Vec<NodeInfo> {
        plan.nodes
            .iter()
            .zip(addresses)
            .map(|(node, address)| NodeInfo {
                name: node.name.clone(),
                role: node.role.as_str().to_string(),
                address: address.to_string(),
            })
            .collect()
    }

    /// Stops the marked processes and every member of the cgroup `group` (when disco has
    /// cgroups): SIGTERM first, SIGKILL (and the cgroup's kill) once `stop_grace` has passed
    /// since the first call for `key`. Returns how many are still alive (0: all gone).
    fn stop_marked(
        &self,
        key: &Path,
        mark: &ProcessMark,
        pid_files: &[PathBuf],
        group: Option<&Path>,
    ) -> usize {
        let mut alive = processes::marked_processes(mark);
        let contained = self.cgroups.as_ref().zip(group);
        if let Some((cgroups, group)) = contained {
            alive.extend(cgroups.members(group));
            alive.sort_unstable();
            alive.dedup();
        }
        let mut stops = self.stops.lock().unwrap_or_else(|p| p.into_inner());
        if alive.is_empty() {
            stops.remove(key);
            return 0;
        }
        let started = *stops.entry(key.to_path_buf()).or_insert_with(Instant::now);
        let signal = if started.elapsed() >= self.settings.stop_grace {
            libc::SIGKILL
        } else {
            libc::SIGTERM
        };
        processes::signal_marked(mark, pid_files, &alive, signal);
        if let Some((cgroups, group)) = contained.filter(|_| signal == libc::SIGKILL) {
            cgroups.kill(group);
        }
        alive.len()
    }

    /// A cluster's cgroup, when disco has cgroups.
    fn cluster_group(&self, id: Uuid) -> Option<PathBuf> {
        self.cgroups.as_ref().map(|c| c.cluster(id))
    }

    /// A node's cgroup, when disco has cgroups.
    fn node_group(&self, id: Uuid, dir: &NodeDir) -> Option<PathBuf> {
        let name = dir.root.file_name()?.to_str()?;
        self.cgroups.as_ref().map(|c| c.node(id, name))
    }

    /// Makes `command`'s child join the node's cgroup before it runs anything.
    fn contain(&self, command: &mut Command, id: Uuid, dir: &NodeDir) -> Result<(), BackendError> {
        let (Some(cgroups), Some(group)) = (&self.cgroups, self.node_group(id, dir)) else {
            return Ok(());
        };
        let procs = cgroups
            .prepare(&group)
            .map_err(|e| transient(format!("cannot create the cgroup {}: {e}", group.display())))?;
        cgroup::join_before_exec(command, procs);
        Ok(())
    }

    /// Removes a stopped cluster's (or node's) cgroup; `Err` says why it is still there.
    fn remove_group(&self, group: Option<&Path>) -> Result<(), String> {
        match (&self.cgroups, group) {
            (Some(cgroups), Some(group)) => cgroups
                .remove(group)
                .map_err(|e| format!("cannot remove the cgroup {}: {e}", group.display())),
            _ => Ok(()),
        }
    }

    /// Stops what is left in the cgroups of clusters that are deleted or unknown (a crash
    /// between the last process stopping and the group's removal, or a lost database) and
    /// removes their groups.
    fn remove_leftover_groups(&self) {
        let Some(cgroups) = &self.cgroups else { return };
        for id in cgroups.clusters() {
            let gone = match self.store.get_any(id) {
                Ok(Some(record)) => record.state == crate::cluster::ClusterState::Deleted,
                Ok(None) => true,
                Err(_) => false,
            };
            if !gone {
                continue;
            }
            let group = cgroups.cluster(id);
            cgroups.kill(&group);
            match cgroups.remove(&group) {
                Ok(()) => {
                    tracing::info!(cluster_id = %id, "removed the cgroup of a deleted cluster")
                }
                Err(e) => {
                    tracing::warn!(cluster_id = %id, error = %e, "cannot remove the cgroup of a deleted cluster")
                }
            }
        }
    }

    /// PID files of every node of a cluster.
    fn cluster_pid_files(&self, id: Uuid) -> Vec<PathBuf> {
        let mut pid_files = Vec::new();
        if let Ok(entries) = std::fs::read_dir(self.cluster_dir(id)) {
            for entry in entries.flatten() {
                pid_files.extend(NodeDir { root: entry.path() }.pid_files());
            }
        }
        pid_files
    }

    fn outputs(&self, master: Ipv4Addr, host_key: Option<String>) -> Outputs {
        let port = self.settings.ssh_port;
        let host = if port == 22 {
            master.to_string()
        } else {
            format!("[{master}]:{port}")
        };
        Outputs {
            ssh_known_hosts: host_key.map(|key| format!("{host} {key}")),
            external_ip: Some(master.to_string()),
            ssh_user: Some(self.user.clone()),
            ssh_port: Some(self.settings.ssh_port),
            log_url: Some(format!("http://{master}:{}/", self.settings.log_port)),
        }
    }

    /// The plan's node addresses, allocated the first time.
    fn addresses(&self, plan: &ClusterPlan) -> Result<Vec<Ipv4Addr>, BackendError> {
        self.store
            .allocate_addresses(
                plan.cluster_id,
                plan.nodes.len(),
                self.settings.address_range.hosts(),
            )
            .map_err(store_error)
    }

    fn ensure_sshd(
        &self,
        id: Uuid,
        dir: &NodeDir,
        address: Ipv4Addr,
        public_key: &str,
    ) -> Result<(), BackendError> {
        if processes::pid_file_alive(&dir.sshd_pid(), &self.mark(id)) {
            return Ok(());
        }
        let ssh_dir = dir.ssh_dir();
        std::fs::create_dir_all(&ssh_dir).map_err(transient)?;
        let host_key = ssh_dir.join("ssh_host_ed25519_key");
        let host_public_key = ssh_dir.join("ssh_host_ed25519_key.pub");
        if !host_key.exists() || !host_public_key.exists() {
            let key =
                crate::cluster::keys::generate_key_pair("disco-host-key").map_err(transient)?;
            std::fs::write(&host_public_key, &key.public_openssh).map_err(transient)?;
            write_private_file(&host_key, key.private_openssh.as_bytes()).map_err(transient)?;
        }
        let authorized_keys = ssh_dir.join("authorized_keys");
        write_private_file(&authorized_keys, format!("{public_key}\n").as_bytes())
            .map_err(transient)?;
        let session_script = ssh_dir.join("session.sh");
        std::fs::write(&session_script, sshd::SESSION_SCRIPT).map_err(transient)?;
        let config_path = ssh_dir.join("sshd_config");
        let config = sshd::render_sshd_config(&sshd::SshdConfig {
            address,
            port: self.settings.ssh_port,
            host_key: &host_key,
            authorized_keys: &authorized_keys,
            pid_file: &dir.sshd_pid(),
            session_script: &session_script,
            user: &self.user,
            cluster_id: id,
            node_root: &dir.root,
        });
        std::fs::write(&config_path, config).map_err(transient)?;
        // sshd insists on its privilege separation directory when it runs as root.
        if self.user == "root" {
            let _ = std::fs::create_dir_all("/run/sshd");
        }
        let log = dir.log_dir().join("sshd.log");
        let mut command = Command::new(&self.settings.sshd_path);
        self.contain(&mut command, id, dir)?;
        let output = command
            .arg("-f")
            .arg(&config_path)
            .arg("-E")
            .arg(&log)
            .env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .env("DISCO_CLUSTER_ID", id.to_string())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                BackendError::Permanent(format!(
                    "cannot run {}: {e}",
                    self.settings.sshd_path.display()
                ))
            })?;
        if !output.status.success() {
            let log_tail = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(BackendError::Permanent(format!(
                "sshd did not start on {address}:{}: {}{}",
                self.settings.ssh_port,
                String::from_utf8_lossy(&output.stderr).trim(),
                log_tail.lines().last().unwrap_or("")
            )));
        }
        // Ours must be the one answering: another process may hold the address and port.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !(processes::pid_file_alive(&dir.sshd_pid(), &self.mark(id))
            && port_open(address, self.settings.ssh_port))
        {
            if Instant::now() > deadline {
                let log_tail = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(BackendError::Permanent(format!(
                    "sshd started but does not serve {address}:{}: {}",
                    self.settings.ssh_port,
                    log_tail.lines().last().unwrap_or("no log")
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    fn artifact_cache(&self) -> PathBuf {
        self.settings.clusters_dir.with_file_name("artifacts")
    }

    /// Creates a node's directories.
    fn prepare_node(&self, dir: &NodeDir) -> Result<(), BackendError> {
        for sub in [dir.log_dir(), dir.run_dir(), dir.ssh_dir()] {
            std::fs::create_dir_all(&sub).map_err(transient)?;
        }
        Ok(())
    }

    /// The check scripts' settings and the generated secrets: what installers get besides
    /// the plan.
    fn installer_settings(
        &self,
        plan: &ClusterPlan,
        secrets: &[(String, String)],
    ) -> Result<Vec<(String, String)>, BackendError> {
        // Called from the backend's blocking tasks, which may wait on the runtime.
        let mut local_settings = tokio::runtime::Handle::current()
            .block_on(self.local_settings(plan))
            .map_err(|e| match e {
                BackendError::Unavailable(m) => BackendError::Transient(m),
                other => other,
            })?;
        local_settings.extend(secrets.iter().cloned());
        Ok(local_settings)
    }

    fn provision(
        &self,
        plan: &ClusterPlan,
        public_key: &str,
        secrets: &[(String, String)],
    ) -> Result<(), BackendError> {
        let local_settings = self.installer_settings(plan, secrets)?;
        let addresses = self.addresses(plan)?;
        let id = plan.cluster_id;
        let share = self.cluster_dir(id).join("shared");
        std::fs::create_dir_all(&share).map_err(transient)?;
        std::fs::set_permissions(&share, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .map_err(transient)?;
        for node in &plan.nodes {
            self.prepare_node(&self.node_dir(id, node))?;
        }
        let master_dir = self.node_dir(id, &plan.nodes[0]);
        self.ensure_sshd(id, &master_dir, addresses[0], public_key)?;
        for node in &plan.nodes {
            let dir = self.node_dir(id, node);
            self.start_driver(plan, node, &dir, &addresses, &local_settings)?;
        }
        Ok(())
    }

    /// The master's host key as a known_hosts line's key part (the comment dropped).
    fn host_key(master: &NodeDir) -> Option<String> {
        std::fs::read_to_string(master.ssh_dir().join("ssh_host_ed25519_key.pub"))
            .ok()
            .map(|k| k.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
    }

    fn observe(&self, plan: &ClusterPlan) -> Result<Observation, BackendError> {
        let id = plan.cluster_id;
        let held = self.store.addresses(id).map_err(store_error)?;
        if held.len() < plan.nodes.len() {
            return Ok(Observation::Stalled {
                progress: Default::default(),
            });
        }
        let addresses: Vec<Ipv4Addr> = held.iter().map(|(_, a)| *a).collect();
        let dirs: Vec<NodeDir> = plan.nodes.iter().map(|n| self.node_dir(id, n)).collect();
        let mark = self.mark(id);
        let views: Vec<status::NodeView<'_>> = plan
            .nodes
            .iter()
            .zip(&dirs)
            .map(|(node, dir)| status::NodeView {
                plan: node,
                status: node::read_status(&dir.status_file()),
                driver_running: processes::pid_file_alive(&dir.deploy_pid(), &mark),
            })
            .collect();
        let master_reachable = processes::pid_file_alive(&dirs[0].sshd_pid(), &mark);
        let observation = status::summarize(
            plan,
            &views,
            master_reachable,
            self.outputs(addresses[0], Inner::host_key(&dirs[0])),
            Inner::node_infos(plan, &addresses),
        );
        if matches!(observation, Observation::Ready { .. }) {
            // Every node built with the cluster is a member (scaling adds members by joining).
            for dir in &dirs {
                std::fs::write(dir.member_marker(), b"").map_err(transient)?;
            }
        }
        Ok(observation)
    }

    fn destroy(&self, id: Uuid) -> Result<Teardown, BackendError> {
        let cluster_dir = self.cluster_dir(id);
        let group = self.cluster_group(id);
        let alive = self.stop_marked(
            &cluster_dir,
            &self.mark(id),
            &self.cluster_pid_files(id),
            group.as_deref(),
        );
        if alive > 0 {
            return Ok(Teardown::InProgress {
                remaining: format!("{alive} process(es) still running"),
            });
        }
        if let Err(remaining) = self.remove_group(group.as_deref()) {
            return Ok(Teardown::InProgress { remaining });
        }
        match std::fs::remove_dir_all(&cluster_dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Ok(Teardown::InProgress {
                    remaining: format!("cannot remove {}: {e}", cluster_dir.display()),
                })
            }
        }
        self.store.release_addresses(id, 0).map_err(store_error)?;
        Ok(Teardown::Gone)
    }
}

#[async_trait]
impl Backend for LocalBackend {
    async fn check(&self, plan: &ClusterPlan) -> Result<(), BackendError> {
        let settings = &self.inner.settings;
        if !settings.sshd_path.is_file() {
            return Err(BackendError::Unavailable(format!(
                "the local backend needs OpenSSH's sshd at {} (local.sshd_path): install \
                 openssh-server",
                settings.sshd_path.display()
            )));
        }
        let missing: Vec<&str> = ["bash", "setsid", "flock"]
            .into_iter()
            .filter(|tool| !find_on_path(tool))
            .collect();
        if !missing.is_empty() {
            return Err(BackendError::Unavailable(format!(
                "the local backend needs {} on PATH",
                missing.join(", ")
            )));
        }
        for need in &plan.local_needs {
            if let Some(reason) = &need.unsupported {
                return Err(BackendError::Unsupported(format!(
                    "framework {} cannot run on the local backend: {reason}",
                    need.framework
                )));
            }
            let missing: Vec<&str> = need
                .tools
                .iter()
                .map(String::as_str)
                .filter(|tool| !find_on_path(tool))
                .collect();
            if !missing.is_empty() {
                return Err(BackendError::Unsupported(format!(
                    "framework {} cannot run on this machine: {} not found on PATH",
                    need.framework,
                    missing.join(", ")
                )));
            }
        }
        self.inner.local_settings(plan).await.map(|_| ())
    }

    async fn provision(&self, request: ProvisionRequest<'_>) -> Result<(), BackendError> {
        let plan = request.plan.clone();
        let public_key = request.ssh_public_key.to_string();
        let secrets = request.secrets.to_vec();
        self.blocking(move |inner| inner.provision(&plan, &public_key, &secrets))
            .await
    }

    async fn observe(
        &self,
        plan: &ClusterPlan,
        _data: Option<&serde_json::Value>,
    ) -> Result<Observation, BackendError> {
        let plan = plan.clone();
        self.blocking(move |inner| inner.observe(&plan)).await
    }

    async fn destroy(
        &self,
        id: Uuid,
        _data: Option<&serde_json::Value>,
    ) -> Result<Teardown, BackendError> {
        self.blocking(move |inner| inner.destroy(id)).await
    }

    fn scaling(&self) -> Option<&dyn Scaling> {
        Some(self)
    }

    fn power(&self) -> Option<&dyn PowerControl> {
        Some(self)
    }

    /// Every node listens on its own loopback address.
    fn ui_host(&self, _outputs: &Outputs, node: &NodeInfo) -> Option<String> {
        Some(node.address.clone())
    }

    fn health(&self) -> Option<&dyn HealthCheck> {
        Some(self)
    }
}
