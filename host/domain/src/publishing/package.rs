//! A package: a mini-app's component bytes and its manifest (TOML text),
//! signed by the department with Ed25519.
//!
//! The signed message is, in UTF-8, four lines joined by `\n`:
//!
//! ```text
//! cityhost-package-v1
//! {app id}
//! {version}
//! {hex SHA-256 of the component bytes}
//! {hex SHA-256 of the manifest text}
//! ```
//!
//! so a signature binds the exact bytes, the exact manifest, the app id and
//! the version. On the wire (`POST /api/publish/packages`) a package is JSON:
//! `{"manifest": "...", "component": "<base64>", "signature": "<base64>"}`.

use base64::Engine as _;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::departments::SigningKeyRecord;

/// Largest component a package may carry: 10 MiB.
pub const MAX_COMPONENT_BYTES: usize = 10 << 20;
/// Largest manifest a package may carry: 64 KiB.
pub const MAX_MANIFEST_BYTES: usize = 64 << 10;
/// Largest package request body: the base64 of a 10 MiB component, the
/// manifest and the signature, with room for JSON (14 MiB).
pub const MAX_PACKAGE_BODY_BYTES: usize = 14 << 20;

/// A package as uploaded.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageUpload {
    /// The manifest, TOML text.
    pub manifest: String,
    /// The component bytes, standard base64.
    pub component: String,
    /// The Ed25519 signature (64 bytes), standard base64.
    pub signature: String,
}

/// A decoded package.
#[derive(Debug, Clone)]
pub struct Package {
    /// The manifest text.
    pub manifest: String,
    /// The component bytes.
    pub component: Vec<u8>,
    /// The signature.
    pub signature: [u8; 64],
}

impl Package {
    /// Signs `component` and `manifest` for `app_id` at `version`.
    pub fn sign(
        key: &SigningKey,
        app_id: &str,
        version: &str,
        manifest: String,
        component: Vec<u8>,
    ) -> Package {
        let message = signed_message(app_id, version, &component, &manifest);
        Package {
            signature: key.sign(message.as_bytes()).to_bytes(),
            manifest,
            component,
        }
    }

    /// The wire form.
    pub fn to_upload(&self) -> PackageUpload {
        let b64 = base64::engine::general_purpose::STANDARD;
        PackageUpload {
            manifest: self.manifest.clone(),
            component: b64.encode(&self.component),
            signature: b64.encode(self.signature),
        }
    }

    /// The id of the registered key whose signature this is, over `app_id`
    /// and `version` (as the manifest states them); `None` if no key
    /// verifies it.
    pub fn signed_by<'k>(
        &self,
        keys: &'k [SigningKeyRecord],
        app_id: &str,
        version: &str,
    ) -> Option<&'k SigningKeyRecord> {
        let message = signed_message(app_id, version, &self.component, &self.manifest);
        let signature = Signature::from_bytes(&self.signature);
        keys.iter().find(|k| {
            k.verifying_key()
                .is_some_and(|vk| vk.verify(message.as_bytes(), &signature).is_ok())
        })
    }
}

/// Why an uploaded package could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The component is larger than [`MAX_COMPONENT_BYTES`].
    #[error("the component has {0} bytes; at most 10 MiB (10485760 bytes) are accepted")]
    TooLarge(usize),
    /// The manifest is larger than [`MAX_MANIFEST_BYTES`].
    #[error("the manifest exceeds 64 KiB")]
    ManifestTooLarge,
    /// A field is not base64 or has the wrong length.
    #[error("{field}: {reason}")]
    Field {
        /// `component` or `signature`.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
}

