//! The audit log's hash chain, per app: each record carries its place in
//! the app's chain (`seq`: 1, 2, 3 … in the order written) and `hash`,
//! SHA-256 over the previous record's hash and this record's fields, so a
//! record changed, deleted or moved after it was written no longer links
//! ([`verify`]); the writer keeps each app's head in the `audit_heads`
//! table, written in the same transaction as the records.
//!
//! The chain makes tampering evident to whoever checks it against a head
//! they trust: on its own it does not stop someone who can write the
//! store from recomputing every hash after a change.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::AuditRecord;

/// The hash before an app's first record: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The last record of an app's chain: its `seq` (0 before the first) and
/// hash ([`GENESIS`] before the first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    /// Records in the chain so far.
    pub seq: u64,
    /// Hash of the last one, hex.
    pub hash: String,
}

impl Default for ChainHead {
    fn default() -> Self {
        Self {
            seq: 0,
            hash: GENESIS.to_string(),
        }
    }
}

impl ChainHead {
    /// Appends `record` to the chain: sets its `seq` and `hash`.
    pub(super) fn extend(&mut self, record: &mut AuditRecord) {
        self.seq += 1;
        record.seq = self.seq;
        record.hash = link(&self.hash, record);
        self.hash.clone_from(&record.hash);
    }
}

/// SHA-256 (hex) over `prev` (hex), a zero byte and the record's fields
/// but its hash, as the JSON array `[seq, time, app, release, openid,
/// capability, outcome, duration_us]`, with `detail` (an array of pairs)
/// appended to the array when the record has any.
pub fn link(prev: &str, record: &AuditRecord) -> String {
    let fields = (
        record.seq,
        record.time,
        &record.app,
        &record.release,
        &record.openid,
        &record.capability,
        &record.outcome,
        record.duration_us,
    );
    let fields = if record.detail.is_empty() {
        serde_json::to_vec(&fields)
    } else {
        let (a, b, c, d, e, f, g, h) = fields;
        serde_json::to_vec(&(a, b, c, d, e, f, g, h, &record.detail))
    }
    .expect("audit fields serialise");
    let mut hasher = Sha256::new();
    hasher.update(prev.as_bytes());
    hasher.update([0]);
    hasher.update(&fields);
    hex::encode(hasher.finalize())
}

/// The claims of a checkpoint: the host's signed statement (a JWT, `typ`
/// [`CHECKPOINT_TYP`], signed with its ID-token key, see the JWKS) that an
/// app's chain had this head at this time. An export verified against a
/// checkpoint cannot have been recomputed by someone without the host's
/// key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The host's issuer URL.
    pub iss: String,
    /// The app.
    pub sub: String,
    /// The head's `seq`.
    pub seq: u64,
    /// The head's hash.
    pub head: String,
    /// When it was signed, UTC seconds.
    pub iat: u64,
}

/// The JWT `typ` of a checkpoint.
pub const CHECKPOINT_TYP: &str = "cityhost-audit-checkpoint";

/// What [`verify`] found wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    /// No records.
    #[error("no audit records")]
    Empty,
    /// Records of more than one app (each app has its own chain).
    #[error("records of more than one app ({0} and {1})")]
    MixedApps(String, String),
    /// A record written before the chain (no `seq`).
    #[error("a record without a place in the chain (time {0})")]
    Unchained(u64),
    /// Two records claim one place.
    #[error("two records at seq {0}")]
    Duplicate(u64),
    /// Records between these two are missing.
    #[error("records missing between seq {after} and seq {next}")]
    Missing {
        /// The last record before the gap.
        after: u64,
        /// The first record after it.
        next: u64,
    },
    /// The record at this place does not link to the one before: it (or
    /// its `seq`) was changed, or records were moved.
    #[error("the record at seq {0} does not link to the one before it")]
    Changed(u64),
}

/// What a whole chain shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The app.
    pub app: String,
    /// First and last `seq`.
    pub first: u64,
    /// Last `seq`.
    pub last: u64,
    /// The hash of the last record: compare it with a head you trust.
    pub head: String,
}

