//! Turns across hosts: every transaction begins by taking the schema's
//! turn lock — a transaction-scoped advisory lock — in shared mode, and a
//! transaction that must run alone among all hosts
//! ([`Turn::AloneEverywhere`](cityhost_store::Turn)) takes it exclusively.
//! PostgreSQL queues a shared request behind a waiting exclusive one, so
//! the lone transaction waits only for those already running, runs with
//! none beside it, and cannot meet a serialization failure.
//!
//! The lock is the two-key form `(TURN_CLASS, key(schema))`, so it never
//! meets the schema lock (one `bigint` key, [`crate::schema`]) nor the
//! turns of another schema of the same database.

/// The first key of every turn lock: "city" in ASCII.
const TURN_CLASS: i32 = 0x6369_7479;

/// The second key for `schema`: the 32-bit FNV-1a hash of its name, the
/// same on every host.
pub(crate) fn key(schema: &str) -> i32 {
    let hash = schema.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    i32::from_ne_bytes(hash.to_ne_bytes())
}

/// The statements that begin a transaction holding the turn lock of the
/// schema whose [`key`] is `key`: exclusively when `alone`, else shared.
pub(crate) fn begin(key: i32, alone: bool) -> String {
    let lock = if alone {
        "pg_advisory_xact_lock"
    } else {
        "pg_advisory_xact_lock_shared"
    };
    format!("BEGIN ISOLATION LEVEL SERIALIZABLE; SELECT {lock}({TURN_CLASS}, {key})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_differ_by_schema() {
        assert_eq!(key("public"), key("public"));
        assert_ne!(key("public"), key("t_1_0_5"));
        assert_eq!(
            begin(7, true),
            "BEGIN ISOLATION LEVEL SERIALIZABLE; SELECT pg_advisory_xact_lock(1667855481, 7)"
        );
        assert!(begin(-7, false).ends_with("pg_advisory_xact_lock_shared(1667855481, -7)"));
    }
}
