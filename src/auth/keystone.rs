//! `auth.mode = keystone`: a user's password or token is checked by Keystone once and the
//! project-scoped token it gave is reused until `auth.cache_secs` pass or the token is about
//! to expire, whichever is first. Concurrent requests with the same credentials make one
//! Keystone call. Every call is async and has the client's timeout
//! (`openstack.request_timeout_secs`), so a slow Keystone holds no HTTP worker.

use super::cache::LoginCache;
use super::digest::{Digest, Digester};
use super::single_flight::SingleFlight;
use super::throttle::{Client, FailureThrottle};
use super::{throttled, AuthError, LoginLimits, FAILURE_WINDOW, MAX_REMEMBERED};
use crate::backend::openstack::keystone::{Credentials, Keystone, KeystoneError, Token};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// A token that expires sooner than this is not reused.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(30);

/// Whether a login may be answered from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// A login verified within `auth.cache_secs` will do (reads, changes).
    Cached,
    /// Ask Keystone now (a create: its token makes the cluster's trust).
    Fresh,
}

/// Keystone logins and their cache.
pub struct KeystoneLogins {
    keystone: Keystone,
    digester: Digester,
    cache: LoginCache<Token>,
    flights: SingleFlight<Result<Token, AuthError>>,
    throttle: FailureThrottle,
    limits: LoginLimits,
}

/// How long a token Keystone just issued may be reused: `ttl`, but never closer than
/// [`EXPIRY_MARGIN`] to its expiry.
pub fn reuse_for(ttl: Duration, remaining: chrono::Duration) -> Duration {
    let usable = remaining
        .to_std()
        .unwrap_or_default()
        .saturating_sub(EXPIRY_MARGIN);
    ttl.min(usable)
}

impl KeystoneLogins {
    pub fn new(keystone: Keystone, limits: LoginLimits) -> KeystoneLogins {
        KeystoneLogins {
            keystone,
            digester: Digester::random(),
            cache: LoginCache::new(MAX_REMEMBERED),
            flights: SingleFlight::default(),
            throttle: FailureThrottle::new(
                limits.failures_per_minute,
                FAILURE_WINDOW,
                MAX_REMEMBERED,
            ),
            limits,
        }
    }

    /// The project-scoped token `credentials` prove. `peer` is the client's address, for
    /// throttling failures.
    pub async fn login(
        &self,
        credentials: &Credentials<'_>,
        peer: Option<IpAddr>,
        freshness: Freshness,
    ) -> Result<Token, AuthError> {
        let (key, user) = match credentials {
            Credentials::Password {
                user,
                password,
                project,
            } => (
                self.digester.digest(&[
                    b"password",
                    user.as_bytes(),
                    password.as_bytes(),
                    project.as_bytes(),
                ]),
                Some(*user),
            ),
            Credentials::Token { token, project } => (
                self.digester
                    .digest(&[b"token", token.as_bytes(), project.as_bytes()]),
                None,
            ),
        };
        if freshness == Freshness::Cached {
            if let Some(token) = self.cache.get(&key, Instant::now()) {
                return Ok(token);
            }
        }
        let mut clients: Vec<Client> = user
            .map(|u| Client::User(u.to_string()))
            .into_iter()
            .collect();
        clients.extend(peer.map(Client::address));
        self.flights
            .run(key, || self.check(key, credentials, &clients, freshness))
            .await
    }

    async fn check(
        &self,
        key: Digest,
        credentials: &Credentials<'_>,
        clients: &[Client],
        freshness: Freshness,
    ) -> Result<Token, AuthError> {
        if freshness == Freshness::Cached {
            if let Some(token) = self.cache.get(&key, Instant::now()) {
                return Ok(token);
            }
        }
        self.throttle
            .begin(clients, Instant::now())
            .map_err(throttled)?;
        let result = self.keystone.authenticate(credentials).await;
        let now = Instant::now();
        match result {
            Ok(token) => {
                self.throttle.succeeded(clients, now);
                let reuse = reuse_for(self.limits.cache_ttl, token.remaining());
                self.cache.insert(key, token.clone(), now + reuse, now);
                tracing::debug!(reuse_secs = reuse.as_secs(), "Keystone login verified");
                Ok(token)
            }
            // Only refused credentials count as a failed guess.
            Err(KeystoneError::Rejected(message)) => Err(AuthError::Rejected(message)),
            Err(KeystoneError::Forbidden(message)) => {
                self.throttle.succeeded(clients, now);
                Err(AuthError::Forbidden(message))
            }
            Err(KeystoneError::Unavailable(message)) => {
                self.throttle.succeeded(clients, now);
                Err(AuthError::Unavailable {
                    message,
                    retry_after: None,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_reused_for_the_cache_time_but_never_near_its_expiry() {
        let five_minutes = Duration::from_secs(300);
        assert_eq!(
            reuse_for(five_minutes, chrono::Duration::hours(1)),
            five_minutes
        );
        assert_eq!(
            reuse_for(five_minutes, chrono::Duration::seconds(90)),
            Duration::from_secs(60)
        );
        assert_eq!(
            reuse_for(five_minutes, chrono::Duration::seconds(10)),
            Duration::ZERO
        );
        assert_eq!(
            reuse_for(five_minutes, chrono::Duration::seconds(-10)),
            Duration::ZERO
        );
    }
}
