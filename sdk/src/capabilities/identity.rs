//! `cityhost:miniapp/identity`: who the current citizen is, as far as they
//! allow. Permission `identity`; scopes `auth_base` (openid, unionid;
//! silent), `auth_user` ([`profile`]; consent) and `auth_id_number`
//! ([`real_identity`]; consent and a purpose in the manifest's `[consent]`
//! table).

use crate::bindings::cityhost::miniapp::identity as wit;
use crate::error::Result;

/// Sex recorded in the identity number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gender {
    /// 男.
    Male,
    /// 女.
    Female,
}

/// What the citizen shares under the `auth_user` scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Name with all but the last character starred, e.g. `*三`.
    pub name_masked: String,
    /// Resident identity number with all but the first and last characters
    /// starred, e.g. `3****************X`.
    pub id_number_masked: String,
    /// 1 = phone-verified account, 2 = name and identity number verified.
    pub assurance_level: u8,
    /// Sex, if the manifest asks (`[identity] user-fields = ["gender"]`).
    pub gender: Option<Gender>,
    /// Birth year, if the manifest asks (`"birth-year"`).
    pub birth_year: Option<u16>,
}

/// What the citizen shares under the `auth_id_number` scope.
#[derive(Clone, PartialEq, Eq)]
pub struct RealIdentity {
    /// Full name as verified, e.g. `张三`.
    pub name: String,
    /// Full resident identity number (GB 11643-1999), upper-case `X`.
    pub id_number: String,
}

impl std::fmt::Debug for RealIdentity {
    /// Never prints the number (debug output ends up in logs).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealIdentity")
            .field("name", &"…")
            .field("id_number", &"…")
            .finish()
    }
}

/// The current citizen's openid for this app: 32 lowercase hex characters,
/// stable for this app and citizen, different in every other app. Needs no
/// consent. Errors: [`Error::NotPermitted`](crate::Error::NotPermitted)
/// when no citizen is signed in.
pub fn openid() -> Result<String> {
    Ok(wit::openid()?)
}

/// The current citizen's unionid: the same in every app of this app's
/// department, different for other departments. Needs no consent.
pub fn unionid() -> Result<String> {
    Ok(wit::unionid()?)
}

/// The citizen's masked profile. Errors:
/// [`Error::ConsentRequired("auth_user")`](crate::Error::ConsentRequired)
/// until the citizen grants it (with `?` in a handler this answers the
/// consent view); [`Error::Unavailable`](crate::Error::Unavailable) when the
/// citizen has not completed real-name verification.
pub fn profile() -> Result<Profile> {
    let p = wit::profile()?;
    Ok(Profile {
        name_masked: p.name_masked,
        id_number_masked: p.id_number_masked,
        assurance_level: p.assurance_level,
        gender: p.gender.map(|g| match g {
            wit::Gender::Male => Gender::Male,
            wit::Gender::Female => Gender::Female,
        }),
        birth_year: p.birth_year,
    })
}

/// The citizen's full name and identity number. Errors:
/// [`Error::ConsentRequired("auth_id_number")`](crate::Error::ConsentRequired)
/// until granted; [`Error::Unavailable`](crate::Error::Unavailable) before
/// real-name verification. Show the number to the citizen masked, and never
/// log it.
pub fn real_identity() -> Result<RealIdentity> {
    let r = wit::real_identity()?;
    Ok(RealIdentity {
        name: r.name,
        id_number: r.id_number,
    })
}

/// A short-lived ID token (EdDSA JWT, 5 minutes) for this app's department
/// backend, carrying the openid and the granted scopes' claims. The backend
/// verifies it with the host's `/.well-known/jwks.json` (see
/// `examples/verify-id-token`).
pub fn id_token() -> Result<String> {
    Ok(wit::id_token()?)
}
