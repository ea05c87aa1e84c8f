//! Containment: each local node's processes live in a cgroup of their own, the kernel's record
//! of membership, so stopping a node stops everything it started however it detached
//! (`setsid`, a cleared environment, a parent that exited).
//!
//! Groups are `<hierarchy>/disco/<instance>/<cluster id>/<node>`. The hierarchy is cgroup v2
//! (stopped with `cgroup.kill`) or cgroup v1's `pids` controller (SIGKILL to every member until
//! none is left). A child joins its node's group between fork and exec (`pre_exec` writes `0`
//! to the group's `cgroup.procs`), so it cannot fork anything outside it: writing its PID after
//! `spawn` returned would leave a window in which its first children start in disco's group.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use uuid::Uuid;

/// Which cgroups to use (`local.cgroups`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupMode {
    /// v2 on a pure v2 system, else v1's `pids` controller, else any cgroup2 mount.
    Auto,
    V1,
    V2,
    /// None: processes are found by PID files, process groups, environment and command line.
    Off,
}

impl CgroupMode {
    /// Parses `auto`, `v1`, `v2` or `off`.
    pub fn parse(text: &str) -> Result<CgroupMode, String> {
        match text {
            "auto" => Ok(CgroupMode::Auto),
            "v1" => Ok(CgroupMode::V1),
            "v2" => Ok(CgroupMode::V2),
            "off" => Ok(CgroupMode::Off),
            other => Err(format!("`{other}` is not one of auto, v1, v2, off")),
        }
    }
}

/// The cgroup version of a hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// The hierarchies `/proc/self/mounts` lists that can hold a node's processes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Mounts {
    /// Where cgroup2 is mounted.
    pub v2: Option<PathBuf>,
    /// Where cgroup v1's `pids` controller is mounted.
    pub v1_pids: Option<PathBuf>,
}

