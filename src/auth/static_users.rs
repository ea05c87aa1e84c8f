//! `auth.mode = static`: users from a file, passwords checked against their argon2 hashes.
//!
//! A hash is verified at most once per `auth.cache_secs` for the same user and password, in
//! one of a few global slots (`hashing`); see the module `auth` for the rest.

use super::cache::LoginCache;
use super::digest::{Digest, Digester};
use super::hashing::{Busy, HashSlots};
use super::single_flight::SingleFlight;
use super::throttle::{Client, FailureThrottle};
use super::{throttled, AuthError, LoginLimits, FAILURE_WINDOW, MAX_REMEMBERED};
use argon2::password_hash::PasswordHash;
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A user from the users file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticUser {
    pub name: String,
    pub tenant: String,
    pub password_hash: String,
}

/// Verified for users that do not exist, so that timing does not reveal who exists.
const UNKNOWN_USER_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$ZmFrZWhhc2hmYWtlaGFzaGZha2VoYXNoZmFrZWg";

/// Reads a users file's text: one `user tenant argon2-hash` per line, `#` comments. The error
/// names the line.
pub fn parse_users(text: &str) -> Result<Vec<StaticUser>, String> {
    let mut users = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [name, tenant, hash] = fields[..] else {
            return Err(format!("line {}: expected `user tenant hash`", number + 1));
        };
        PasswordHash::new(hash).map_err(|e| {
            format!(
                "line {}: the hash is not a PHC string ({e}); make one with `disco hash-password`",
                number + 1
            )
        })?;
        users.push(StaticUser {
            name: name.into(),
            tenant: tenant.into(),
            password_hash: hash.into(),
        });
    }
    if users.is_empty() {
        return Err("it lists no users".into());
    }
    Ok(users)
}

/// The users and what protects their checking.
pub struct StaticUsers {
    users: HashMap<String, Arc<StaticUser>>,
    digester: Digester,
    cache: LoginCache<Arc<StaticUser>>,
    flights: SingleFlight<Result<Arc<StaticUser>, AuthError>>,
    throttle: FailureThrottle,
    slots: HashSlots,
    limits: LoginLimits,
}

