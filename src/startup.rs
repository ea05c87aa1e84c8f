//! Builds the application from a validated `Config`: catalog, store, backend, reconciler and
//! the HTTP server bound to its listener (port 0 works, for tests).

use crate::api::caller::Authenticator;
use crate::api::dashboard::page::check_templates;
use crate::api::dashboard::session::Sessions;
use crate::api::dashboard::{DashboardConfig, SignInKind};
use crate::api::{self, AppState};
use crate::auth::keystone::KeystoneLogins;
use crate::auth::static_users::StaticUsers;
use crate::auth::LoginLimits;
use crate::backend::local::{LocalBackend, LocalSettings};
use crate::backend::openstack::identity::{IdentitySource, ServiceIdentity};
use crate::backend::openstack::keystone::Keystone;
use crate::backend::openstack::template::{ClusterNetwork, HeatTemplates, StackSettings};
use crate::backend::openstack::{OpenStackBackend, OpenStackSettings};
use crate::backend::Backend;
use crate::cluster::attributes::disco_kind;
use crate::cluster::SpecLimits;
use crate::config::{AuthMode, Config, Settings};
use crate::frameworks::Catalog;
use crate::lifecycle::{Reconciler, ReconcilerSettings};
use crate::occi::render::core_kinds;
use crate::store::capacity::Capacity;
use crate::store::Store;
use actix_web::dev::{Server, Service};
use actix_web::{middleware, web, App, HttpServer};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Start-up failed; the message says what to fix.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartupError(pub String);

/// The `Server` header: product and OCCI version.
pub const SERVER_HEADER: &str = concat!("disco/", env!("CARGO_PKG_VERSION"), " OCCI/1.1");

/// How long a login waits for an argon2 slot before `503`.
const HASH_WAIT: Duration = Duration::from_secs(3);

/// Threads for blocking work (the store, password hashing) of each HTTP worker.
const BLOCKING_THREADS_PER_WORKER: usize = 16;

pub struct Application {
    address: SocketAddr,
    server: Server,
    reconciler: Reconciler,
}

fn absolute(path: &Path) -> Result<PathBuf, StartupError> {
    std::path::absolute(path)
        .map_err(|e| StartupError(format!("cannot resolve {}: {e}", path.display())))
}

fn keystone(settings: &Settings) -> Result<Keystone, StartupError> {
    let openstack = &settings.openstack;
    Keystone::new(
        &openstack.auth_url,
        &openstack.user_domain,
        &openstack.project_domain,
        Duration::from_secs(openstack.request_timeout_secs),
    )
    .map_err(StartupError)
}

/// The Heat stack settings from `[openstack]` and `[limits]` (also used by `disco plan`).
pub fn stack_settings(settings: &Settings) -> Result<StackSettings, StartupError> {
    let openstack = &settings.openstack;
    let network = ClusterNetwork::parse(&openstack.network_cidr)
        .map_err(|m| StartupError(format!("openstack.network_cidr: {m}")))?;
    let defaults = [
        ("masterimage", &openstack.master_image),
        ("slaveimage", &openstack.slave_image),
        ("masterflavor", &openstack.master_flavor),
        ("slaveflavor", &openstack.slave_flavor),
        ("externalnetworkname", &openstack.external_network),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.clone()))
    .collect();
    Ok(StackSettings {
        network,
        dns_nameservers: openstack
            .dns_nameservers
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        ssh_cidr: openstack.ssh_cidr.clone(),
        log_cidr: set(&openstack.log_cidr),
        service_cidr: set(&openstack.service_cidr),
        gateway_cidr: set(&openstack.gateway_cidr),
        agent_port: openstack.agent_port,
        login_user: openstack.ssh_user.clone(),
        wait_timeout_secs: settings.lifecycle.build_timeout_secs.clamp(60, 43200),
        max_slave_count: settings
            .limits
            .max_slavecount
            .min(ClusterNetwork::MAX_SLAVES),
        log_port: 8084,
        mirror: settings.frameworks.mirror.clone(),
        defaults,
    })
}

/// An optional setting: empty means unset.
fn set(value: &str) -> Option<String> {
    Some(value.trim().to_string()).filter(|v| !v.is_empty())
}

/// Loads the Heat templates next to the frameworks they ship.
pub fn heat_templates(
    settings: &Settings,
    frameworks_dir: &Path,
) -> Result<HeatTemplates, StartupError> {
    let templates_dir = absolute(&settings.openstack.templates_dir)?;
    let environment = settings
        .openstack
        .environment
        .as_deref()
        .map(absolute)
        .transpose()?;
    HeatTemplates::load(&templates_dir, frameworks_dir, environment.as_deref())
        .map_err(|e| StartupError(format!("openstack: {e}")))
}

