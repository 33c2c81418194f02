//! Identity: citizen accounts and sessions, real-name records, per-app
//! openids and consent grants. No WebAssembly or HTTP types here; the
//! identity capability (`capabilities::identity`) and the shell API
//! (`http::api`) are thin adapters over these services.

pub mod accounts;
pub mod consent;
pub mod idcard;
pub mod keys;
pub mod openid;
pub mod sessions;
