//! The `disco` command line.

use anyhow::Context;
use clap::{Parser, Subcommand};
use disco::config::Config;
use disco::startup::Application;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "disco",
    version,
    about = "DISCO-compatible service manager for distributed-computing clusters"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the OCCI service (default configuration: etc/sm.cfg).
    Serve {
        /// Configuration file (INI).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Reads a password from standard input and prints its argon2 hash for auth.users_file.
    HashPassword,
    /// Prints the Heat template, parameters and per-role installers a create request with
    /// these attributes would send, without contacting any cloud.
    Plan {
        /// Configuration file (INI); its [openstack] and [limits] sections shape the stack.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// An attribute as NAME=VALUE (the value is taken literally); repeatable.
        #[arg(long = "attribute", short = 'a', value_name = "NAME=VALUE")]
        attributes: Vec<String>,
        /// A file of attributes in X-OCCI-Attribute syntax (name="value", one or more per line).
        #[arg(long, short)]
        file: Option<PathBuf>,
        /// `text` for people, `json` for programs: {template, parameters, files, installers}.
        #[arg(long, short, default_value = "text", value_parser = ["text", "json"])]
        output: String,
    },
    /// Marks a `deleting` cluster deleted without asking its backend, once an operator removed
    /// what was left by hand (e.g. its stack, when disco can no longer act for the owner).
    Forget {
        /// Configuration file (INI); its store.data_dir holds the database.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// The cluster's id.
        id: uuid::Uuid,
    },
}

const DEFAULT_CONFIG: &str = "etc/sm.cfg";

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config } => serve(config),
        Command::HashPassword => hash_password(),
        Command::Plan {
            config,
            attributes,
            file,
            output,
        } => plan(config, &attributes, file, &output),
        Command::Forget { config, id } => forget(config, id),
    }
}

fn forget(config: Option<PathBuf>, id: uuid::Uuid) -> anyhow::Result<()> {
    let explicit = config.is_some();
    let path = config.unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG));
    let fail = |message: String| -> ! {
        eprintln!("disco forget: {message}");
        std::process::exit(2)
    };
    let config = Config::load(&path, explicit).unwrap_or_else(|e| fail(e.to_string()));
    let store = disco::store::Store::open(&config.settings.store.data_dir)
        .unwrap_or_else(|e| fail(e.to_string()));
    match store.forget(id) {
        Ok(true) => {
            println!("cluster {id} is deleted");
            Ok(())
        }
        Ok(false) => fail(format!(
            "no cluster {id} is deleting (only a cluster being deleted can be forgotten)"
        )),
        Err(e) => fail(e.to_string()),
    }
}

fn plan(
    config: Option<PathBuf>,
    flags: &[String],
    file: Option<PathBuf>,
    output: &str,
) -> anyhow::Result<()> {
    let explicit = config.is_some();
    let path = config.unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG));
    let fail = |message: String| -> ! {
        eprintln!("disco plan: {message}");
        std::process::exit(2)
    };
    let config = Config::load(&path, explicit).unwrap_or_else(|e| fail(e.to_string()));
    let mut attributes = Vec::new();
    if let Some(file) = file {
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| fail(format!("cannot read {}: {e}", file.display())));
        attributes = disco::preview::attributes_from_text(&text)
            .unwrap_or_else(|e| fail(format!("{}: {e}", file.display())));
    }
    attributes.extend(disco::preview::attributes_from_flags(flags).unwrap_or_else(|e| fail(e)));
    let document =
        disco::preview::plan_stack(&config.settings, &attributes).unwrap_or_else(|e| fail(e));
    if output == "json" {
        println!("{}", serde_json::to_string_pretty(&document)?);
    } else {
        print!("{}", disco::preview::render_readable(&document));
    }
    Ok(())
}

/// glibc's malloc gives each thread that allocates its own arena, up to 8 per core, and keeps
/// freed memory in each: with the blocking pool's threads coming and going under load, that
/// held about a third of the server's memory (113 MB against 75 MB with 2 arenas, 2,000
/// clusters, `bench/scale.sh`). Two arenas serve two cores.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a parameter of the allocator; it is called before any other
    // thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

fn serve(config: Option<PathBuf>) -> anyhow::Result<()> {
    // Nothing disco writes (database, node directories, keys, logs), nor anything the processes
    // it starts write, is readable by other users.
    // SAFETY: umask(2) cannot fail and touches no memory.
    unsafe {
        libc::umask(0o077);
    }
    limit_malloc_arenas();
    let explicit = config.is_some();
    let path = config.unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG));
    let config = match Config::load(&path, explicit) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("disco: {e}");
            std::process::exit(2);
        }
    };
    disco::telemetry::init(
        &config.settings.logging.level,
        &config.settings.logging.format,
    );
    if !path.exists() {
        tracing::warn!(path = %path.display(), "no configuration file; using the defaults");
    }
    // The reconciler's store calls and the local backend's steps run on blocking threads;
    // 64 bound the memory they hold when a thousand clusters change at once (the default
    // is 512).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(64)
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let application = match Application::build(config.clone()) {
            Ok(application) => application,
            Err(e) => {
                eprintln!("disco: {e}");
                std::process::exit(2);
            }
        };
        println!(
            "disco listening on http://{} (backend {}, data in {})",
            application.address(),
            config.settings.backend.kind,
            config.settings.store.data_dir.display()
        );
        tracing::info!(address = %application.address(), "listening");
        application
            .run_until_stopped()
            .await
            .context("the HTTP server failed")
    })
}

fn hash_password() -> anyhow::Result<()> {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let mut password = String::new();
    std::io::stdin()
        .read_line(&mut password)
        .context("cannot read the password from standard input")?;
    let password = password.trim_end_matches(['\n', '\r']);
    anyhow::ensure!(!password.is_empty(), "the password is empty");
    let salt = SaltString::generate(&mut OsRng);
    let hash = argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("cannot hash: {e}"))?;
    println!("{hash}");
    Ok(())
}
