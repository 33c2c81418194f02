//! `cityhost:miniapp/sign`: documents and tickets anyone can check
//! offline. Permission `sign`.
//!
//! The host signs the app's claims with the app's own Ed25519 key and
//! returns a compact JWS (a JWT, `alg` `EdDSA`, header `kid`). Its payload
//! is the app's claims plus `iss` (the app id) and `iat` (UTC seconds),
//! which the host sets. The app's public keys are published at
//! `/.well-known/apps/{app-id}/jwks.json` on the host; a verifier (a gate
//! scanner, a clerk's tablet, `examples/verify-signature`) fetches them
//! once, keeps them, and then checks tokens with no network.
//!
//! ```no_run
//! # fn run() -> cityhost_sdk::Result<()> {
//! use cityhost_sdk::sign;
//! use serde_json::json;
//!
//! let ticket = sign::sign_json(&json!({
//!     "sub": "ticket-2026-000123",
//!     "seat": "3-12",
//!     "exp": 1_893_456_000u64,
//! }))?;
//! # let _ = ticket; Ok(()) }
//! ```

use serde::Serialize;

use crate::bindings::cityhost::miniapp::sign as wit;
use crate::error::{Error, Result};

/// Largest claims object the host signs, bytes of JSON (8 KiB).
pub const MAX_CLAIMS_BYTES: usize = 8 * 1024;

/// Claims the host sets itself and an app may not: `iss` (the app id) and
/// `iat` (when it signed, UTC seconds).
pub const RESERVED_CLAIMS: [&str; 2] = ["iss", "iat"];

/// Signs `claims_json`, a JSON object of the app's claims (at most
/// [`MAX_CLAIMS_BYTES`]), and returns the compact JWS
/// `header.payload.signature`. An `exp` claim, if present, must be an
/// integer (UTC seconds); without one the token does not expire.
///
/// Errors: [`Error::InvalidArgument`] whose text names the problem
/// (`claims: not a JSON object`, `claims: larger than 8192 bytes`,
/// `iss: a reserved claim; the host sets it`, `exp: must be a
/// non-negative integer, UTC seconds`); [`Error::NotPermitted`] when the
/// manifest does not declare `sign`; [`Error::Unavailable`].
pub fn sign(claims_json: &str) -> Result<String> {
    Ok(wit::sign(claims_json)?)
}

/// Signs `claims` serialised as JSON (a struct or map: it must serialise
/// to a JSON object); as [`sign`]. A value that does not serialise is
/// [`Error::InvalidArgument`]`("claims: …")`.
pub fn sign_json<T: Serialize + ?Sized>(claims: &T) -> Result<String> {
    let json = serde_json::to_string(claims)
        .map_err(|e| Error::InvalidArgument(format!("claims: {e}")))?;
    sign(&json)
}
