//! The master's private OpenSSH server: its configuration (pure) and start-up.

use std::net::Ipv4Addr;
use std::path::Path;
use uuid::Uuid;

/// Everything an sshd instance for one master needs.
pub struct SshdConfig<'a> {
    pub address: Ipv4Addr,
    pub port: u16,
    pub host_key: &'a Path,
    pub authorized_keys: &'a Path,
    pub pid_file: &'a Path,
    /// Script every session runs first (see `SESSION_SCRIPT`).
    pub session_script: &'a Path,
    pub user: &'a str,
    pub cluster_id: Uuid,
    pub node_root: &'a Path,
}

fn quoted(path: &Path) -> String {
    // store.data_dir is checked at start-up to hold no quotes or newlines.
    format!("\"{}\"", path.display())
}

/// What every SSH session on a local master runs: the node's environment (what frameworks
/// exported, e.g. SPARK_HOME and PATH), then the client's command or a login shell. Debian's
/// bash ignores BASH_ENV under sshd, hence a wrapper.
pub const SESSION_SCRIPT: &str = r#"# disco local node: SSH session wrapper (generated).
profile="$DISCO_NODE_ROOT/etc/profile.d/disco.sh"
# shellcheck disable=SC1090
[ -r "$profile" ] && . "$profile"
case "${SSH_ORIGINAL_COMMAND:-}" in
    "") exec /bin/bash -l ;;
    internal-sftp) exec /usr/lib/openssh/sftp-server ;;
    *) exec /bin/bash -c "$SSH_ORIGINAL_COMMAND" ;;
esac
"#;

/// Renders `sshd_config`: key-only login for the cluster key, bound to the master's address.
/// Sessions carry `DISCO_CLUSTER_ID` so that teardown finds every process they start.
pub fn render_sshd_config(c: &SshdConfig<'_>) -> String {
    format!(
        "ListenAddress {address}:{port}\n\
         HostKey {host_key}\n\
         AuthorizedKeysFile {authorized_keys}\n\
         PidFile {pid_file}\n\
         AllowUsers {user}\n\
         PubkeyAuthentication yes\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         PermitRootLogin prohibit-password\n\
         UsePAM no\n\
         StrictModes no\n\
         X11Forwarding no\n\
         PrintMotd no\n\
         Subsystem sftp internal-sftp\n\
         SetEnv DISCO_CLUSTER_ID={id} DISCO_NODE_ROOT={root}\n\
         ForceCommand /bin/bash {session}\n",
        address = c.address,
        port = c.port,
        host_key = quoted(c.host_key),
        authorized_keys = quoted(c.authorized_keys),
        pid_file = quoted(c.pid_file),
        user = c.user,
        id = c.cluster_id,
        root = quoted(c.node_root),
        session = quoted(c.session_script),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_binds_the_master_and_allows_only_keys() {
        let text = render_sshd_config(&SshdConfig {
            address: Ipv4Addr::new(127, 77, 0, 1),
            port: 2222,
            host_key: Path::new("/d/etc/ssh/host key"),
            authorized_keys: Path::new("/d/etc/ssh/authorized_keys"),
            pid_file: Path::new("/d/run/sshd.pid"),
            session_script: Path::new("/d/etc/ssh/session.sh"),
            user: "root",
            cluster_id: Uuid::nil(),
            node_root: Path::new("/d"),
        });
        assert!(text.contains("ListenAddress 127.77.0.1:2222\n"));
        assert!(text.contains("HostKey \"/d/etc/ssh/host key\"\n"));
        assert!(text.contains("PasswordAuthentication no\n"));
        assert!(text.contains("SetEnv DISCO_CLUSTER_ID=00000000-0000-0000-0000-000000000000"));
    }
}
