//! Encryption of secrets at rest (private keys) with a key file created 0600 on first start.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

const NONCE_LEN: usize = 24;

/// Seals and opens secrets with XChaCha20-Poly1305; the associated data binds a secret to its
/// owner (a cluster id), so a sealed value moved to another row does not open.
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret key file {path}: {message}")]
    KeyFile { path: String, message: String },
    #[error("a stored secret could not be decrypted (wrong secret key file?)")]
    Decrypt,
}

impl SecretBox {
    /// Reads the key file, creating it with 32 random bytes and mode 0600 if it does not exist.
    pub fn load_or_create(path: &Path) -> Result<SecretBox, SecretError> {
        let fail = |message: String| SecretError::KeyFile {
            path: path.display().to_string(),
            message,
        };
        if !path.exists() {
            let mut key = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut key);
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| fail(e.to_string()))?;
            file.write_all(&key).map_err(|e| fail(e.to_string()))?;
            file.sync_all().map_err(|e| fail(e.to_string()))?;
        }
        let metadata = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
        if metadata.permissions().mode() & 0o077 != 0 {
            return Err(fail(format!(
                "is readable by others (mode {:o}); run chmod 600 on it",
                metadata.permissions().mode() & 0o777
            )));
        }
        let key = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
        let cipher = XChaCha20Poly1305::new_from_slice(&key)
            .map_err(|_| fail(format!("must hold exactly 32 bytes, not {}", key.len())))?;
        Ok(SecretBox { cipher })
    }

    pub fn seal(&self, plaintext: &[u8], owner: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: owner.as_bytes(),
                },
            )
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend(sealed);
        out
    }

    pub fn open(&self, sealed: &[u8], owner: &str) -> Result<Vec<u8>, SecretError> {
        if sealed.len() < NONCE_LEN {
            return Err(SecretError::Decrypt);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| SecretError::Decrypt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_is_created_private_and_secrets_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let sealer = SecretBox::load_or_create(&path).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let sealed = sealer.seal(b"private key", "cluster-a");
        assert!(!sealed.windows(11).any(|w| w == b"private key"));
        let again = SecretBox::load_or_create(&path).unwrap();
        assert_eq!(again.open(&sealed, "cluster-a").unwrap(), b"private key");
    }

    #[test]
    fn a_secret_does_not_open_for_another_owner() {
        let dir = tempfile::tempdir().unwrap();
        let sealer = SecretBox::load_or_create(&dir.path().join("k")).unwrap();
        let sealed = sealer.seal(b"x", "cluster-a");
        assert!(sealer.open(&sealed, "cluster-b").is_err());
    }

    #[test]
    fn a_key_file_readable_by_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, [0u8; 32]).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(SecretBox::load_or_create(&path).is_err());
    }
}
