//! Dashboard sessions, kept in memory: a random id in the `disco_session` cookie maps to the
//! tenant, how the user signed in and a CSRF token. No password is kept; in `keystone` mode
//! the Keystone token is. A restart signs everyone out.

use crate::secret::Secret;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The session cookie's name (it starts with `disco`, so the UI gateway never forwards it).
pub const COOKIE: &str = "disco_session";

/// Sessions kept at most; beyond, the one closest to expiry goes first.
const CAPACITY: usize = 10_000;

/// How the user signed in: what it takes to act for them again.
#[derive(Debug, Clone)]
pub enum Login {
    /// `auth.mode = none`: the tenant they picked.
    Open,
    /// `auth.mode = static`: the users file vouched for them at sign-in.
    Static,
    /// `auth.mode = keystone`: the project token Keystone gave (never the password).
    Keystone {
        token: Secret,
        project: String,
        region: Option<String>,
    },
}

/// One signed-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    pub tenant: String,
    /// Who signed in, as shown on the pages.
    pub user: String,
    pub login: Login,
    /// Every form and every cookie-authenticated change carries it.
    pub csrf: String,
    pub expires: Instant,
}

/// A random token: 32 bytes, base64url.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Compares two tokens in time that does not depend on where they differ.
pub fn same_token(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// The key a session is kept under: a digest of its id, so the table holds no usable cookie.
fn key(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

/// Every live session.
pub struct Sessions {
    lifetime: Duration,
    table: Mutex<HashMap<[u8; 32], Session>>,
}

impl Sessions {
    pub fn new(lifetime: Duration) -> Sessions {
        Sessions {
            lifetime,
            table: Mutex::new(HashMap::new()),
        }
    }

    /// How long a new session lasts.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// Starts a session and answers its id (the cookie's value). `until` caps its expiry (a
    /// Keystone token's own).
    pub fn start(
        &self,
        tenant: String,
        user: String,
        login: Login,
        until: Option<Instant>,
        now: Instant,
    ) -> (String, Session) {
        let id = random_token();
        let mut expires = now + self.lifetime;
        if let Some(until) = until {
            expires = expires.min(until);
        }
        let session = Session {
            tenant,
            user,
            login,
            csrf: random_token(),
            expires,
        };
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        table.retain(|_, s| s.expires > now);
        if table.len() >= CAPACITY {
            if let Some(oldest) = table.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| *k) {
                table.remove(&oldest);
            }
        }
        table.insert(key(&id), session.clone());
        (id, session)
    }

    /// The live session with this id.
    pub fn get(&self, id: &str, now: Instant) -> Option<Session> {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let k = key(id);
        match table.get(&k) {
            Some(session) if session.expires > now => Some(session.clone()),
            Some(_) => {
                table.remove(&k);
                None
            }
            None => None,
        }
    }

    /// Ends a session (sign-out).
    pub fn end(&self, id: &str) {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        table.remove(&key(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_lives_until_its_lifetime_ends_then_is_gone() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let now = Instant::now();
        let (id, session) = sessions.start("t".into(), "u".into(), Login::Open, None, now);
        assert_eq!(session.tenant, "t");
        assert!(sessions.get(&id, now + Duration::from_secs(59)).is_some());
        assert!(sessions.get(&id, now + Duration::from_secs(60)).is_none());
        assert!(sessions.get("not-an-id", now).is_none());
    }

    #[test]
    fn a_token_expiry_shortens_the_session_and_sign_out_ends_it() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let now = Instant::now();
        let until = Some(now + Duration::from_secs(5));
        let (id, _) = sessions.start("t".into(), "u".into(), Login::Static, until, now);
        assert!(sessions.get(&id, now + Duration::from_secs(6)).is_none());
        let (id, _) = sessions.start("t".into(), "u".into(), Login::Static, None, now);
        sessions.end(&id);
        assert!(sessions.get(&id, now).is_none());
    }

    #[test]
    fn ids_and_csrf_tokens_are_random_and_compared_whole() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(same_token(&a, &a.clone()));
        assert!(!same_token(&a, &b));
        assert!(!same_token(&a, &a[..42]));
        assert!(!same_token("", &a));
    }
}