fn openstack_backend(
    settings: &Settings,
    frameworks_dir: &Path,
) -> Result<OpenStackBackend, StartupError> {
    let openstack = &settings.openstack;
    // As with the OpenStack client: the configured cloud, else OS_CLOUD, else OS_* variables.
    let cloud = Some(openstack.cloud.clone())
        .filter(|c| !c.is_empty())
        .or_else(|| std::env::var("OS_CLOUD").ok().filter(|c| !c.is_empty()));
    let identity = ServiceIdentity::new(match cloud {
        Some(name) => IdentitySource::Cloud(name),
        None => IdentitySource::Environment,
    });
    identity.check_configured().map_err(|m| {
        StartupError(format!(
            "{m}. The openstack backend acts through Keystone trusts to disco's own identity: \
             set openstack.cloud (or OS_CLOUD) to a cloud of clouds.yaml, or export OS_AUTH_URL, OS_USERNAME, \
             OS_PASSWORD, OS_PROJECT_NAME, OS_USER_DOMAIN_NAME and OS_PROJECT_DOMAIN_NAME"
        ))
    })?;
    OpenStackBackend::new(
        keystone(settings)?,
        identity,
        Arc::new(heat_templates(settings, frameworks_dir)?),
        OpenStackSettings {
            region: Some(openstack.region.clone()).filter(|r| !r.is_empty()),
            interface: openstack.interface.clone(),
            stack: stack_settings(settings)?,
            stack_timeout_mins: settings.lifecycle.build_timeout_secs.div_ceil(60) + 5,
            ssh_user: openstack.ssh_user.clone(),
            poll_min: Duration::from_secs(openstack.poll_min_secs),
            poll_max: Duration::from_secs(openstack.poll_max_secs),
            request_timeout: Duration::from_secs(openstack.request_timeout_secs),
        },
    )
    .map_err(StartupError)
}

/// Makes the data directory private (0700) and its database files 0600, also when an older
/// disco or another umask created them more open: they hold every tenant's clusters, and the
/// nodes' directories below hold their keys and logs.
fn restrict_data_dir(data_dir: &Path) -> Result<(), StartupError> {
    use std::os::unix::fs::PermissionsExt;
    let set = |path: &Path, mode: u32| match std::fs::set_permissions(
        path,
        std::fs::Permissions::from_mode(mode),
    ) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StartupError(format!(
            "cannot restrict the permissions of {} to {mode:o}: {e}",
            path.display()
        ))),
        _ => Ok(()),
    };
    set(data_dir, 0o700)?;
    for name in ["disco.db", "disco.db-wal", "disco.db-shm", "secret.key"] {
        set(&data_dir.join(name), 0o600)?;
    }
    Ok(())
}

/// The dashboard's sessions and what it knows of the configuration.
type DashboardData = (web::Data<Sessions>, web::Data<DashboardConfig>);

fn dashboard(config: &Config) -> Result<DashboardData, StartupError> {
    check_templates().map_err(|e| StartupError(format!("dashboard templates: {e}")))?;
    let sessions = Sessions::new(Duration::from_secs(config.settings.dashboard.session_secs));
    let sign_in = match config.auth {
        AuthMode::None => SignInKind::Tenant,
        AuthMode::Static { .. } => SignInKind::Static,
        AuthMode::Keystone => SignInKind::Keystone,
    };
    Ok((
        web::Data::new(sessions),
        web::Data::new(DashboardConfig {
            sign_in,
            openstack: config.settings.backend.kind == "openstack",
            settings: config.settings.clone(),
        }),
    ))
}