impl PackageUpload {
    /// Decodes the base64 fields and checks the sizes.
    pub fn decode(&self) -> Result<Package, DecodeError> {
        let b64 = base64::engine::general_purpose::STANDARD;
        if self.manifest.len() > MAX_MANIFEST_BYTES {
            return Err(DecodeError::ManifestTooLarge);
        }
        // Refuse before decoding: base64 has 4 characters per 3 bytes.
        if self.component.len() / 4 * 3 > MAX_COMPONENT_BYTES + 3 {
            return Err(DecodeError::TooLarge(self.component.len() / 4 * 3));
        }
        let component = b64
            .decode(&self.component)
            .map_err(|_| DecodeError::Field {
                field: "component",
                reason: "not standard base64",
            })?;
        if component.len() > MAX_COMPONENT_BYTES {
            return Err(DecodeError::TooLarge(component.len()));
        }
        let signature = b64
            .decode(&self.signature)
            .ok()
            .and_then(|s| <[u8; 64]>::try_from(s).ok())
            .ok_or(DecodeError::Field {
                field: "signature",
                reason: "an Ed25519 signature is 64 bytes in standard base64",
            })?;
        Ok(Package {
            manifest: self.manifest.clone(),
            component,
            signature,
        })
    }
}

/// The message a department signs (see the module docs).
pub fn signed_message(app_id: &str, version: &str, component: &[u8], manifest: &str) -> String {
    format!(
        "cityhost-package-v1\n{app_id}\n{version}\n{}\n{}",
        hex::encode(Sha256::digest(component)),
        hex::encode(Sha256::digest(manifest.as_bytes()))
    )
}

/// The first eight bytes of every binary WebAssembly component: the magic
/// `\0asm`, the component encoding's version `0x0d 0x00` and the layer
/// `0x01 0x00` (a core module has layer `0x00 0x00`). Component Model,
/// `Binary.md`, "Component Definitions" (pre-standard version 0xd).
pub const COMPONENT_PREAMBLE: [u8; 8] = *b"\0asm\x0d\x00\x01\x00";

/// Whether `bytes` start as a binary WebAssembly component
/// ([`COMPONENT_PREAMBLE`]). Packages carry binary components only: the
/// engine would also compile the WebAssembly *text* format (and a core
/// module would fail later with a vaguer message), so this is checked
/// before anything is compiled.
pub fn is_binary_component(bytes: &[u8]) -> bool {
    bytes.starts_with(&COMPONENT_PREAMBLE)
}

/// The key the host signs the mini-apps it ships with (bundled apps):
/// HMAC-SHA256 of a fixed label under the host's session key, so it is
/// the same across restarts and never stored.
pub fn bundled_signing_key(session_key: &[u8; 32]) -> SigningKey {
    let mut mac = Hmac::<Sha256>::new_from_slice(session_key).expect("HMAC takes any key");
    mac.update(b"cityhost bundled mini-app signing key v1");
    SigningKey::from_bytes(&mac.finalize().into_bytes().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: &SigningKey) -> SigningKeyRecord {
        SigningKeyRecord {
            id: "k".into(),
            public_key: base64::engine::general_purpose::STANDARD
                .encode(key.verifying_key().to_bytes()),
            added_at: 0,
        }
    }

    #[test]
    fn only_binary_components_pass_the_preamble_check() {
        assert!(is_binary_component(b"\0asm\x0d\x00\x01\x00rest"));
        // A core module, an older component version, text, nothing.
        assert!(!is_binary_component(b"\0asm\x01\x00\x00\x00"));
        assert!(!is_binary_component(b"\0asm\x0c\x00\x01\x00"));
        assert!(!is_binary_component(b"(component)"));
        assert!(!is_binary_component(b""));
    }

    #[test]
    fn signature_binds_bytes_manifest_id_and_version() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let keys = [record(&key)];
        let package = Package::sign(
            &key,
            "hello",
            "1.0.0",
            "id = 1".into(),
            vec![0, 97, 115, 109],
        );
        let round = package.to_upload().decode().unwrap();
        assert!(round.signed_by(&keys, "hello", "1.0.0").is_some());
        assert!(round.signed_by(&keys, "hello", "1.0.1").is_none());
        assert!(round.signed_by(&keys, "other", "1.0.0").is_none());
        let mut tampered = round.clone();
        tampered.component.push(0);
        assert!(tampered.signed_by(&keys, "hello", "1.0.0").is_none());
        let mut tampered = round.clone();
        tampered.manifest.push(' ');
        assert!(tampered.signed_by(&keys, "hello", "1.0.0").is_none());
        let stranger = [record(&SigningKey::from_bytes(&[2; 32]))];
        assert!(round.signed_by(&stranger, "hello", "1.0.0").is_none());
    }
}
