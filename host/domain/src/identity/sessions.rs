//! Citizen sessions: a signed JWT (HS256, `jsonwebtoken`) carried in an
//! HttpOnly, SameSite=Strict cookie, backed by a session record so that
//! logout revokes it at once; and each session's CSRF token, the HMAC of
//! the session id (OWASP CSRF Prevention Cheat Sheet, "signed double-submit
//! cookie"), which the shell sends back in a header on every state-changing
//! call (see docs/security.md).
//!
//! Checking a session is on every signed-in request's path, so the host
//! keeps two bounded in-memory caches ([`CACHED_SESSIONS`] entries each):
//! tokens whose signature and claims it has verified (a token's claims never
//! change), and session records by id. Issue and revoke keep the record
//! cache in step with the table; a record read from the table is cached
//! only if it is still there afterwards, so a logout racing a check cannot
//! leave a revoked session cached. Expiry is checked on every request.
//! Hosts sharing a store tell each other of each logout
//! ([`SESSION_ENDED`], a store signal), and each drops the record from its
//! cache ([`Sessions::forget`]); a host that may have missed such a signal
//! drops them all ([`Sessions::forget_all`]).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cityhost_store::{Db, now_ms};
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::tables::SESSIONS;
use crate::error::{ServiceError, ServiceResult};

/// The store signal sent to the other hosts when a session ends; its
/// payload is the session id.
pub const SESSION_ENDED: &str = "session.ended";

/// Name of the session cookie.
pub const COOKIE: &str = "cityhost_session";
/// Name of the cookie carrying the session's CSRF token (not HttpOnly: the
/// shell's script reads it and echoes it in [`CSRF_HEADER`]).
pub const CSRF_COOKIE: &str = "cityhost_csrf";
/// Request header in which a cookie-authenticated state-changing request
/// carries the session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Domain-separation label of the CSRF key, derived from the session key.
const CSRF_KEY_LABEL: &[u8] = b"cityhost csrf-token key v1";
/// Lifetime of a session: 12 hours, in seconds.
pub const LIFETIME_SECS: u64 = 12 * 60 * 60;
/// Entries in each of the two session caches (verified tokens, session
/// records); the least recently useful are evicted (S3-FIFO, `quick_cache`).
pub const CACHED_SESSIONS: usize = 65_536;

/// Claims of a session token.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// Internal citizen id.
    sub: String,
    /// Session id, the key of the session record.
    jti: String,
    /// Issued at, UTC seconds.
    iat: u64,
    /// Expiry, UTC seconds.
    exp: u64,
}

/// A session record ([`SESSIONS`]).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SessionRecord {
    citizen_id: String,
    expires_at_ms: u64,
}

/// Issues, checks and revokes sessions.
#[derive(Clone)]
pub struct Sessions {
    db: Db,
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// HMAC-SHA256 key of CSRF tokens.
    csrf_key: [u8; 32],
    /// Token → its verified claims.
    verified: Arc<quick_cache::sync::Cache<String, Arc<Claims>>>,
    /// Session id → its record, as in the table.
    records: Arc<quick_cache::sync::Cache<String, Arc<SessionRecord>>>,
}

/// A session just started: the token for the session cookie and the
/// session it stands for.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The signed session token (the session cookie's value).
    pub token: String,
    /// The session.
    pub session: Session,
}

/// A checked session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Session id (`jti`).
    pub id: String,
    /// Internal citizen id.
    pub citizen_id: String,
}

impl Sessions {
    /// The sessions in `db`, signed with the host's HS256 key.
    pub fn new(db: Db, key: &[u8; 32]) -> Self {
        Self {
            db,
            encoding: EncodingKey::from_secret(key).expect("HS256 takes any key"),
            decoding: DecodingKey::from_secret(key).expect("HS256 takes any key"),
            csrf_key: hmac_sha256(key, CSRF_KEY_LABEL),
            verified: Arc::new(quick_cache::sync::Cache::new(CACHED_SESSIONS)),
            records: Arc::new(quick_cache::sync::Cache::new(CACHED_SESSIONS)),
        }
    }

