//! Settings: `etc/sm.cfg` (INI) layered with `DISCO_<SECTION>__<KEY>` environment variables.
//!
//! Every key has a default, so an empty file works. A bad value stops start-up with a message
//! naming the key and the problem.

use crate::backend::local::cgroup::CgroupMode;
use serde::Deserialize;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

/// Start-up cannot continue with this configuration.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub server: ServerSettings,
    pub store: StoreSettings,
    pub backend: BackendSettings,
    pub auth: AuthSettings,
    pub limits: LimitSettings,
    pub lifecycle: LifecycleSettings,
    pub local: LocalSettings,
    pub frameworks: FrameworkSettings,
    pub openstack: OpenStackSettings,
    pub logging: LoggingSettings,
    pub dashboard: DashboardSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Address the OCCI interface listens on (port 0 picks a free port).
    pub bind: String,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSettings {
    /// Directory for the database, the secret key and the local backend's nodes.
    pub data_dir: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackendSettings {
    /// `local` (this machine) or `openstack` (Heat stacks; see [openstack]).
    pub kind: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// `none` (tenant from X-Tenant-Name, loopback only), `static` (users file) or
    /// `keystone` (checked against [openstack] auth_url; required by the openstack backend).
    pub mode: String,
    /// With `static`: lines `user tenant argon2-hash` (see `disco hash-password`).
    pub users_file: Option<PathBuf>,
    /// Seconds a verified login (argon2 hash, or Keystone's token) is reused for the same
    /// credentials; 0 checks every request.
    pub cache_secs: u64,
    /// Failed logins per minute from one address, and for one user name, before `429`
    /// (0: no throttling).
    pub failures_per_minute: u32,
    /// argon2 verifications at once, all callers together (each takes the hash's memory,
    /// 19 MiB for `disco hash-password`'s).
    pub hash_slots: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitSettings {
    pub max_slavecount: u32,
    /// Clusters one tenant may have at once (not counting deleted ones).
    pub max_clusters_per_tenant: u32,
    /// Clusters all tenants together may have at once (not counting deleted ones).
    pub max_clusters: u32,
    /// Nodes (masters and slaves) of all clusters together, counting what scales ask for.
    pub max_nodes: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LifecycleSettings {
    /// How often the reconciler looks at clusters that are changing, in milliseconds.
    pub tick_ms: u64,
    /// A cluster not ready after this many seconds fails.
    pub build_timeout_secs: u64,
    /// Seconds between SIGTERM and SIGKILL when a cluster's processes are stopped.
    pub stop_grace_secs: u64,
    /// Seconds between two health looks at a ready cluster.
    pub health_interval_secs: u64,
    /// Health looks started per second at most, over all clusters: with many clusters, each
    /// is looked at less often than `health_interval_secs` rather than the cloud asked more.
    pub health_looks_per_sec: u32,
    /// Seconds a deleted cluster's history stays readable.
    pub keep_deleted_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LocalSettings {
    /// Loopback range the nodes' addresses come from, e.g. 127.77.0.0/16.
    pub address_range: String,
    /// Port of each master's sshd (22 needs root and a free port 22 on that address).
    pub ssh_port: u16,
    /// Port of the deployment log server on the master.
    pub log_port: u16,
    pub sshd_path: PathBuf,
    /// Niceness (0 to 19) of installers and the services they start, so that building
    /// clusters does not starve the API on a shared machine.
    pub build_nice: u8,
    /// Which cgroups hold each node's processes: `auto`, `v1`, `v2` or `off`.
    pub cgroups: String,
    /// Seconds a framework's `local-check.sh` may run before the request gets a 503.
    pub check_timeout_secs: u64,
    /// Lets a local backend listen beyond loopback although every tenant's commands run as
    /// disco's own user (see `Config::validate`); a warning is logged at every start.
    pub allow_remote_tenants: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FrameworkSettings {
    /// The framework catalog (manifests, installers, shared runtime in lib/).
    pub dir: PathBuf,
    /// Base URL installers download artifacts from instead of their upstream locations
    /// (checksums still apply), for clouds without internet access.
    pub mirror: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpenStackSettings {
    /// Keystone v3 URL users authenticate against, e.g. https://keystone.example.org:5000/v3.
    pub auth_url: String,
    /// Domain of user and project names in requests.
    pub user_domain: String,
    pub project_domain: String,
    /// Region used when a request names none (empty: any).
    pub region: String,
    /// Endpoint interface taken from the service catalog: public, internal or admin.
    pub interface: String,
    /// disco's own identity (the trustee of every cluster's trust): a cloud of clouds.yaml,
    /// or empty to read the OS_* environment.
    pub cloud: String,
    /// The cluster's private network, a /16 (master a.b.0.10, slave N a.b.1.(N-1)).
    pub network_cidr: String,
    /// Comma-separated DNS servers for the cluster's subnet (empty: Neutron's default).
    pub dns_nameservers: String,
    /// Who may reach the nodes' SSH: the only port open to the world by default.
    pub ssh_cidr: String,
    /// Who besides disco's gateway may reach the deployment log (8084); empty: nobody.
    pub log_cidr: String,
    /// Who besides disco's gateway may reach the frameworks' non-internal ports; empty:
    /// nobody.
    pub service_cidr: String,
    /// The address disco talks from (required with the openstack backend): it reaches the
    /// agent (port `agent_port`), the deployment log and the frameworks' non-internal ports
    /// on the master's floating IP.
    pub gateway_cidr: String,
    /// Port of the agent every VM runs (cluster-internal, and from `gateway_cidr`).
    pub agent_port: u16,
    /// The Heat templates (`cluster.json.tera`, `slave.json.tera`, `boot.sh.tera`).
    pub templates_dir: PathBuf,
    /// A Heat environment sent with every stack (e.g. a site's resource registry); the
    /// `*.yaml` files beside it travel in `files`, named by their path relative to it.
    pub environment: Option<PathBuf>,
    /// Used when a request does not name them.
    pub master_image: String,
    pub slave_image: String,
    pub master_flavor: String,
    pub slave_flavor: String,
    pub external_network: String,
    /// User the image's cloud-init gives the key to.
    pub ssh_user: String,
    /// Seconds for an OpenStack API call before it counts as failed.
    pub request_timeout_secs: u64,
    /// Pause between looks at a changing stack: starts at the first, doubles to the second.
    pub poll_min_secs: u64,
    pub poll_max_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingSettings {
    /// A tracing filter such as `info` or `disco=debug,actix_web=info`.
    pub level: String,
    /// `text` or `json`.
    pub format: String,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            bind: "127.0.0.1:8888".into(),
            workers: 0,
        }
    }
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings {
            data_dir: PathBuf::from("var"),
        }
    }
}

impl Default for BackendSettings {
    fn default() -> Self {
        BackendSettings {
            kind: "local".into(),
        }
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            mode: "none".into(),
            users_file: None,
            cache_secs: 300,
            failures_per_minute: 10,
            hash_slots: 2,
        }
    }
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            max_slavecount: 16,
            max_clusters_per_tenant: 20,
            max_clusters: 200,
            max_nodes: 1000,
        }
    }
}

impl Default for LifecycleSettings {
    fn default() -> Self {
        LifecycleSettings {
            tick_ms: 100,
            build_timeout_secs: 1800,
            stop_grace_secs: 3,
            health_interval_secs: 30,
            health_looks_per_sec: 20,
            keep_deleted_secs: 86_400,
        }
    }
}

impl Default for LocalSettings {
    fn default() -> Self {
        LocalSettings {
            address_range: "127.77.0.0/16".into(),
            ssh_port: 2222,
            log_port: 8084,
            sshd_path: PathBuf::from("/usr/sbin/sshd"),
            build_nice: 10,
            cgroups: "auto".into(),
            check_timeout_secs: 30,
            allow_remote_tenants: false,
        }
    }
}

impl Default for FrameworkSettings {
    fn default() -> Self {
        FrameworkSettings {
            dir: PathBuf::from("frameworks"),
            mirror: None,
        }
    }
}

impl Default for OpenStackSettings {
    fn default() -> Self {
        OpenStackSettings {
            auth_url: String::new(),
            user_domain: "Default".into(),
            project_domain: "Default".into(),
            region: String::new(),
            interface: "public".into(),
            cloud: String::new(),
            templates_dir: PathBuf::from("templates/heat"),
            environment: None,
            network_cidr: "10.20.0.0/16".into(),
            dns_nameservers: String::new(),
            ssh_cidr: "0.0.0.0/0".into(),
            log_cidr: String::new(),
            service_cidr: String::new(),
            gateway_cidr: String::new(),
            agent_port: 8085,
            master_image: "ubuntu-24.04".into(),
            slave_image: "ubuntu-24.04".into(),
            master_flavor: "m1.medium".into(),
            slave_flavor: "m1.medium".into(),
            external_network: "public".into(),
            ssh_user: "ubuntu".into(),
            request_timeout_secs: 30,
            poll_min_secs: 1,
            poll_max_secs: 30,
        }
    }
}

/// The web dashboard at `/dashboard/`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DashboardSettings {
    /// How long a dashboard session lasts after sign-in (seconds, at least 1).
    pub session_secs: u64,
}

