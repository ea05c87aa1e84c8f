//! Keyed digests of credentials: what the login caches and single-flight tables are keyed by,
//! so that no password or token is kept in memory beyond the request that carried it.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// HMAC-SHA256 of a set of credentials under the process's key.
pub type Digest = [u8; 32];

/// Computes [`Digest`]s with a key drawn at random when the process starts: a digest is useless
/// outside this process and cannot be recomputed from a guess without the key.
pub struct Digester {
    key: [u8; 32],
}

impl Digester {
    /// A digester with a fresh random key.
    pub fn random() -> Digester {
        Digester {
            key: rand::random(),
        }
    }

    /// The digest of `parts`, each length-prefixed so that `("ab", "c")` and `("a", "bc")`
    /// differ.
    pub fn digest(&self, parts: &[&[u8]]) -> Digest {
        // HMAC takes keys of any length; 32 bytes cannot be refused.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_depend_on_every_part_and_its_boundaries() {
        let digester = Digester::random();
        let a = digester.digest(&[b"alice", b"secret"]);
        assert_eq!(a, digester.digest(&[b"alice", b"secret"]));
        assert_ne!(a, digester.digest(&[b"alice", b"secreT"]));
        assert_ne!(a, digester.digest(&[b"alices", b"ecret"]));
        assert_ne!(a, digester.digest(&[b"alicesecret"]));
    }

    #[test]
    fn two_processes_digest_the_same_credentials_differently() {
        let parts: &[&[u8]] = &[b"alice", b"secret"];
        assert_ne!(
            Digester::random().digest(parts),
            Digester::random().digest(parts)
        );
    }
}
