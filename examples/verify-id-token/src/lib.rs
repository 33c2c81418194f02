//! Verifying a CityHost ID token in a department backend: the checks every
//! backend must make before trusting a token a mini-app hands it.
//!
//! Run with: `cargo run -p verify-id-token -- HOST_URL APP_ID TOKEN`
//!
//! ```no_run
//! # async fn run(token: &str) -> Result<(), verify_id_token::VerifyError> {
//! let host = "http://127.0.0.1:8080";
//! let jwks = verify_id_token::fetch_jwks(host).await?;
//! let claims = verify_id_token::verify(token, &jwks, host, "housing-fund")?;
//! println!("citizen {} at level {}", claims.sub, claims.acr);
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};

/// Clock skew tolerated on `exp` and `nbf`, seconds.
pub const LEEWAY_SECS: u64 = 30;

/// The claims of a CityHost ID token. `sub` is the citizen's openid for the
/// app; scope claims (`unionid`, `name`, `id_number_masked`, `id_number`,
/// `gender`, `birth_year`) are in `scoped`, present only when granted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer: the host's base URL.
    pub iss: String,
    /// Audience: the app id.
    pub aud: String,
    /// The citizen's openid for the app.
    pub sub: String,
    /// Issued at, UTC seconds.
    pub iat: u64,
    /// Not before, UTC seconds.
    pub nbf: u64,
    /// Expiry, UTC seconds.
    pub exp: u64,
    /// Token id; a backend that must refuse replays remembers it until `exp`.
    pub jti: String,
    /// Assurance level, `L1` or `L2`.
    pub acr: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// The granted scopes' claims.
    #[serde(flatten)]
    pub scoped: BTreeMap<String, serde_json::Value>,
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The header is not a JWT header, or names an algorithm other than
    /// EdDSA (`none`, `HS256`, ...).
    #[error("the token's header is malformed or its algorithm is not EdDSA")]
    Algorithm,
    /// The header has no `kid`, or the host publishes no key with it.
    #[error("the token is signed with a key the host does not publish")]
    UnknownKey,
    /// Signature, issuer, audience or time checks failed.
    #[error("the token is not valid: {0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
    /// The JWK Set could not be fetched.
    #[error("cannot fetch the host's keys: {0}")]
    Fetch(#[from] reqwest::Error),
}

/// Fetches the host's JWK Set from `{host}/.well-known/jwks.json`.
pub async fn fetch_jwks(host: &str) -> Result<JwkSet, VerifyError> {
    let url = format!("{}/.well-known/jwks.json", host.trim_end_matches('/'));
    Ok(reqwest::get(url).await?.error_for_status()?.json().await?)
}

/// Verifies `token` for the app `app_id` against the host `issuer`'s keys:
/// algorithm EdDSA only, a published `kid`, the signature, `iss`, `aud`,
/// `exp` and `nbf` (with [`LEEWAY_SECS`]).
pub fn verify(
    token: &str,
    jwks: &JwkSet,
    issuer: &str,
    app_id: &str,
) -> Result<Claims, VerifyError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Algorithm)?;
    if header.alg != Algorithm::EdDSA {
        return Err(VerifyError::Algorithm);
    }
    let kid = header.kid.ok_or(VerifyError::UnknownKey)?;
    let jwk = jwks.find(&kid).ok_or(VerifyError::UnknownKey)?;
    let key = DecodingKey::from_jwk(jwk)?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[issuer.trim_end_matches('/')]);
    validation.set_audience(&[app_id]);
    validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = LEEWAY_SECS;
    Ok(jsonwebtoken::decode::<Claims>(token, &key, &validation)?.claims)
}