impl Default for DashboardSettings {
    fn default() -> Self {
        DashboardSettings {
            session_secs: 8 * 3600,
        }
    }
}

impl Default for LoggingSettings {
    fn default() -> Self {
        LoggingSettings {
            level: "info".into(),
            format: "text".into(),
        }
    }
}

/// Settings after validation: the values start-up needs, typed.
#[derive(Debug, Clone)]
pub struct Config {
    pub settings: Settings,
    pub bind: SocketAddr,
    pub address_range: AddressRange,
    pub auth: AuthMode,
    /// `local.cgroups`, parsed.
    pub cgroups: CgroupMode,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMode {
    None,
    Static { users_file: PathBuf },
    Keystone,
}

/// A range of loopback IPv4 addresses, e.g. 127.77.0.0/16.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressRange {
    pub network: Ipv4Addr,
    pub prefix: u8,
}

impl AddressRange {
    pub fn parse(text: &str) -> Result<AddressRange, String> {
        let (address, prefix) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not a range like 127.77.0.0/16"))?;
        let network: Ipv4Addr = address
            .trim()
            .parse()
            .map_err(|_| format!("`{address}` is not an IPv4 address"))?;
        let prefix: u8 = prefix
            .trim()
            .parse()
            .ok()
            .filter(|p| (8..=30).contains(p))
            .ok_or_else(|| format!("`/{prefix}` must be a prefix length from 8 to 30"))?;
        if network.octets()[0] != 127 {
            return Err(format!("`{text}` is not a loopback range (127.0.0.0/8)"));
        }
        let mask = u32::MAX << (32 - prefix);
        Ok(AddressRange {
            network: Ipv4Addr::from(u32::from(network) & mask),
            prefix,
        })
    }