    /// Starts a session for the citizen; returns the token for the cookie
    /// and the session.
    pub async fn issue(&self, citizen_id: &str) -> ServiceResult<Issued> {
        let now = now_ms() / 1000;
        let claims = Claims {
            sub: citizen_id.to_string(),
            jti: uuid::Uuid::new_v4().to_string(),
            iat: now,
            exp: now + LIFETIME_SECS,
        };
        let record = SessionRecord {
            citizen_id: citizen_id.to_string(),
            expires_at_ms: claims.exp * 1000,
        };
        self.db.put(&SESSIONS, &claims.jti, &record).await?;
        self.records.insert(claims.jti.clone(), Arc::new(record));
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| ServiceError::Unauthenticated("cannot sign session"))?;
        Ok(Issued {
            token,
            session: Session {
                id: claims.jti,
                citizen_id: claims.sub,
            },
        })
    }

    /// The CSRF token of session `session_id`: base64url (no padding) of
    /// HMAC-SHA256 under the host's CSRF key (derived from the session
    /// key) of the session id, 43 characters. Only the host can compute it,
    /// and it is worthless for any other session.
    pub fn csrf_token(&self, session_id: &str) -> String {
        URL_SAFE_NO_PAD.encode(hmac_sha256(&self.csrf_key, session_id.as_bytes()))
    }

    /// Whether `presented` is the CSRF token of session `session_id`,
    /// compared in constant time (`hmac`'s `verify_slice`).
    pub fn csrf_token_matches(&self, session_id: &str, presented: &str) -> bool {
        let Ok(presented) = URL_SAFE_NO_PAD.decode(presented.trim()) else {
            return false;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.csrf_key).expect("HMAC takes any key");
        mac.update(session_id.as_bytes());
        mac.verify_slice(&presented).is_ok()
    }

    /// Checks a token: signature, expiry and that the session was not ended.
    pub async fn check(&self, token: &str) -> ServiceResult<Session> {
        const INVALID: &str = "not signed in";
        let claims = match self.verified.get(token) {
            Some(claims) => claims,
            None => {
                let mut validation = Validation::new(Algorithm::HS256);
                validation.set_required_spec_claims(&["exp", "sub", "jti"]);
                let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
                    .map_err(|_| ServiceError::Unauthenticated(INVALID))?
                    .claims;
                let claims = Arc::new(claims);
                self.verified.insert(token.to_string(), claims.clone());
                claims
            }
        };
        let record = self
            .record(&claims.jti)
            .await?
            .ok_or(ServiceError::Unauthenticated(INVALID))?;
        if record.citizen_id != claims.sub || record.expires_at_ms < now_ms() {
            return Err(ServiceError::Unauthenticated(INVALID));
        }
        Ok(Session {
            id: claims.jti.clone(),
            citizen_id: claims.sub.clone(),
        })
    }

    /// Whether session `session_id` still exists and has not expired (a
    /// long-lived response, such as the inbox stream, asks before each
    /// event so that logout ends it).
    pub async fn is_live(&self, session_id: &str) -> ServiceResult<bool> {
        Ok(self
            .record(session_id)
            .await?
            .is_some_and(|r| r.expires_at_ms >= now_ms()))
    }

    /// The record of session `session_id`, from the cache or the table.
    async fn record(&self, session_id: &str) -> ServiceResult<Option<Arc<SessionRecord>>> {
        if let Some(record) = self.records.get(session_id) {
            return Ok(Some(record));
        }
        let Some(record) = self.db.get(&SESSIONS, session_id).await? else {
            return Ok(None);
        };
        let record = Arc::new(record);
        self.records.insert(session_id.to_string(), record.clone());
        // A revoke between the read and the insert removed the record from
        // the table before this insert reached the cache: take it back out.
        if !self.db.contains(&SESSIONS, session_id).await? {
            self.records.remove(session_id);
            return Ok(None);
        }
        Ok(Some(record))
    }

    /// Ends a session (logout), on every host sharing the store: the
    /// others hear [`SESSION_ENDED`]. A signal that cannot be sent is
    /// logged; the session is ended in the store either way.
    pub async fn revoke(&self, session_id: &str) -> ServiceResult<()> {
        self.db.delete(&SESSIONS, session_id).await?;
        self.records.remove(session_id);
        if let Err(e) = self.db.signal(SESSION_ENDED, session_id).await {
            tracing::error!(error = %e, "the other hosts were not told of a logout");
        }
        Ok(())
    }

    /// Drops session `session_id` from this host's cache (another host
    /// ended it).
    pub fn forget(&self, session_id: &str) {
        self.records.remove(session_id);
    }

    /// Drops every cached session record (signals from other hosts may
    /// have been missed); each is read from the store again when next used.
    pub fn forget_all(&self) {
        self.records.clear();
    }
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn csrf_tokens_are_bound_to_their_session() {
        let (_dir, db) = crate::testing::temp_db();
        let sessions = Sessions::new(db.clone(), &[7; 32]);
        let a = sessions.issue("citizen-a").await.unwrap().session;
        let b = sessions.issue("citizen-a").await.unwrap().session;
        let token = sessions.csrf_token(&a.id);
        assert_eq!(token.len(), 43);
        assert!(sessions.csrf_token_matches(&a.id, &token));
        assert!(!sessions.csrf_token_matches(&b.id, &token));
        assert!(!sessions.csrf_token_matches(&a.id, ""));
        assert!(!sessions.csrf_token_matches(&a.id, &token[..42]));
        assert!(!sessions.csrf_token_matches(&a.id, "not base64!"));
        // Another host key, another token.
        let other = Sessions::new(db, &[8; 32]);
        assert!(!other.csrf_token_matches(&a.id, &token));
    }

    #[tokio::test]
    async fn a_revoked_session_fails_its_check_at_once() {
        let (_dir, db) = crate::testing::temp_db();
        let sessions = Sessions::new(db.clone(), &[7; 32]);
        let issued = sessions.issue("citizen-a").await.unwrap();
        // Twice: the second check is answered from the caches.
        for _ in 0..2 {
            assert_eq!(
                sessions.check(&issued.token).await.unwrap().citizen_id,
                "citizen-a"
            );
        }
        sessions.clone().revoke(&issued.session.id).await.unwrap();
        assert!(sessions.check(&issued.token).await.is_err());
        assert!(!sessions.is_live(&issued.session.id).await.unwrap());
        // A token signed with another key is refused even once the right
        // one is cached.
        let other = Sessions::new(db, &[8; 32]);
        let forged = other.issue("citizen-a").await.unwrap();
        assert!(sessions.check(&forged.token).await.is_err());
    }
}
