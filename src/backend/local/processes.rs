//! Finding and stopping a cluster's processes.
//!
//! Every process the local backend starts (sshd, deploy drivers, framework services and
//! everything they fork) carries `DISCO_CLUSTER_ID=<id>` in its environment, so a scan of
//! `/proc` finds them all, including forks that left their process group (a JVM under a
//! wrapper script). PID files are read first so that whole process groups are signalled.

use std::path::Path;
use uuid::Uuid;

/// PIDs of live processes tagged with the cluster's id (never this process).
pub fn tagged_processes(id: Uuid) -> Vec<i32> {
    let needle = format!("DISCO_CLUSTER_ID={id}");
    let me = std::process::id() as i32;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if environ
            .split(|b| *b == 0)
            .any(|variable| variable == needle.as_bytes())
        {
            pids.push(pid);
        }
    }
    pids.sort_unstable();
    pids
}

/// Whether `pid` is alive and belongs to the cluster.
pub fn is_tagged(pid: i32, id: Uuid) -> bool {
    let needle = format!("DISCO_CLUSTER_ID={id}");
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|environ| {
            environ
                .split(|b| *b == 0)
                .any(|variable| variable == needle.as_bytes())
        })
        .unwrap_or(false)
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
pub fn pid_file_alive(pid_file: &Path, id: Uuid) -> bool {
    read_pid(pid_file).is_some_and(|pid| is_tagged(pid, id))
}

/// Sends `signal` to each process group led by a tagged PID from `pid_files`, then to every
/// tagged process.
pub fn signal_cluster(id: Uuid, pid_files: &[std::path::PathBuf], signal: i32) -> usize {
    for pid_file in pid_files {
        if let Some(pid) = read_pid(pid_file) {
            if is_tagged(pid, id) {
                // SAFETY: kill(2) has no memory-safety preconditions.
                unsafe {
                    libc::kill(-pid, signal);
                }
            }
        }
    }
    let pids = tagged_processes(id);
    for pid in &pids {
        // SAFETY: as above; the PID was just seen carrying the cluster's tag.
        unsafe {
            libc::kill(*pid, signal);
        }
    }
    pids.len()
}
