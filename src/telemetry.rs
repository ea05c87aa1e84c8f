//! Logging with `tracing`: text or JSON, filter from `logging.level` (or `RUST_LOG`).

use std::fmt::Write as _;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Installs the global subscriber. Logs go to stderr; stdout carries only the start-up line.
pub fn init(level: &str, format: &str) {
    let _ = subscriber(level, format).try_init();
}

/// The subscriber: `level` is an `EnvFilter` directive (`RUST_LOG` wins).
fn subscriber(level: &str, format: &str) -> impl Subscriber + Send + Sync {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false);
    let fmt = if format == "json" {
        fmt.json().boxed()
    } else {
        fmt.boxed()
    };
    tracing_subscriber::registry()
        .with(ClientFaults)
        .with(fmt.with_filter(filter))
}

/// actix-http logs a client's malformed request (bad header, broken stream) at ERROR. It is
/// the client's fault, not the server's: such events are logged again at INFO instead.
struct ClientFaults;

/// Collects an event's message and fields as one line.
#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        }
    }
}

/// Whether an event is actix-http's report of a request it could not read.
fn is_client_fault(target: &str, level: &Level) -> bool {
    *level == Level::ERROR && target.starts_with("actix_http::h1")
}

impl<S: Subscriber> Layer<S> for ClientFaults {
    /// It looks at errors only. Without this hint the layer would count as wanting every level,
    /// and every `trace!` of every crate (actix-http logs several per request) would reach the
    /// subscriber before the filter dropped it.
    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::ERROR)
    }

    fn event_enabled(&self, event: &Event<'_>, _: Context<'_, S>) -> bool {
        let metadata = event.normalized_metadata();
        let metadata = metadata.as_ref().unwrap_or_else(|| event.metadata());
        if !is_client_fault(metadata.target(), metadata.level()) {
            return true;
        }
        let mut message = Message::default();
        event.record(&mut message);
        tracing::info!(error = %message.0, "a client sent a request that is not valid HTTP");
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_actix_http_errors_count_as_client_faults() {
        assert!(is_client_fault("actix_http::h1::dispatcher", &Level::ERROR));
        assert!(!is_client_fault("actix_http::h1::dispatcher", &Level::WARN));
        assert!(!is_client_fault("disco::lifecycle", &Level::ERROR));
    }

    #[test]
    fn levels_below_the_configured_one_are_dropped_before_reaching_the_subscriber() {
        // The hint is what `log` records (actix-http's per-request trace!) are checked
        // against, and what tracing's macros compare with before building an event.
        if std::env::var_os("RUST_LOG").is_some() {
            return;
        }
        assert_eq!(
            subscriber("warn", "text").max_level_hint(),
            Some(LevelFilter::WARN)
        );
        assert_eq!(
            subscriber("info", "json").max_level_hint(),
            Some(LevelFilter::INFO)
        );
    }
}
