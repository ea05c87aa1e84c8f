//! A bounded cache of verified logins, keyed by the credentials' digest, each entry with its
//! own expiry. No I/O; time is passed in, so the tests control it.

use super::digest::Digest;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

/// Verified logins: digest of the credentials to what they proved, until an instant.
pub struct LoginCache<V> {
    entries: Mutex<HashMap<Digest, (V, Instant)>>,
    capacity: usize,
}

impl<V: Clone> LoginCache<V> {
    /// A cache of at most `capacity` entries.
    pub fn new(capacity: usize) -> LoginCache<V> {
        LoginCache {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<Digest, (V, Instant)>> {
        // The map stays consistent whatever panicked while holding it.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What `key` proved, unless it expired by `now` (an expired entry is dropped).
    pub fn get(&self, key: &Digest, now: Instant) -> Option<V> {
        let mut entries = self.entries();
        match entries.get(key) {
            Some((value, until)) if *until > now => Some(value.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Remembers `value` for `key` until `until`. When the cache is full, expired entries go
    /// first, then the one that would expire soonest.
    pub fn insert(&self, key: Digest, value: V, until: Instant, now: Instant) {
        if until <= now {
            return;
        }
        let mut entries = self.entries();
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, (_, expiry)| *expiry > now);
            if entries.len() >= self.capacity {
                let soonest = entries
                    .iter()
                    .min_by_key(|(_, (_, expiry))| *expiry)
                    .map(|(k, _)| *k);
                if let Some(soonest) = soonest {
                    entries.remove(&soonest);
                }
            }
        }
        entries.insert(key, (value, until));
    }

    /// Forgets `key`.
    pub fn remove(&self, key: &Digest) {
        self.entries().remove(key);
    }

    /// Entries held (expired ones included until they are looked at or pushed out).
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn key(n: u8) -> Digest {
        [n; 32]
    }

    #[test]
    fn an_entry_lives_until_its_expiry_and_not_after() {
        let cache = LoginCache::new(10);
        let now = Instant::now();
        cache.insert(key(1), "alice", now + Duration::from_secs(5), now);
        assert_eq!(
            cache.get(&key(1), now + Duration::from_secs(4)),
            Some("alice")
        );
        assert_eq!(cache.get(&key(1), now + Duration::from_secs(5)), None);
        assert!(cache.is_empty());
    }

    #[test]
    fn a_full_cache_drops_expired_entries_then_the_soonest_to_expire() {
        let cache = LoginCache::new(3);
        let now = Instant::now();
        let secs = |s| now + Duration::from_secs(s);
        cache.insert(key(1), 1, secs(1), now);
        cache.insert(key(2), 2, secs(30), now);
        cache.insert(key(3), 3, secs(20), now);
        // At 2 s the first has expired: it goes, nothing else does.
        cache.insert(key(4), 4, secs(40), secs(2));
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.get(&key(3), secs(2)), Some(3));
        // Nothing expired: the soonest (3, at 20 s) makes room.
        cache.insert(key(5), 5, secs(50), secs(2));
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.get(&key(3), secs(2)), None);
        assert_eq!(cache.get(&key(2), secs(2)), Some(2));
    }

    #[test]
    fn thousands_of_logins_never_grow_the_cache_beyond_its_capacity() {
        let cache = LoginCache::new(100);
        let now = Instant::now();
        for n in 0..5000u32 {
            let mut k = [0u8; 32];
            k[..4].copy_from_slice(&n.to_be_bytes());
            cache.insert(k, n, now + Duration::from_secs(60), now);
        }
        assert_eq!(cache.len(), 100);
    }

    #[test]
    fn an_entry_already_expired_is_not_stored() {
        let cache = LoginCache::new(3);
        let now = Instant::now();
        cache.insert(key(1), 1, now, now);
        assert!(cache.is_empty());
    }
}
