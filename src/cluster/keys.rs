//! SSH key material for a cluster: an ed25519 key pair in OpenSSH format.

use ssh_key::{rand_core::OsRng, Algorithm, LineEnding, PrivateKey};

/// A freshly generated key pair. The private half is wiped from memory when dropped.
pub struct KeyPair {
    pub public_openssh: String,
    pub private_openssh: zeroize::Zeroizing<String>,
}

/// Generates an ed25519 key pair with `comment` (e.g. the key name) in the public key.
pub fn generate_key_pair(comment: &str) -> Result<KeyPair, ssh_key::Error> {
    let mut key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519)?;
    key.set_comment(comment);
    let private_openssh = key.to_openssh(LineEnding::LF)?;
    let public_openssh = key.public_key().to_openssh()?;
    Ok(KeyPair {
        public_openssh,
        private_openssh,
    })
}

/// A random secret of `length` letters and digits (about 5.95 bits each).
pub fn generate_secret(length: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rngs::OsRng;
    (0..length)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_openssh_ed25519_and_distinct() {
        let a = generate_key_pair("disco-a").unwrap();
        let b = generate_key_pair("disco-b").unwrap();
        assert!(a.public_openssh.starts_with("ssh-ed25519 "));
        assert!(a.public_openssh.ends_with(" disco-a"));
        assert!(a
            .private_openssh
            .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"));
        assert!(a
            .private_openssh
            .ends_with("-----END OPENSSH PRIVATE KEY-----\n"));
        assert_ne!(a.public_openssh, b.public_openssh);
    }
}