impl Application {
    pub fn build(config: Config) -> Result<Application, StartupError> {
        let settings = &config.settings;
        let frameworks_dir = absolute(&settings.frameworks.dir)?;
        let catalog =
            Arc::new(Catalog::load(&frameworks_dir).map_err(|e| StartupError(e.to_string()))?);
        let data_dir = absolute(&settings.store.data_dir)?;
        let store = Arc::new(Store::open(&data_dir).map_err(|e| StartupError(e.to_string()))?);
        restrict_data_dir(&data_dir)?;
        if settings.backend.kind == "local" && settings.local.allow_remote_tenants {
            tracing::warn!(
                bind = %config.bind,
                "local.allow_remote_tenants = true: every tenant's commands run as this Unix \
                 user, which can read every tenant's keys and the database; only trusted users \
                 should be able to reach disco"
            );
        }
        let login_limits = LoginLimits {
            cache_ttl: Duration::from_secs(settings.auth.cache_secs),
            failures_per_minute: settings.auth.failures_per_minute,
            hash_slots: settings.auth.hash_slots,
            hash_wait: HASH_WAIT,
        };
        let authenticator = match &config.auth {
            AuthMode::None => Authenticator::Open,
            AuthMode::Static { users_file } => Authenticator::Static(
                StaticUsers::load(users_file, login_limits).map_err(StartupError)?,
            ),
            AuthMode::Keystone => {
                Authenticator::Keystone(KeystoneLogins::new(keystone(settings)?, login_limits))
            }
        };
        let backend: Arc<dyn Backend> = if settings.backend.kind == "openstack" {
            Arc::new(openstack_backend(settings, &frameworks_dir)?)
        } else {
            Arc::new(LocalBackend::new(
                LocalSettings {
                    clusters_dir: data_dir.join("clusters"),
                    frameworks_dir,
                    address_range: config.address_range,
                    ssh_port: settings.local.ssh_port,
                    log_port: settings.local.log_port,
                    sshd_path: settings.local.sshd_path.clone(),
                    stop_grace: Duration::from_secs(settings.lifecycle.stop_grace_secs),
                    build_nice: settings.local.build_nice,
                    mirror: settings.frameworks.mirror.clone(),
                    cgroups: config.cgroups,
                    check_timeout: Duration::from_secs(settings.local.check_timeout_secs),
                },
                Arc::clone(&store),
            ))
        };
        let reconciler = Reconciler::new(
            Arc::clone(&store),
            Arc::clone(&backend),
            Arc::clone(&catalog),
            ReconcilerSettings {
                tick: Duration::from_millis(settings.lifecycle.tick_ms),
                build_timeout: Duration::from_secs(settings.lifecycle.build_timeout_secs),
                health_interval: Duration::from_secs(settings.lifecycle.health_interval_secs),
                health_looks_per_sec: settings.lifecycle.health_looks_per_sec,
                keep_deleted: Duration::from_secs(settings.lifecycle.keep_deleted_secs),
            },
        );
        let limits = SpecLimits {
            max_slave_count: settings.limits.max_slavecount,
        };
        let state = web::Data::new(AppState {
            store,
            kind: disco_kind(&catalog, limits.max_slave_count),
            core_kinds: core_kinds(),
            catalog,
            backend,
            authenticator,
            limits,
            capacity: Capacity {
                clusters_per_tenant: settings.limits.max_clusters_per_tenant,
                clusters: settings.limits.max_clusters,
                nodes: settings.limits.max_nodes,
            },
            reconciler: reconciler.waker(),
            keep_deleted_secs: settings.lifecycle.keep_deleted_secs,
            shown: Default::default(),
        });
        let (sessions, dashboard) = dashboard(&config)?;
        let listener = TcpListener::bind(config.bind).map_err(|e| {
            StartupError(format!(
                "cannot listen on {} (server.bind): {e}",
                config.bind
            ))
        })?;
        let address = listener
            .local_addr()
            .map_err(|e| StartupError(e.to_string()))?;
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(sessions.clone())
                .app_data(dashboard.clone())
                .app_data(web::PayloadConfig::new(1 << 20))
                .wrap_fn(|request, service| {
                    // The request line is copied only when it will be logged.
                    let logged = tracing::enabled!(tracing::Level::INFO).then(|| {
                        (
                            request.method().clone(),
                            request.path().to_string(),
                            Instant::now(),
                        )
                    });
                    let response = service.call(request);
                    async move {
                        let response = response.await?;
                        if let Some((method, path, started)) = logged {
                            tracing::info!(
                                %method,
                                %path,
                                status = response.status().as_u16(),
                                micros = started.elapsed().as_micros() as u64,
                                "request"
                            );
                        }
                        Ok(response)
                    }
                })
                .wrap(middleware::DefaultHeaders::new().add(("Server", SERVER_HEADER)))
                .configure(api::configure)
        })
        // Store reads and writes and password hashing: a few threads per worker serve them
        // (SQLite has one writer); the default, 256 each, grew to hundreds of threads under a
        // burst of creates, each holding memory.
        .worker_max_blocking_threads(BLOCKING_THREADS_PER_WORKER)
        .listen(listener)
        .map_err(|e| StartupError(e.to_string()))?;
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        Ok(Application {
            address,
            server: server.run(),
            reconciler,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until the server stops (SIGINT/SIGTERM), reconciling in the background.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let reconciler = tokio::spawn(self.reconciler.run());
        let result = self.server.await;
        reconciler.abort();
        result
    }
}
