//! Identity: citizen accounts and sessions, real-name verification against
//! an identity authority, assurance levels, identity numbers sealed at
//! rest, per-app openids and per-department unionids, consent grants and
//! the EdDSA ID tokens handed to departments' backends. No WebAssembly or
//! HTTP types here; the identity capability (`capabilities::identity`) and
//! the shell API (`http::identity`, `http::consents`) are thin adapters over
//! these services. Reference: `docs/identity.md`.

pub mod accounts;
pub mod appeals;
pub mod assurance;
pub mod authority;
pub mod consent;
pub mod id_tokens;
pub mod idcard;
pub mod keys;
pub mod login_throttle;
pub mod openid;
pub mod password;
pub mod phone_codes;
pub mod sealed;
pub mod sessions;
pub(crate) mod tables;
pub mod verification;
pub mod verify_throttle;
