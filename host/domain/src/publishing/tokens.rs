//! Department API tokens: JWT (HS256) with `sub` = the department's Unified
//! Social Credit Code, `scope` = space-separated [`TokenScope`]s, `exp`, and a
//! `jti` whose record (table `department_tokens`) lets an operator revoke
//! the token at once.
//!
//! The signing key is derived from the host's session key
//! (HMAC-SHA256 with a fixed label), so a department token is never a valid
//! session token and no extra key file is needed.

use cityhost_store::{Db, Scan, now_ms};
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::tables::DEPARTMENT_TOKENS;
use crate::error::{ServiceError, ServiceResult};

/// Longest lifetime of a token: 365 days, in seconds.
pub const MAX_LIFETIME_SECS: u64 = 365 * 24 * 60 * 60;
/// Lifetime when none is asked for: 90 days, in seconds.
pub const DEFAULT_LIFETIME_SECS: u64 = 90 * 24 * 60 * 60;
/// Issuer claim of department tokens.
const ISSUER: &str = "cityhost";
/// Audience claim of department tokens.
const AUDIENCE: &str = "cityhost-department-api";

/// What a department token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenScope {
    /// Upload packages, submit them for review, set trial testers, read
    /// versions.
    Publish,
    /// Download settlement statements.
    Statements,
    /// Send the department's apps' templated messages to citizens by
    /// openid (`POST /api/departments/{uscc}/apps/{app}/messages`).
    Messages,
    /// Send the department's apps the events their manifests accept
    /// (`POST /api/departments/{uscc}/apps/{app}/events`).
    Events,
}

impl TokenScope {
    /// The scope's name in the `scope` claim.
    pub fn name(self) -> &'static str {
        match self {
            TokenScope::Publish => "publish",
            TokenScope::Statements => "statements",
            TokenScope::Messages => "messages",
            TokenScope::Events => "events",
        }
    }

    /// The scope with this name.
    pub fn parse(name: &str) -> Option<TokenScope> {
        match name {
            "publish" => Some(TokenScope::Publish),
            "statements" => Some(TokenScope::Statements),
            "messages" => Some(TokenScope::Messages),
            "events" => Some(TokenScope::Events),
            _ => None,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    jti: String,
    scope: String,
    iss: String,
    aud: String,
    iat: u64,
    exp: u64,
}

/// A token's record, kept for listing and revocation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenRecord {
    /// Token id (`jti`).
    pub id: String,
    /// The department's code (`sub`).
    pub department: String,
    /// Scopes.
    pub scopes: Vec<TokenScope>,
    /// Issue time, UTC ms.
    pub issued_at: u64,
    /// Expiry, UTC ms.
    pub expires_at: u64,
    /// Revocation time, UTC ms, once revoked.
    pub revoked_at: Option<u64>,
}

/// A new token: the JWT (shown once) and its record.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedToken {
    /// The bearer token.
    pub token: String,
    /// Its record.
    pub record: TokenRecord,
}

/// Issues, checks and revokes department tokens.
#[derive(Clone)]
pub struct DepartmentTokens {
    db: Db,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl DepartmentTokens {
    /// The token records in `db`; `session_key` is the host's session key,
    /// from which the token key is derived.
    pub fn new(db: Db, session_key: &[u8; 32]) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(session_key).expect("HMAC takes any key");
        mac.update(b"cityhost department API tokens v1");
        let key = mac.finalize().into_bytes();
        Self {
            db,
            encoding: EncodingKey::from_secret(&key).expect("HS256 takes any key"),
            decoding: DecodingKey::from_secret(&key).expect("HS256 takes any key"),
        }
    }

