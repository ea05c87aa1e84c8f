//! argon2 verification in a fixed number of slots, off the async workers.
//!
//! Each slot owns the memory argon2 works in (19 MiB for `disco hash-password`'s hashes),
//! allocated once and reused, so verifying costs no allocation and the memory all logins
//! together use is `slots × the largest hash's memory`, whatever the allocator keeps. A
//! verification that waits longer than `wait` for a slot is refused as [`Busy`].

use argon2::password_hash::{Output, PasswordHash};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

/// No slot freed up in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// The slots and their memory.
pub struct HashSlots {
    permits: Arc<Semaphore>,
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
    wait: Duration,
}

impl HashSlots {
    /// `slots` verifications at once; a caller waits at most `wait` for one.
    pub fn new(slots: usize, wait: Duration) -> HashSlots {
        let slots = slots.max(1);
        HashSlots {
            permits: Arc::new(Semaphore::new(slots)),
            memory: Arc::new(Mutex::new(vec![Vec::new(); slots])),
            wait,
        }
    }

    /// Whether `password` matches the PHC string `phc` (a malformed one matches nothing).
    pub async fn verify(&self, password: &str, phc: &str) -> Result<bool, Busy> {
        let permit = tokio::time::timeout(self.wait, Arc::clone(&self.permits).acquire_owned())
            .await
            .map_err(|_| Busy)?
            .map_err(|_| Busy)?;
        let memory = Arc::clone(&self.memory);
        let password = Zeroizing::new(password.to_string());
        let phc = phc.to_string();
        tokio::task::spawn_blocking(move || {
            // The slot is held until the hash is done, even if the request went away.
            let _permit = permit;
            let take = || memory.lock().unwrap_or_else(PoisonError::into_inner).pop();
            let mut blocks = take().unwrap_or_default();
            let valid = verify_in(password.as_bytes(), &phc, &mut blocks);
            memory
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(blocks);
            valid
        })
        .await
        .map_err(|_| Busy)
    }

    /// Takes a slot until the permit is dropped, as a long verification would.
    #[cfg(test)]
    pub async fn occupy(&self) -> tokio::sync::OwnedSemaphorePermit {
        Arc::clone(&self.permits).acquire_owned().await.unwrap()
    }
}

/// Verifies as argon2's `PasswordVerifier` does, in `blocks` (grown to the hash's memory
/// once, then reused); the comparison takes constant time.
fn verify_in(password: &[u8], phc: &str, blocks: &mut Vec<Block>) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (hash.hash, hash.salt) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let needed = params.block_count();
    if blocks.len() < needed {
        blocks.resize(needed, Block::default());
    }
    let mut out = Zeroizing::new(vec![0u8; expected.len()]);
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, &mut out, &mut blocks[..needed])
        .is_ok()
        && Output::new(&out).is_ok_and(|computed| computed == expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};

    fn hash(password: &str) -> String {
        Argon2::default()
            .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string()
    }

    #[test]
    fn the_right_password_matches_and_nothing_else_does() {
        let phc = hash("right");
        let mut blocks = Vec::new();
        assert!(verify_in(b"right", &phc, &mut blocks));
        assert_eq!(blocks.len(), 19 * 1024);
        assert!(!verify_in(b"wrong", &phc, &mut blocks));
        assert!(!verify_in(b"right", "$argon2id$nonsense", &mut blocks));
        // argon2i and argon2d hashes, and other parameters, verify too.
        for algorithm in [Algorithm::Argon2i, Algorithm::Argon2d] {
            let params = Params::new(8 * 1024, 1, 1, None).unwrap();
            let other = Argon2::new(algorithm, Version::V0x13, params)
                .hash_password(b"right", &SaltString::generate(&mut OsRng))
                .unwrap()
                .to_string();
            assert!(verify_in(b"right", &other, &mut blocks));
            assert!(!verify_in(b"wrong", &other, &mut blocks));
        }
    }

    #[tokio::test]
    async fn a_verification_that_finds_no_slot_in_time_is_busy() {
        let slots = HashSlots::new(1, Duration::from_millis(50));
        let phc = hash("right");
        assert_eq!(slots.verify("right", &phc).await, Ok(true));
        let _held = slots.occupy().await;
        assert_eq!(slots.verify("right", &phc).await, Err(Busy));
    }
}