    /// Usable host addresses, lowest first (the network and broadcast addresses excluded).
    pub fn hosts(&self) -> impl Iterator<Item = Ipv4Addr> {
        let base = u32::from(self.network);
        let size = 1u32 << (32 - self.prefix);
        (1..size - 1)
            .map(move |offset| Ipv4Addr::from(base + offset))
            .filter(|a| a.octets()[3] != 0 && a.octets()[3] != 255)
    }
}

impl Config {
    /// Loads `path` (required when `explicit`; otherwise defaults apply if it is missing) and the
    /// `DISCO_…__…` environment, then validates everything.
    pub fn load(path: &Path, explicit: bool) -> Result<Config, ConfigError> {
        let mut builder = config::Config::builder();
        if path.exists() {
            builder = builder
                .add_source(config::File::from(path.to_path_buf()).format(config::FileFormat::Ini));
        } else if explicit {
            return Err(ConfigError(format!(
                "the configuration file {} does not exist",
                path.display()
            )));
        }
        let overrides: HashMap<String, String> = std::env::vars()
            .filter_map(|(key, value)| {
                let rest = key.strip_prefix("DISCO_")?;
                let (section, name) = rest.split_once("__")?;
                Some((
                    format!("{}.{}", section.to_lowercase(), name.to_lowercase()),
                    value,
                ))
            })
            .collect();
        for (key, value) in overrides {
            builder = builder
                .set_override(key.clone(), value)
                .map_err(|e| ConfigError(format!("{key}: {e}")))?;
        }
        let settings: Settings = builder
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?;
        Config::validate(settings)
    }

