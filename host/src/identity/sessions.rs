//! Citizen sessions: a signed JWT (HS256, `jsonwebtoken`) carried in an
//! HttpOnly, SameSite=Strict cookie, backed by a session record so that
//! logout revokes it at once.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::{ServiceError, ServiceResult};
use crate::store::{self, Store, now_ms, trees};

/// Name of the session cookie.
pub const COOKIE: &str = "cityhost_session";
/// Lifetime of a session: 12 hours, in seconds.
pub const LIFETIME_SECS: u64 = 12 * 60 * 60;

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

/// A session record (`sessions` tree).
#[derive(Debug, Serialize, Deserialize)]
struct SessionRecord {
    citizen_id: String,
    expires_at_ms: u64,
}

/// Issues, checks and revokes sessions.
#[derive(Clone)]
pub struct Sessions {
    tree: sled::Tree,
    encoding: EncodingKey,
    decoding: DecodingKey,
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
    /// Opens the session store with the host's HS256 key.
    pub fn open(store: &Store, key: &[u8; 32]) -> ServiceResult<Self> {
        Ok(Self {
            tree: store.tree(trees::SESSIONS)?,
            encoding: EncodingKey::from_secret(key).expect("HS256 takes any key"),
            decoding: DecodingKey::from_secret(key).expect("HS256 takes any key"),
        })
    }

    /// Starts a session for the citizen; returns the token for the cookie.
    pub fn issue(&self, citizen_id: &str) -> ServiceResult<String> {
        let now = now_ms() / 1000;
        let claims = Claims {
            sub: citizen_id.to_string(),
            jti: uuid::Uuid::new_v4().to_string(),
            iat: now,
            exp: now + LIFETIME_SECS,
        };
        store::put_json(
            &self.tree,
            &claims.jti,
            &SessionRecord {
                citizen_id: citizen_id.to_string(),
                expires_at_ms: claims.exp * 1000,
            },
        )?;
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| ServiceError::Unauthenticated("cannot sign session"))
    }

    /// Checks a token: signature, expiry and that the session was not ended.
    pub fn check(&self, token: &str) -> ServiceResult<Session> {
        const INVALID: &str = "not signed in";
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub", "jti"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| ServiceError::Unauthenticated(INVALID))?
            .claims;
        let record: SessionRecord = store::get_json(&self.tree, &claims.jti)?
            .ok_or(ServiceError::Unauthenticated(INVALID))?;
        if record.citizen_id != claims.sub || record.expires_at_ms < now_ms() {
            return Err(ServiceError::Unauthenticated(INVALID));
        }
        Ok(Session {
            id: claims.jti,
            citizen_id: claims.sub,
        })
    }

    /// Whether session `session_id` still exists and has not expired (a
    /// long-lived response, such as the inbox stream, asks before each
    /// event so that logout ends it).
    pub fn is_live(&self, session_id: &str) -> ServiceResult<bool> {
        let record: Option<SessionRecord> = store::get_json(&self.tree, session_id)?;
        Ok(record.is_some_and(|r| r.expires_at_ms >= now_ms()))
    }

    /// Ends a session (logout).
    pub fn revoke(&self, session_id: &str) -> ServiceResult<()> {
        self.tree.remove(session_id)?;
        Ok(())
    }
}
