//! Finding and stopping a cluster's processes.
//!
//! A process belongs to a cluster when its environment carries `DISCO_CLUSTER_ID=<id>` (every
//! process the local backend starts, and everything they fork), or its command line names the
//! cluster's directory (sshd rewrites its environment for its process title but keeps its
//! arguments), or it descends from such a process (sshd sessions leave their parent's process
//! group). PID files are read first so that whole process groups are signalled too.

use std::collections::{HashMap, HashSet};
use std::path::Path;

/// What identifies a cluster's (or one node's) processes.
pub struct ProcessMark {
    /// `DISCO_CLUSTER_ID=<id>` (or `DISCO_NODE_ROOT=<node directory>`).
    pub environment: String,
    /// The cluster's (or node's) directory, as it appears in command lines.
    pub directory: String,
}

impl ProcessMark {
    /// Every process of a cluster.
    pub fn cluster(id: uuid::Uuid, directory: &Path) -> ProcessMark {
        ProcessMark {
            environment: format!("DISCO_CLUSTER_ID={id}"),
            directory: format!("{}/", directory.display()),
        }
    }

    /// Every process of one node.
    pub fn node(directory: &Path) -> ProcessMark {
        ProcessMark {
            environment: format!("DISCO_NODE_ROOT={}", directory.display()),
            directory: format!("{}/", directory.display()),
        }
    }

    /// Whether the live process `pid` carries the mark itself (descendants not considered).
    pub fn marks(&self, pid: i32) -> bool {
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        if environ
            .split(|b| *b == 0)
            .any(|variable| variable == self.environment.as_bytes())
        {
            return true;
        }
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let directory = self.directory.as_bytes();
        cmdline.windows(directory.len()).any(|w| w == directory)
    }
}

fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: fields follow the last `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    if state == "Z" {
        return None;
    }
    fields.next()?.parse().ok()
}

/// PIDs of the marked live processes and all their descendants (never this process).
pub fn marked_processes(mark: &ProcessMark) -> Vec<i32> {
    let me = std::process::id() as i32;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut parents: HashMap<i32, i32> = HashMap::new();
    let mut found: HashSet<i32> = HashSet::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Some(parent) = parent_of(pid) else {
            continue; // gone or a zombie
        };
        parents.insert(pid, parent);
        if mark.marks(pid) {
            found.insert(pid);
        }
    }
    // Add descendants until nothing changes.
    loop {
        let before = found.len();
        for (pid, parent) in &parents {
            if found.contains(parent) {
                found.insert(*pid);
            }
        }
        if found.len() == before {
            break;
        }
    }
    let mut pids: Vec<i32> = found.into_iter().collect();
    pids.sort_unstable();
    pids
}

/// Reads a PID file; `None` when missing or not a number.
pub fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path)
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|pid: &i32| *pid > 1)
}

/// Whether the process in `pid_file` is alive and the cluster's.
pub fn pid_file_alive(pid_file: &Path, mark: &ProcessMark) -> bool {
    read_pid(pid_file).is_some_and(|pid| parent_of(pid).is_some() && mark.marks(pid))
}

/// Sends `signal` to the process groups led by the cluster's PIDs from `pid_files`, then to
/// every process in `pids`.
pub fn signal_marked(
    mark: &ProcessMark,
    pid_files: &[std::path::PathBuf],
    pids: &[i32],
    signal: i32,
) {
    for pid_file in pid_files {
        if let Some(pid) = read_pid(pid_file) {
            if mark.marks(pid) {
                // SAFETY: kill(2) has no memory-safety preconditions.
                unsafe {
                    libc::kill(-pid, signal);
                }
            }
        }
    }
    for pid in pids {
        // SAFETY: as above; each PID was just seen belonging to the cluster.
        unsafe {
            libc::kill(*pid, signal);
        }
    }
}
