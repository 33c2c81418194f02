//! The record of a call or request under way: appended however it ends.
//!
//! Capability calls are async host functions and a request is a future, so
//! either may be dropped while it awaits (the citizen went away and the
//! connection closed). A [`Pending`] record is appended when it is
//! finished, or, dropped unfinished, with outcome [`ABANDONED`]: a call
//! that may have had its effect never goes unrecorded.

use std::time::Instant;

use super::{AuditLog, AuditRecord};
use cityhost_store::now_ms;

/// The outcome of a call or request whose future was dropped before it
/// finished.
pub const ABANDONED: &str = "abandoned";

/// The record of a call or request under way ([`AuditLog::begin`]):
/// appended when finished, or when dropped unfinished with outcome
/// [`ABANDONED`]. Its time is when it ends (UTC ms), its duration measured
/// from [`AuditLog::begin`].
pub struct Pending {
    log: AuditLog,
    started: Instant,
    app: String,
    release: String,
    openid: Option<String>,
    capability: &'static str,
    /// `None` until finished.
    outcome: Option<String>,
    detail: Vec<(String, String)>,
}

impl AuditLog {
    /// Starts the record of one call or request of `app` at `release`,
    /// made for `openid`, named `capability` (`payment.create-order`, or
    /// `request`).
    pub fn begin(
        &self,
        app: &str,
        release: &str,
        openid: Option<String>,
        capability: &'static str,
    ) -> Pending {
        Pending {
            log: self.clone(),
            started: Instant::now(),
            app: app.to_string(),
            release: release.to_string(),
            openid,
            capability,
            outcome: None,
            detail: Vec::new(),
        }
    }
}

impl Pending {
    /// Adds `(name, value)` to the record's [`AuditRecord::detail`].
    pub fn detail(&mut self, name: &str, value: impl Into<String>) {
        self.detail.push((name.to_string(), value.into()));
    }

    /// Appends the record with `outcome` (`ok`, a WIT error variant, an
    /// HTTP status, a failure's name).
    pub fn finish(mut self, outcome: impl Into<String>) {
        self.outcome = Some(outcome.into());
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let record = AuditRecord {
            time: now_ms(),
            app: std::mem::take(&mut self.app),
            release: std::mem::take(&mut self.release),
            openid: self.openid.take(),
            capability: self.capability.to_string(),
            outcome: self.outcome.take().unwrap_or_else(|| ABANDONED.to_string()),
            duration_us: self.started.elapsed().as_micros() as u64,
            detail: std::mem::take(&mut self.detail),
            seq: 0,
            hash: String::new(),
        };
        if let Err(e) = self.log.append(record) {
            tracing::error!(error = %e, capability = self.capability, "cannot write audit record");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::temp_db;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn records_are_appended_finished_or_abandoned() {
        let (_dir, db) = temp_db();
        let log = AuditLog::open(db).unwrap();
        let done = log.begin("a", "1.0.0", Some("o".repeat(32)), "storage.get");
        done.finish("ok");
        let dropped = log.begin("a", "1.0.0", None, "request");
        drop(dropped);
        let listed = log.list("a", 0, u64::MAX, 10).await.unwrap();
        let seen: Vec<_> = listed
            .iter()
            .map(|r| {
                (
                    r.capability.as_str(),
                    r.outcome.as_str(),
                    r.openid.is_some(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [("storage.get", "ok", true), ("request", ABANDONED, false)]
        );
        assert!(listed.iter().all(|r| r.release == "1.0.0" && r.time > 0));
    }
}
