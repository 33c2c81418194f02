//! Checking, with no network, a token a CityHost mini-app signed with the
//! `sign` capability: a compact JWS (EdDSA) whose `kid` names one of the
//! app's keys, published by the host at
//! `{host}/.well-known/apps/{app_id}/jwks.json`. Fetch that JWK Set once
//! (when online) and keep it; [`verify`] needs nothing else.
//!
//! Run with: `cargo run -p verify-signature -- JWKS_FILE APP_ID TOKEN`
//!
//! ```no_run
//! # fn run(token: &str) -> Result<(), verify_signature::Refused> {
//! // Saved earlier: curl -o jwks.json http://127.0.0.1:8080/.well-known/apps/move-my-car/jwks.json
//! let jwks = verify_signature::load_jwks(std::path::Path::new("jwks.json"))?;
//! let claims = verify_signature::verify(token, &jwks, "move-my-car")?;
//! println!("{}", claims["sub"]);
//! # Ok(()) }
//! ```
//!
//! A token is accepted when, in this order: it is a compact JWS whose
//! header names `alg` `EdDSA`; its `kid` is in the JWK Set; the signature
//! checks with that key; `iss` is the expected app id; and `exp`, if the
//! app set one, is not past (with [`LEEWAY_SECS`]). Each refusal is its own
//! [`Refused`] case with its own exit code ([`Refused::exit_code`]).

use std::path::Path;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

/// Clock skew tolerated on `exp`, seconds.
pub const LEEWAY_SECS: u64 = 30;

/// The claims of an accepted token: the app's own, plus `iss` and `iat`.
pub type Claims = serde_json::Map<String, serde_json::Value>;

/// Why a token (or the JWK Set) was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// The JWK Set file cannot be read or is not a JWK Set.
    #[error("cannot read the JWK Set: {0}")]
    Jwks(String),
    /// Not a compact JWS, or its header names an algorithm other than
    /// EdDSA (`none`, `HS256`, ...), or its payload is not a JSON object.
    #[error("the token is malformed or not signed with EdDSA")]
    Malformed,
    /// The header has no `kid`, or the JWK Set has no key with it (a key
    /// removed by the operator, another app's key, or a set saved before a
    /// rotation: fetch it again).
    #[error("the token is signed with a key the app's JWK Set does not hold")]
    UnknownKey,
    /// The signature does not check: the header or payload was changed, or
    /// it was signed by another key.
    #[error("the signature does not match the token's content")]
    BadSignature,
    /// `iss` is missing or names another app.
    #[error("the token was not issued by the app `{0}`")]
    WrongIssuer(String),
    /// `exp` is past, or is not an integer.
    #[error("the token has expired")]
    Expired,
}

impl Refused {
    /// The process exit code of the `verify-signature` binary for this
    /// refusal: 2 unreadable JWK Set, 3 malformed, 4 unknown key, 5 bad
    /// signature, 6 wrong issuer, 7 expired (0 is accepted, 64 is a usage
    /// error).
    pub fn exit_code(&self) -> u8 {
        match self {
            Refused::Jwks(_) => 2,
            Refused::Malformed => 3,
            Refused::UnknownKey => 4,
            Refused::BadSignature => 5,
            Refused::WrongIssuer(_) => 6,
            Refused::Expired => 7,
        }
    }
}

/// Reads a JWK Set saved from `/.well-known/apps/{app_id}/jwks.json`.
pub fn load_jwks(path: &Path) -> Result<JwkSet, Refused> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Refused::Jwks(format!("{}: {e}", path.display())))?;
    parse_jwks(&text)
}

/// Parses a JWK Set (JSON text).
pub fn parse_jwks(text: &str) -> Result<JwkSet, Refused> {
    serde_json::from_str(text).map_err(|e| Refused::Jwks(e.to_string()))
}

/// Verifies `token` as signed by the app `app_id` with a key of `jwks`
/// (see the crate docs for the checks and their order); its claims.
pub fn verify(token: &str, jwks: &JwkSet, app_id: &str) -> Result<Claims, Refused> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| Refused::Malformed)?;
    if header.alg != Algorithm::EdDSA {
        return Err(Refused::Malformed);
    }
    let kid = header.kid.ok_or(Refused::UnknownKey)?;
    let jwk = jwks.find(&kid).ok_or(Refused::UnknownKey)?;
    let key = DecodingKey::from_jwk(jwk).map_err(|_| Refused::UnknownKey)?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[app_id]);
    validation.set_required_spec_claims(&["iss"]);
    // `exp` is checked when the app set one; a certificate may have none.
    validation.validate_exp = true;
    validation.leeway = LEEWAY_SECS;
    // An `aud` is the app's own business, not the signature's.
    validation.validate_aud = false;
    jsonwebtoken::decode::<Claims>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature => Refused::BadSignature,
            ErrorKind::InvalidIssuer => Refused::WrongIssuer(app_id.to_string()),
            ErrorKind::MissingRequiredClaim(_) => Refused::WrongIssuer(app_id.to_string()),
            ErrorKind::ExpiredSignature => Refused::Expired,
            ErrorKind::InvalidClaimFormat(claim) if claim == "exp" => Refused::Expired,
            _ => Refused::Malformed,
        })
}
