//! Logging with `tracing`: text or JSON, filter from `logging.level` (or `RUST_LOG`).

use std::fmt::Write as _;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Installs the global subscriber. Logs go to stderr; stdout carries only the start-up line.
pub fn init(level: &str, format: &str) {
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
    let _ = tracing_subscriber::registry()
        .with(ClientFaults)
        .with(fmt.with_filter(filter))
        .try_init();
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
}