impl StaticUsers {
    /// Reads the users file at `path`.
    pub fn load(path: &Path, limits: LoginLimits) -> Result<StaticUsers, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("auth.users_file {}: {e}", path.display()))?;
        let users =
            parse_users(&text).map_err(|m| format!("auth.users_file {}: {m}", path.display()))?;
        Ok(StaticUsers::new(users, limits))
    }

    /// Checks logins against `users`.
    pub fn new(users: Vec<StaticUser>, limits: LoginLimits) -> StaticUsers {
        StaticUsers {
            users: users
                .into_iter()
                .map(|u| (u.name.clone(), Arc::new(u)))
                .collect(),
            digester: Digester::random(),
            cache: LoginCache::new(MAX_REMEMBERED),
            flights: SingleFlight::default(),
            throttle: FailureThrottle::new(
                limits.failures_per_minute,
                FAILURE_WINDOW,
                MAX_REMEMBERED,
            ),
            slots: HashSlots::new(limits.hash_slots, limits.hash_wait),
            limits,
        }
    }

    /// The user `name` if `password` is theirs. `peer` is the client's address, for
    /// throttling.
    pub async fn verify(
        &self,
        name: &str,
        password: &str,
        peer: Option<IpAddr>,
    ) -> Result<Arc<StaticUser>, AuthError> {
        let key = self
            .digester
            .digest(&[name.as_bytes(), password.as_bytes()]);
        if let Some(user) = self.cache.get(&key, Instant::now()) {
            return Ok(user);
        }
        let mut clients = vec![Client::User(name.to_string())];
        clients.extend(peer.map(Client::address));
        self.flights
            .run(key, || self.check(key, name, password, &clients))
            .await
    }

    /// One verification, throttled and in a hashing slot; its result is cached.
    async fn check(
        &self,
        key: Digest,
        name: &str,
        password: &str,
        clients: &[Client],
    ) -> Result<Arc<StaticUser>, AuthError> {
        // A flight that landed just before this one started may have cached the answer.
        if let Some(user) = self.cache.get(&key, Instant::now()) {
            return Ok(user);
        }
        self.throttle
            .begin(clients, Instant::now())
            .map_err(throttled)?;
        match self.hash(name, password).await {
            Ok(Some(user)) => {
                let now = Instant::now();
                self.throttle.succeeded(clients, now);
                self.cache
                    .insert(key, Arc::clone(&user), now + self.limits.cache_ttl, now);
                Ok(user)
            }
            Ok(None) => Err(AuthError::Rejected("wrong user name or password".into())),
            Err(busy) => {
                // Not the client's failure.
                self.throttle.succeeded(clients, Instant::now());
                Err(busy)
            }
        }
    }

    /// Verifies the password against the user's hash (a dummy one for unknown users) in a
    /// hashing slot.
    async fn hash(&self, name: &str, password: &str) -> Result<Option<Arc<StaticUser>>, AuthError> {
        let user = self.users.get(name).cloned();
        let phc = user
            .as_ref()
            .map_or(UNKNOWN_USER_HASH, |u| u.password_hash.as_str());
        let started = Instant::now();
        let valid =
            self.slots
                .verify(password, phc)
                .await
                .map_err(|Busy| AuthError::Unavailable {
                    message: format!(
                        "every password-hashing slot stayed busy for {} s; try again",
                        self.limits.hash_wait.as_secs_f32()
                    ),
                    retry_after: Some(Duration::from_secs(1)),
                })?;
        tracing::debug!(
            known_user = user.is_some(),
            valid,
            millis = started.elapsed().as_millis() as u64,
            "argon2 verification"
        );
        Ok(user.filter(|_| valid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    use argon2::Argon2;

    fn hash(password: &str) -> String {
        Argon2::default()
            .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string()
    }

    fn limits() -> LoginLimits {
        LoginLimits {
            cache_ttl: Duration::from_secs(60),
            failures_per_minute: 3,
            hash_slots: 1,
            hash_wait: Duration::from_secs(5),
        }
    }

    fn alice(limits: LoginLimits) -> StaticUsers {
        StaticUsers::new(
            vec![StaticUser {
                name: "alice".into(),
                tenant: "research".into(),
                password_hash: hash("right"),
            }],
            limits,
        )
    }

    #[test]
    fn users_files_parse_and_errors_name_the_line() {
        let users = parse_users(&format!("# who\n\nalice research {}\n", hash("x"))).unwrap();
        assert_eq!(users[0].tenant, "research");
        assert!(parse_users("alice research")
            .unwrap_err()
            .contains("line 1"));
        assert!(parse_users("\nalice research nohash")
            .unwrap_err()
            .contains("line 2: the hash is not a PHC string"));
        assert!(parse_users("# nobody\n").unwrap_err().contains("no users"));
    }

    #[tokio::test]
    async fn a_verified_login_is_reused_and_a_wrong_password_is_not() {
        let users = alice(limits());
        let peer = Some(IpAddr::from([192, 0, 2, 1]));
        assert_eq!(
            users.verify("alice", "right", peer).await.unwrap().tenant,
            "research"
        );
        assert_eq!(users.cache.len(), 1);
        users.verify("alice", "right", peer).await.unwrap();
        assert!(matches!(
            users.verify("alice", "wrong", peer).await,
            Err(AuthError::Rejected(_))
        ));
        assert!(matches!(
            users.verify("mallory", "right", peer).await,
            Err(AuthError::Rejected(_))
        ));
        assert_eq!(users.cache.len(), 1);
    }

    #[tokio::test]
    async fn failures_beyond_the_limit_are_throttled_but_a_cached_login_still_works() {
        let users = alice(limits());
        let peer = Some(IpAddr::from([192, 0, 2, 7]));
        users.verify("alice", "right", peer).await.unwrap();
        for guess in ["a", "b", "c"] {
            assert!(matches!(
                users.verify("alice", guess, peer).await,
                Err(AuthError::Rejected(_))
            ));
        }
        let Err(AuthError::Throttled { retry_after, .. }) = users.verify("alice", "d", peer).await
        else {
            panic!("the fourth failure in a minute is not throttled");
        };
        assert!(retry_after <= FAILURE_WINDOW && retry_after >= Duration::from_secs(1));
        users.verify("alice", "right", peer).await.unwrap();
    }

    #[tokio::test]
    async fn a_login_that_cannot_get_a_hashing_slot_in_time_is_503() {
        let users = alice(LoginLimits {
            hash_wait: Duration::from_millis(50),
            ..limits()
        });
        let _held = users.slots.occupy().await;
        let Err(AuthError::Unavailable { retry_after, .. }) =
            users.verify("alice", "right", None).await
        else {
            panic!("a login waited for a slot beyond hash_wait");
        };
        assert_eq!(retry_after, Some(Duration::from_secs(1)));
        // Waiting for a slot is not a failure of the client's.
        assert!(users.throttle.is_empty());
    }
}