    /// Checks values that serde cannot: addresses, ranges, modes and their combinations.
    pub fn validate(settings: Settings) -> Result<Config, ConfigError> {
        let problem = |key: &str, message: String| ConfigError(format!("{key}: {message}"));
        let bind: SocketAddr = settings.server.bind.parse().map_err(|_| {
            problem(
                "server.bind",
                format!(
                    "`{}` is not an address like 127.0.0.1:8888",
                    settings.server.bind
                ),
            )
        })?;
        let address_range = AddressRange::parse(&settings.local.address_range)
            .map_err(|m| problem("local.address_range", m))?;
        let auth = match settings.auth.mode.as_str() {
            "none" => AuthMode::None,
            "static" => AuthMode::Static {
                users_file: settings.auth.users_file.clone().ok_or_else(|| {
                    problem(
                        "auth.users_file",
                        "is required when auth.mode = static".into(),
                    )
                })?,
            },
            "keystone" => AuthMode::Keystone,
            other => {
                return Err(problem(
                    "auth.mode",
                    format!("`{other}` is not one of none, static, keystone"),
                ))
            }
        };
        match settings.backend.kind.as_str() {
            "local" => {}
            "openstack" if auth != AuthMode::Keystone => {
                return Err(problem(
                    "auth.mode",
                    "must be keystone with backend.kind = openstack (the cluster is built with \
                     the caller's OpenStack rights)"
                        .into(),
                ))
            }
            "openstack" => {}
            other => {
                return Err(problem(
                    "backend.kind",
                    format!("`{other}` is not one of local, openstack"),
                ))
            }
        }
        if auth == AuthMode::Keystone {
            let url = &settings.openstack.auth_url;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(problem(
                    "openstack.auth_url",
                    format!("`{url}` is not an http(s) URL of Keystone v3 (needed by auth.mode = keystone)"),
                ));
            }
        }
        if !matches!(
            settings.openstack.interface.as_str(),
            "public" | "internal" | "admin"
        ) {
            return Err(problem(
                "openstack.interface",
                format!(
                    "`{}` is not one of public, internal, admin",
                    settings.openstack.interface
                ),
            ));
        }
        crate::backend::openstack::template::ClusterNetwork::parse(
            &settings.openstack.network_cidr,
        )
        .map_err(|m| problem("openstack.network_cidr", m))?;
        if settings.backend.kind == "openstack" && settings.openstack.gateway_cidr.trim().is_empty()
        {
            return Err(problem(
                "openstack.gateway_cidr",
                "is required with backend.kind = openstack: set it to the address disco talks \
                 to the clusters from (e.g. 198.51.100.7/32). disco reaches the nodes' agent, \
                 the deployment logs and the frameworks' web UIs through it, and nothing but \
                 SSH is open to anyone else"
                    .into(),
            ));
        }
        for (key, value, optional) in [
            ("openstack.ssh_cidr", &settings.openstack.ssh_cidr, false),
            ("openstack.log_cidr", &settings.openstack.log_cidr, true),
            (
                "openstack.service_cidr",
                &settings.openstack.service_cidr,
                true,
            ),
            (
                "openstack.gateway_cidr",
                &settings.openstack.gateway_cidr,
                true,
            ),
        ] {
            let value = value.trim();
            if !(optional && value.is_empty() || is_ipv4_cidr(value)) {
                return Err(problem(
                    key,
                    format!("`{value}` is not an IPv4 network like 192.0.2.0/24"),
                ));
            }
        }
        if settings.openstack.poll_min_secs == 0
            || settings.openstack.poll_max_secs < settings.openstack.poll_min_secs
        {
            return Err(problem(
                "openstack.poll_min_secs",
                "must be at least 1 and at most openstack.poll_max_secs".into(),
            ));
        }
        if settings.backend.kind == "local"
            && !bind.ip().is_loopback()
            && !settings.local.allow_remote_tenants
        {
            return Err(problem(
                "server.bind",
                format!(
                    "{bind} is not a loopback address, but the local backend runs every \
                     tenant's shell.command and SSH session as disco's own Unix user, which can \
                     read every tenant's keys and the database: any user who can reach disco \
                     could take over every cluster and disco itself, whatever auth.mode says. \
                     Bind to 127.0.0.1 (reach it from elsewhere through an SSH tunnel), or, if \
                     every user is trusted with all of that, set local.allow_remote_tenants = true"
                ),
            ));
        }
        if auth == AuthMode::None && !bind.ip().is_loopback() {
            return Err(problem(
                "server.bind",
                format!(
                    "{bind} is not a loopback address, but auth.mode = none: anyone who can reach \
                     it could run commands on this machine. Bind to 127.0.0.1 or configure \
                     auth.mode = static with a users file"
                ),
            ));
        }
        if settings.local.ssh_port == 0 || settings.local.log_port == 0 {
            return Err(problem("local.ssh_port", "ports must not be 0".into()));
        }
        if settings.local.ssh_port == settings.local.log_port {
            return Err(problem(
                "local.log_port",
                "must differ from local.ssh_port".into(),
            ));
        }
        let cgroups =
            CgroupMode::parse(&settings.local.cgroups).map_err(|m| problem("local.cgroups", m))?;
        if settings.local.check_timeout_secs == 0 {
            return Err(problem(
                "local.check_timeout_secs",
                "must be at least 1".into(),
            ));
        }
        if settings.local.build_nice > 19 {
            return Err(problem("local.build_nice", "must be from 0 to 19".into()));
        }
        if !settings.local.sshd_path.is_absolute() {
            return Err(problem(
                "local.sshd_path",
                "must be an absolute path (sshd re-executes itself)".into(),
            ));
        }
        if settings.dashboard.session_secs == 0 {
            return Err(problem(
                "dashboard.session_secs",
                "must be at least 1 (seconds a dashboard session lasts)".into(),
            ));
        }
        if settings.auth.hash_slots == 0 || settings.auth.hash_slots > 64 {
            return Err(problem("auth.hash_slots", "must be from 1 to 64".into()));
        }
        if settings.auth.cache_secs > 86_400 {
            return Err(problem(
                "auth.cache_secs",
                "must be at most 86400 (a day): a revoked login is honoured that long".into(),
            ));
        }
        for (key, value) in [
            ("limits.max_clusters", settings.limits.max_clusters),
            ("limits.max_nodes", settings.limits.max_nodes),
        ] {
            if value == 0 {
                return Err(problem(key, "must be at least 1".into()));
            }
        }
        if settings.lifecycle.tick_ms == 0 {
            return Err(problem("lifecycle.tick_ms", "must be at least 1".into()));
        }
        if settings.lifecycle.health_looks_per_sec == 0 {
            return Err(problem(
                "lifecycle.health_looks_per_sec",
                "must be at least 1".into(),
            ));
        }
        if settings.lifecycle.health_interval_secs == 0 {
            return Err(problem(
                "lifecycle.health_interval_secs",
                "must be at least 1".into(),
            ));
        }
        let data_dir = settings.store.data_dir.to_string_lossy();
        if data_dir.contains(['"', '\n', '\r']) {
            return Err(problem(
                "store.data_dir",
                "must not contain quotes or newlines".into(),
            ));
        }
        if let Some(mirror) = &settings.frameworks.mirror {
            let valid = (mirror.starts_with("https://") || mirror.starts_with("http://"))
                && !mirror.chars().any(|c| c.is_whitespace() || c.is_control());
            if !valid {
                return Err(problem(
                    "frameworks.mirror",
                    format!("`{mirror}` is not an http(s) URL"),
                ));
            }
        }
        if !matches!(settings.logging.format.as_str(), "text" | "json") {
            return Err(problem(
                "logging.format",
                format!("`{}` is not one of text, json", settings.logging.format),
            ));
        }
        Ok(Config {
            settings,
            bind,
            address_range,
            auth,
            cgroups,
        })
    }
}

