//! `cityhost:miniapp/identity`: who the current citizen is, as far as they
//! allow. Permission `identity`.

use crate::bindings::cityhost::miniapp::identity as wit;
use crate::error::Result;

/// What the citizen shares under the `auth_user` scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Full name as verified by real-name checks, e.g. `张三`.
    pub name: String,
    /// Resident identity number with all but the first and last characters
    /// starred, e.g. `3****************X`.
    pub id_number_masked: String,
    /// 1 = phone-verified account, 2 = name and identity number verified.
    pub assurance_level: u8,
}

/// The current citizen's openid for this app: 32 lowercase hex characters,
/// stable for this app and citizen, different in every other app. Needs no
/// consent. Errors: [`Error::NotPermitted`](crate::Error::NotPermitted)
/// when no citizen is signed in.
pub fn openid() -> Result<String> {
    Ok(wit::openid()?)
}

/// The citizen's profile. Errors:
/// [`Error::ConsentRequired("auth_user")`](crate::Error::ConsentRequired)
/// until the citizen grants it (with `?` in a handler this answers the
/// consent view); [`Error::Unavailable`](crate::Error::Unavailable) when the
/// citizen has not completed real-name verification.
pub fn profile() -> Result<Profile> {
    let p = wit::profile()?;
    Ok(Profile {
        name: p.name,
        id_number_masked: p.id_number_masked,
        assurance_level: p.assurance_level,
    })
}
