//! Identity numbers at rest: sealed with ChaCha20-Poly1305 (RFC 8439,
//! RustCrypto `chacha20poly1305`) under the host key `keys/id-number.key`,
//! and found again through a blind index, HMAC-SHA256 under
//! `keys/id-index.key`, so that no store tree holds a number in clear.
//! Phone numbers, which key the accounts' tables, are indexed the same way
//! (a different domain-separation label, so an index of one kind never
//! equals one of the other).
//!
//! A sealed value is `base64(nonce ‖ ciphertext ‖ tag)` with a fresh random
//! 96-bit nonce; the associated data binds it to its record (the citizen id,
//! say), so a sealed number copied into another record does not open.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

pub use crate::error::Unsealable;

/// Seals and opens identity numbers (and names held beside them).
#[derive(Clone)]
pub struct Vault {
    cipher: ChaCha20Poly1305,
    index_key: [u8; 32],
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(..)")
    }
}

impl Vault {
    /// A vault over the host's sealing key and blind-index key.
    pub fn new(seal_key: &[u8; 32], index_key: &[u8; 32]) -> Self {
        Self {
            cipher: ChaCha20Poly1305::new(seal_key.into()),
            index_key: *index_key,
        }
    }

    /// Seals `plain` for the record named by `record` (associated data).
    pub fn seal(&self, plain: &str, record: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: record.as_bytes(),
                },
            )
            .expect("ChaCha20-Poly1305 seals any message under 256 GiB");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        STANDARD.encode(out)
    }

    /// Opens a value sealed for `record`.
    pub fn open(&self, sealed: &str, record: &str) -> Result<String, Unsealable> {
        let bytes = STANDARD.decode(sealed).map_err(|_| Unsealable)?;
        if bytes.len() < 12 + 16 {
            return Err(Unsealable);
        }
        let (nonce, body) = bytes.split_at(12);
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: record.as_bytes(),
                },
            )
            .map_err(|_| Unsealable)?;
        String::from_utf8(plain).map_err(|_| Unsealable)
    }

    /// Blind index of a normalised identity number: HMAC-SHA256 under the
    /// index key, 64 hex characters. Equal numbers give equal indexes; the
    /// number cannot be recovered without the key.
    pub fn blind_index(&self, id_number: &str) -> String {
        self.index(b"id-number\0", id_number)
    }

    /// Blind index of a phone number (11 digits), as
    /// [`Vault::blind_index`]: 64 hex characters.
    pub fn phone_index(&self, phone: &str) -> String {
        self.index(b"phone\0", phone)
    }

    /// HMAC of a one-time code sent to a phone number, under the index
    /// key: 64 hex characters (`identity::phone_codes`).
    pub fn code_mac(&self, phone: &str, code: &str) -> String {
        self.index(b"phone-code\0", &format!("{phone}\0{code}"))
    }

    fn index(&self, label: &[u8], value: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.index_key)
            .expect("HMAC takes any key length");
        mac.update(label);
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_opens_and_binds_to_the_record() {
        let vault = Vault::new(&[1; 32], &[2; 32]);
        let sealed = vault.seal("11010519491231002X", "citizen-1");
        assert!(!sealed.contains("11010519491231002X"));
        assert_ne!(sealed, vault.seal("11010519491231002X", "citizen-1"));
        assert_eq!(
            vault.open(&sealed, "citizen-1").unwrap(),
            "11010519491231002X"
        );
        assert!(vault.open(&sealed, "citizen-2").is_err());
        assert!(
            Vault::new(&[3; 32], &[2; 32])
                .open(&sealed, "citizen-1")
                .is_err()
        );
        let mut damaged = STANDARD.decode(&sealed).unwrap();
        *damaged.last_mut().unwrap() ^= 1;
        assert!(vault.open(&STANDARD.encode(damaged), "citizen-1").is_err());
    }

    #[test]
    fn blind_index_is_stable_and_keyed() {
        let vault = Vault::new(&[1; 32], &[2; 32]);
        let index = vault.blind_index("11010519491231002X");
        assert_eq!(index, vault.blind_index("11010519491231002X"));
        assert_ne!(index, vault.blind_index("110105194912310021"));
        assert_ne!(
            index,
            Vault::new(&[1; 32], &[9; 32]).blind_index("11010519491231002X")
        );
    }
}