fn is_ipv4_cidr(text: &str) -> bool {
    text.split_once('/').is_some_and(|(address, prefix)| {
        address.parse::<Ipv4Addr>().is_ok() && prefix.parse::<u8>().is_ok_and(|p| p <= 32)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_ranges_parse_and_list_hosts_lowest_first() {
        let range = AddressRange::parse("127.77.0.0/16").unwrap();
        let hosts: Vec<_> = range.hosts().take(2).collect();
        assert_eq!(
            hosts,
            vec![Ipv4Addr::new(127, 77, 0, 1), Ipv4Addr::new(127, 77, 0, 2)]
        );
    }

    #[test]
    fn a_range_outside_loopback_is_refused() {
        assert!(AddressRange::parse("10.0.0.0/24")
            .unwrap_err()
            .contains("loopback"));
        assert!(AddressRange::parse("127.0.0.0/31").is_err());
        assert!(AddressRange::parse("nonsense").is_err());
    }

    #[test]
    fn hosts_skip_network_and_broadcast_like_addresses() {
        let range = AddressRange::parse("127.9.9.0/24").unwrap();
        assert_eq!(range.hosts().count(), 254);
    }

    #[test]
    fn binding_beyond_loopback_without_users_is_refused() {
        let mut settings = Settings::default();
        settings.server.bind = "0.0.0.0:8888".into();
        let error = Config::validate(settings).unwrap_err();
        assert!(error.to_string().contains("server.bind"), "{error}");
    }

    #[test]
    fn the_local_backend_refuses_a_public_bind_in_every_auth_mode() {
        for (mode, users_file, auth_url) in [
            ("none", None, ""),
            ("static", Some(PathBuf::from("users")), ""),
            ("keystone", None, "http://keystone.example:5000/v3"),
        ] {
            let mut settings = Settings::default();
            settings.server.bind = "192.0.2.1:8888".into();
            settings.auth.mode = mode.into();
            settings.auth.users_file = users_file;
            settings.openstack.auth_url = auth_url.into();
            let error = Config::validate(settings.clone()).unwrap_err().to_string();
            assert!(
                error.contains("server.bind") && error.contains("allow_remote_tenants"),
                "{mode}: {error}"
            );
            settings.local.allow_remote_tenants = true;
            if mode != "none" {
                assert!(Config::validate(settings).is_ok(), "{mode}");
            }
        }
    }

    #[test]
    fn an_unknown_cgroups_mode_names_the_key() {
        let mut settings = Settings::default();
        settings.local.cgroups = "yes".into();
        let error = Config::validate(settings).unwrap_err().to_string();
        assert!(error.contains("local.cgroups"), "{error}");
    }

    #[test]
    fn login_and_capacity_settings_out_of_range_name_their_key() {
        let refused = |change: fn(&mut Settings)| {
            let mut settings = Settings::default();
            change(&mut settings);
            Config::validate(settings).unwrap_err().to_string()
        };
        assert!(refused(|s| s.auth.hash_slots = 0).contains("auth.hash_slots"));
        assert!(refused(|s| s.auth.cache_secs = 86_401).contains("auth.cache_secs"));
        assert!(refused(|s| s.limits.max_nodes = 0).contains("limits.max_nodes"));
        assert!(refused(|s| s.limits.max_clusters = 0).contains("limits.max_clusters"));
        let defaults = Settings::default();
        assert_eq!(defaults.auth.cache_secs, 300);
        assert_eq!(defaults.auth.failures_per_minute, 10);
    }

    #[test]
    fn unknown_auth_mode_names_the_key() {
        let mut settings = Settings::default();
        settings.auth.mode = "ldap".into();
        assert!(Config::validate(settings)
            .unwrap_err()
            .to_string()
            .contains("auth.mode"));
    }
}
