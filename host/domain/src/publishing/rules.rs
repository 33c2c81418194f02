//! The publishing rules that need no engine: the review decision, the
//! bound on trial testers and the operator's caps on a manifest's limits.

use crate::error::ServiceError;
use crate::manifest::Manifest;
use crate::manifest::http::Origin;
use crate::publishing::{OperatorCaps, PublishError};

/// Most testers of one trial version.
pub const MAX_TESTERS: usize = 100;

/// An operator's review decision.
#[derive(Debug, Clone)]
pub enum Decision {
    /// The version may be released.
    Approve,
    /// The version is refused, with the reason shown to the department.
    Reject(String),
}

/// Checks that each `[limits]` value of `manifest` is above zero and within
/// `caps`, and each `[http] allow` origin within the operator's domains.
pub fn check_caps(manifest: &Manifest, caps: &OperatorCaps) -> Result<(), PublishError> {
    for (index, entry) in manifest.http.allow.iter().enumerate() {
        // The manifest was validated: each entry parses.
        if let Ok(origin) = Origin::parse(entry)
            && !caps.allows_origin(&origin)
        {
            return Err(PublishError::OriginOverCap {
                index,
                origin: origin.to_string(),
                domains: caps.http_domains.join(", "),
            });
        }
    }
    let limits = &manifest.limits;
    let checks = [
        ("limits.memory-mib", limits.memory_mib, caps.memory_mib),
        ("limits.timeout-ms", limits.timeout_ms, caps.timeout_ms),
        (
            "limits.storage-bytes",
            limits.storage_bytes,
            caps.storage_bytes,
        ),
        (
            "limits.max-order-fen",
            limits.max_order_fen,
            caps.max_order_fen,
        ),
    ];
    for (field, value, cap) in checks {
        if let Some(value) = value {
            if value > cap {
                return Err(PublishError::OverCap { field, value, cap });
            }
            if value == 0 {
                return Err(ServiceError::invalid(field, "must be above zero").into());
            }
        }
    }
    Ok(())
}