/// Checks that `records` (one app's, in any order) form an unbroken stretch
/// of its chain: sorted by `seq`, each follows the one before by one and
/// links to its hash. A stretch that starts at `seq` 1 is checked from the
/// [`GENESIS`]; one that starts later, from its first record's hash.
pub fn verify(mut records: Vec<AuditRecord>) -> Result<Verified, ChainBreak> {
    records.sort_by_key(|r| r.seq);
    let first = records.first().ok_or(ChainBreak::Empty)?;
    if let Some(other) = records.iter().find(|r| r.app != first.app) {
        return Err(ChainBreak::MixedApps(first.app.clone(), other.app.clone()));
    }
    if let Some(unchained) = records.iter().find(|r| r.seq == 0) {
        return Err(ChainBreak::Unchained(unchained.time));
    }
    if first.seq == 1 && link(GENESIS, first) != first.hash {
        return Err(ChainBreak::Changed(1));
    }
    for pair in records.windows(2) {
        let (before, record) = (&pair[0], &pair[1]);
        if record.seq == before.seq {
            return Err(ChainBreak::Duplicate(record.seq));
        }
        if record.seq != before.seq + 1 {
            return Err(ChainBreak::Missing {
                after: before.seq,
                next: record.seq,
            });
        }
        if link(&before.hash, record) != record.hash {
            return Err(ChainBreak::Changed(record.seq));
        }
    }
    let last = records.last().expect("not empty");
    Ok(Verified {
        app: first.app.clone(),
        first: first.seq,
        last: last.seq,
        head: last.hash.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64) -> Vec<AuditRecord> {
        let mut head = ChainHead::default();
        (0..n)
            .map(|i| {
                let mut record = AuditRecord {
                    time: 1_000 + i,
                    app: "a".into(),
                    release: "1.0.0".into(),
                    openid: None,
                    capability: "request".into(),
                    outcome: "200".into(),
                    duration_us: 5,
                    detail: Vec::new(),
                    seq: 0,
                    hash: String::new(),
                };
                head.extend(&mut record);
                record
            })
            .collect()
    }

    #[test]
    fn an_untouched_chain_verifies_in_any_order() {
        let mut records = chain(5);
        records.reverse();
        let verified = verify(records.clone()).unwrap();
        assert_eq!((verified.first, verified.last), (1, 5));
        assert_eq!(verified.head, records[0].hash);
        // A later stretch verifies from its first record.
        assert_eq!(verify(chain(5)[2..].to_vec()).unwrap().first, 3);
    }

    #[test]
    fn a_changed_record_is_found() {
        let mut records = chain(5);
        records[2].outcome = "500".into();
        assert_eq!(verify(records).unwrap_err(), ChainBreak::Changed(3));
        let mut records = chain(5);
        records[0].time += 1;
        assert_eq!(verify(records).unwrap_err(), ChainBreak::Changed(1));
    }

    #[test]
    fn a_records_detail_is_in_its_hash() {
        let mut head = ChainHead::default();
        let mut records = chain(1);
        records[0].detail = vec![("origin".into(), "https://billing.example".into())];
        records[0].seq = 0;
        head.extend(&mut records[0]);
        assert_ne!(records[0].hash, chain(1)[0].hash);
        assert!(verify(records.clone()).is_ok());
        records[0].detail[0].1 = "https://elsewhere.example".into();
        assert_eq!(verify(records).unwrap_err(), ChainBreak::Changed(1));
    }

    #[test]
    fn a_deleted_record_is_found() {
        let mut records = chain(5);
        records.remove(3);
        assert_eq!(
            verify(records).unwrap_err(),
            ChainBreak::Missing { after: 3, next: 5 }
        );
    }

    #[test]
    fn reordered_records_are_found() {
        // Two records swap places (their seqs swapped to hide it).
        let mut records = chain(5);
        records[1].seq = 3;
        records[2].seq = 2;
        assert!(matches!(
            verify(records).unwrap_err(),
            ChainBreak::Changed(_)
        ));
        // Or their contents swapped.
        let mut records = chain(5);
        let (a, b) = (records[1].time, records[2].time);
        records[1].time = b;
        records[2].time = a;
        assert!(matches!(
            verify(records).unwrap_err(),
            ChainBreak::Changed(_)
        ));
    }

    #[test]
    fn records_from_before_the_chain_or_of_two_apps_are_named() {
        let mut records = chain(2);
        records[1].seq = 0;
        assert_eq!(verify(records).unwrap_err(), ChainBreak::Unchained(1_001));
        let mut records = chain(2);
        records[1].app = "b".into();
        assert!(matches!(
            verify(records).unwrap_err(),
            ChainBreak::MixedApps(..)
        ));
        assert_eq!(verify(Vec::new()).unwrap_err(), ChainBreak::Empty);
    }
}
