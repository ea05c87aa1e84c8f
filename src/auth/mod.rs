//! Authentication that cannot be used to exhaust the server: verified logins are cached by a
//! keyed digest of the credentials (never the credentials), identical logins in parallel
//! share one check, argon2 hashing has a global number of slots, and repeated failures from
//! one client or for one user name are throttled.
//!
//! `static_users` checks the users file, `keystone` asks Keystone; the HTTP edge
//! (`api::caller`) picks the headers and maps [`AuthError`] to a status.

pub mod cache;
pub mod digest;
pub mod hashing;
pub mod keystone;
pub mod single_flight;
pub mod static_users;
pub mod throttle;

use std::time::Duration;

/// Why a caller is not let in.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    /// Wrong credentials (401).
    #[error("{0}")]
    Rejected(String),
    /// Known, but not allowed (403).
    #[error("{0}")]
    Forbidden(String),
    /// Too many failed logins from this client or for this user (429).
    #[error("{message}")]
    Throttled {
        message: String,
        retry_after: Duration,
    },
    /// Every hashing slot stayed busy, or the identity service cannot answer (503).
    #[error("{message}")]
    Unavailable {
        message: String,
        retry_after: Option<Duration>,
    },
}

/// How logins are cached and limited (`[auth]`).
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    /// How long a verified login is reused (zero: checked on every request).
    pub cache_ttl: Duration,
    /// Failed logins per client address and per user name per minute before `429`
    /// (0: no throttling).
    pub failures_per_minute: u32,
    /// argon2 verifications running at once, all callers together.
    pub hash_slots: usize,
    /// How long a login waits for a hashing slot before `503`.
    pub hash_wait: Duration,
}

/// Logins and clients remembered at most (each a few hundred bytes; Keystone logins hold
/// their token's service catalog too).
pub const MAX_REMEMBERED: usize = 4096;

/// The window failures are counted in.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);

fn throttled(blocked: throttle::Blocked) -> AuthError {
    let secs = blocked.retry_after.as_secs_f64().ceil().max(1.0) as u64;
    AuthError::Throttled {
        message: format!(
            "too many failed logins from this address or for this user; try again in {secs} s"
        ),
        retry_after: Duration::from_secs(secs),
    }
}
