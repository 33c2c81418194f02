//! The publishing steps that load components and change what citizens
//! see: the checks at upload, review, release (gray and full), rollback,
//! trial testers and restoring every app's release set at start
//! ([`lifecycle`]), and publishing the mini-apps shipped with the host
//! through the same path ([`bundled`]). The records and rules they keep to
//! are the domain's `publishing`.

pub mod bundled;
pub mod lifecycle;