/// Undoes the octal escapes (`\040` for a space) of a mount point in `/proc/self/mounts`.
fn unescape_mount_point(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|digits| {
            let text = std::str::from_utf8(digits).ok()?;
            u8::from_str_radix(text, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Finds the cgroup hierarchies in the text of `/proc/self/mounts`.
pub fn parse_mounts(text: &str) -> Mounts {
    let mut mounts = Mounts::default();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [_, point, kind, options, ..] = fields.as_slice() else {
            continue;
        };
        let point = PathBuf::from(unescape_mount_point(point));
        match *kind {
            "cgroup2" if mounts.v2.is_none() => mounts.v2 = Some(point),
            "cgroup" if mounts.v1_pids.is_none() && options.split(',').any(|o| o == "pids") => {
                mounts.v1_pids = Some(point)
            }
            _ => {}
        }
    }
    mounts
}

/// Picks the hierarchy for `mode`, or says why there is none.
pub fn choose(mode: CgroupMode, mounts: &Mounts) -> Result<(Version, PathBuf), String> {
    let v2 = mounts.v2.clone().map(|p| (Version::V2, p));
    let v1 = mounts.v1_pids.clone().map(|p| (Version::V1, p));
    let found = match mode {
        CgroupMode::Off => None,
        CgroupMode::V1 => v1,
        CgroupMode::V2 => v2,
        // A pure v2 system mounts cgroup2 at /sys/fs/cgroup; a hybrid one also has v1's pids,
        // which is where its processes are accounted.
        CgroupMode::Auto => match v2 {
            Some((_, ref path)) if path == Path::new("/sys/fs/cgroup") => v2,
            _ => v1.or(v2),
        },
    };
    found.ok_or_else(|| match mode {
        CgroupMode::Off => "local.cgroups = off".to_string(),
        CgroupMode::V1 => "no cgroup v1 pids controller is mounted".to_string(),
        CgroupMode::V2 => "no cgroup2 hierarchy is mounted".to_string(),
        CgroupMode::Auto => {
            "neither cgroup2 nor cgroup v1's pids controller is mounted".to_string()
        }
    })
}

/// This disco instance's cgroups.
#[derive(Debug, Clone)]
pub struct Cgroups {
    version: Version,
    /// `<hierarchy>/disco/<instance>`.
    base: PathBuf,
}

impl Cgroups {
    /// Opens this instance's groups under the hierarchy `mode` picks, after proving that a
    /// child can join one. `Err` says why not (the caller falls back to finding processes by
    /// their marks).
    pub fn open(mode: CgroupMode, instance: &str) -> Result<Cgroups, String> {
        let mounts = std::fs::read_to_string("/proc/self/mounts")
            .map_err(|e| format!("cannot read /proc/self/mounts: {e}"))?;
        let (version, root) = choose(mode, &parse_mounts(&mounts))?;
        let cgroups = Cgroups {
            version,
            base: root.join("disco").join(instance),
        };
        let probe = cgroups.base.join("probe");
        let joined = cgroups.prepare(&probe).and_then(|procs| {
            let mut command = Command::new("true");
            join_before_exec(&mut command, procs);
            command.status()
        });
        let _ = std::fs::remove_dir(&probe);
        joined.map_err(|e| format!("cannot put a process in {}: {e}", probe.display()))?;
        Ok(cgroups)
    }

    /// The hierarchy's version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// A cluster's group (its nodes' groups are below it).
    pub fn cluster(&self, id: Uuid) -> PathBuf {
        self.base.join(id.to_string())
    }

    /// A node's group.
    pub fn node(&self, id: Uuid, node: &str) -> PathBuf {
        self.cluster(id).join(node)
    }

    /// Creates `group` (and its parents); returns its `cgroup.procs` for
    /// [`join_before_exec`].
    pub fn prepare(&self, group: &Path) -> std::io::Result<CString> {
        std::fs::create_dir_all(group)?;
        CString::new(group.join("cgroup.procs").as_os_str().as_bytes())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
    }

    /// PIDs of the processes in `group` and the groups below it.
    pub fn members(&self, group: &Path) -> Vec<i32> {
        let mut pids: Vec<i32> = std::fs::read_to_string(group.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        for child in subgroups(group) {
            pids.extend(self.members(&child));
        }
        pids
    }

    /// Kills every process in `group` and below: v2's `cgroup.kill` (the kernel kills them all,
    /// including ones forking right now), else SIGKILL to each member, in rounds until none is
    /// left or ten rounds have passed (the caller looks again).
    pub fn kill(&self, group: &Path) {
        if self.version == Version::V2 && std::fs::write(group.join("cgroup.kill"), b"1").is_ok() {
            return;
        }
        for _ in 0..10 {
            let members = self.members(group);
            if members.is_empty() {
                return;
            }
            for pid in members {
                // SAFETY: kill(2) has no memory-safety preconditions.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// Removes `group` and the groups below it (they must be empty); a missing group is fine.
    pub fn remove(&self, group: &Path) -> std::io::Result<()> {
        for child in subgroups(group) {
            self.remove(&child)?;
        }
        match std::fs::remove_dir(group) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// The clusters that have a group.
    pub fn clusters(&self) -> Vec<Uuid> {
        subgroups(&self.base)
            .iter()
            .filter_map(|p| p.file_name()?.to_str()?.parse().ok())
            .collect()
    }
}

/// The groups directly below `group`.
fn subgroups(group: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(group)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// Makes the child `command` starts join the group whose `cgroup.procs` is `procs` before it
/// executes anything; if it cannot, the spawn fails with the reason.
pub fn join_before_exec(command: &mut Command, procs: CString) {
    // SAFETY: the closure runs in the child between fork and exec. It only calls open(2),
    // write(2) and close(2), which are async-signal-safe, and allocates nothing
    // (`from_raw_os_error` stores the number).
    unsafe {
        command.pre_exec(move || {
            let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // "0" is the writing process itself, in v1 and v2.
            let written = libc::write(fd, b"0".as_ptr().cast(), 1);
            let error = std::io::Error::last_os_error();
            libc::close(fd);
            if written == 1 {
                Ok(())
            } else {
                Err(error)
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
cgroup /sys/fs/cgroup/pids cgroup rw,relatime,pids 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
";

    const PURE_V2: &str = "\
proc /proc proc rw 0 0
cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0
";

    #[test]
    fn a_hybrid_system_uses_the_v1_pids_controller_by_default() {
        let mounts = parse_mounts(HYBRID);
        assert_eq!(
            mounts,
            Mounts {
                v2: Some("/sys/fs/cgroup/unified".into()),
                v1_pids: Some("/sys/fs/cgroup/pids".into()),
            }
        );
        assert_eq!(
            choose(CgroupMode::Auto, &mounts).unwrap(),
            (Version::V1, "/sys/fs/cgroup/pids".into())
        );
        assert_eq!(
            choose(CgroupMode::V2, &mounts).unwrap(),
            (Version::V2, "/sys/fs/cgroup/unified".into())
        );
    }

    #[test]
    fn a_pure_v2_system_uses_v2() {
        let mounts = parse_mounts(PURE_V2);
        assert_eq!(
            choose(CgroupMode::Auto, &mounts).unwrap(),
            (Version::V2, "/sys/fs/cgroup".into())
        );
        assert!(choose(CgroupMode::V1, &mounts)
            .unwrap_err()
            .contains("pids"));
    }

    #[test]
    fn without_cgroups_or_when_off_there_is_a_reason() {
        let none = parse_mounts("proc /proc proc rw 0 0\n");
        assert!(choose(CgroupMode::Auto, &none)
            .unwrap_err()
            .contains("neither"));
        assert!(choose(CgroupMode::Off, &parse_mounts(HYBRID))
            .unwrap_err()
            .contains("off"));
    }

    #[test]
    fn escaped_mount_points_are_read_as_paths() {
        let mounts = parse_mounts("cgroup2 /mnt/my\\040cgroups cgroup2 rw 0 0\n");
        assert_eq!(mounts.v2, Some(PathBuf::from("/mnt/my cgroups")));
    }

    #[test]
    fn modes_parse_and_bad_ones_are_named() {
        assert_eq!(CgroupMode::parse("v1"), Ok(CgroupMode::V1));
        assert!(CgroupMode::parse("yes").unwrap_err().contains("`yes`"));
    }
}
