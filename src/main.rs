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
}

const DEFAULT_CONFIG: &str = "etc/sm.cfg";

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config } => serve(config),
        Command::HashPassword => hash_password(),
    }
}

fn serve(config: Option<PathBuf>) -> anyhow::Result<()> {
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
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
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