    /// Issues a token for `department` with `scopes`, valid for
    /// `lifetime_secs` (default [`DEFAULT_LIFETIME_SECS`], at most
    /// [`MAX_LIFETIME_SECS`]). Errors: no scope, or a lifetime out of range
    /// (field `lifetime_secs`).
    pub async fn issue(
        &self,
        department: &str,
        scopes: &[TokenScope],
        lifetime_secs: Option<u64>,
    ) -> ServiceResult<IssuedToken> {
        if scopes.is_empty() {
            return Err(ServiceError::invalid("scopes", "give at least one scope"));
        }
        let lifetime = lifetime_secs.unwrap_or(DEFAULT_LIFETIME_SECS);
        if lifetime == 0 || lifetime > MAX_LIFETIME_SECS {
            return Err(ServiceError::invalid(
                "lifetime_secs",
                format!("use 1 to {MAX_LIFETIME_SECS} seconds"),
            ));
        }
        let mut scopes = scopes.to_vec();
        scopes.sort();
        scopes.dedup();
        let now = now_ms() / 1000;
        let claims = Claims {
            sub: department.to_string(),
            jti: uuid::Uuid::new_v4().to_string(),
            scope: scopes
                .iter()
                .map(|s| s.name())
                .collect::<Vec<_>>()
                .join(" "),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            exp: now + lifetime,
        };
        let record = TokenRecord {
            id: claims.jti.clone(),
            department: department.to_string(),
            scopes,
            issued_at: now * 1000,
            expires_at: claims.exp * 1000,
            revoked_at: None,
        };
        self.db.put(&DEPARTMENT_TOKENS, &record.id, &record).await?;
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| ServiceError::Unauthenticated("cannot sign token"))?;
        Ok(IssuedToken { token, record })
    }

    /// Checks a bearer token: signature, issuer, audience, expiry, and that
    /// it was not revoked. Returns its record.
    pub async fn check(&self, token: &str) -> ServiceResult<TokenRecord> {
        const INVALID: &str = "invalid, expired or revoked department token";
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.leeway = 0;
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| ServiceError::Unauthenticated(INVALID))?
            .claims;
        let record = self
            .db
            .get(&DEPARTMENT_TOKENS, &claims.jti)
            .await?
            .ok_or(ServiceError::Unauthenticated(INVALID))?;
        if record.department != claims.sub
            || record.revoked_at.is_some()
            || record.expires_at <= now_ms()
        {
            return Err(ServiceError::Unauthenticated(INVALID));
        }
        Ok(record)
    }

    /// Revokes a token by id; later checks fail at once.
    pub async fn revoke(&self, token_id: &str) -> ServiceResult<TokenRecord> {
        self.db
            .transact(|tx| async move {
                let mut record = tx
                    .get(&DEPARTMENT_TOKENS, token_id)
                    .await?
                    .ok_or(ServiceError::NotFound("token"))?;
                if record.revoked_at.is_none() {
                    record.revoked_at = Some(now_ms());
                    tx.put(&DEPARTMENT_TOKENS, token_id, &record).await?;
                }
                Ok(record)
            })
            .await
    }

    /// The department's tokens, revoked and expired included, oldest first.
    pub async fn list(&self, department: &str) -> ServiceResult<Vec<TokenRecord>> {
        let mut out: Vec<TokenRecord> = self
            .db
            .scan(&DEPARTMENT_TOKENS, Scan::all())
            .await?
            .into_iter()
            .map(|(_, record)| record)
            .filter(|record| record.department == department)
            .collect();
        out.sort_by_key(|r| r.issued_at);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::temp_db;

    #[tokio::test]
    async fn tokens_carry_scopes_and_can_be_revoked() {
        let (_dir, db) = temp_db();
        let tokens = DepartmentTokens::new(db.clone(), &[7; 32]);
        let issued = tokens
            .issue("91330100MA27XL0E96", &[TokenScope::Publish], None)
            .await
            .unwrap();
        let record = tokens.check(&issued.token).await.unwrap();
        assert_eq!(record.department, "91330100MA27XL0E96");
        assert_eq!(record.scopes, vec![TokenScope::Publish]);
        tokens.revoke(&record.id).await.unwrap();
        assert!(tokens.check(&issued.token).await.is_err());
        // Another host's key does not verify.
        let other = DepartmentTokens::new(db, &[8; 32]);
        let issued = tokens
            .issue("91330100MA27XL0E96", &[TokenScope::Statements], Some(60))
            .await
            .unwrap();
        assert!(other.check(&issued.token).await.is_err());
        assert!(tokens.issue("x", &[], None).await.is_err());
        assert!(
            tokens
                .issue("x", &[TokenScope::Publish], Some(0))
                .await
                .is_err()
        );
        // Both are listed for the department, the revoked one as revoked.
        let listed = tokens.list("91330100MA27XL0E96").await.unwrap();
        let mut states: Vec<_> = listed
            .iter()
            .map(|r| (r.id.clone(), r.revoked_at.is_some()))
            .collect();
        states.sort();
        let mut expected = vec![(record.id, true), (issued.record.id, false)];
        expected.sort();
        assert_eq!(states, expected);
        assert!(tokens.list("x").await.unwrap().is_empty());
        assert!(matches!(
            tokens.revoke("no-such-token").await,
            Err(ServiceError::NotFound("token"))
        ));
    }
}
