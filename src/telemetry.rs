//! Logging with `tracing`: text or JSON, filter from `logging.level` (or `RUST_LOG`).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Logs go to stderr; stdout carries only the start-up line.
pub fn init(level: &str, format: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
