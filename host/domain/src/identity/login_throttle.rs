//! How wrong passwords are throttled, so that guessing is slow and nobody
//! can lock a citizen out of their own account (OWASP Authentication Cheat
//! Sheet, "Account lockout"; NIST SP 800-63B §5.2.2, rate limiting).
//!
//! Three counters, each forgotten [`FAILURE_WINDOW_MS`] after its last
//! wrong password:
//! - per number *and client*: after [`PAIR_MAX_FAILURES`] wrong passwords
//!   that client may not try the number for [`LOCKOUT_MS`]; the citizen on
//!   another client is not affected;
//! - per client: after [`CLIENT_MAX_FAILURES`] wrong passwords for any
//!   numbers the client may not sign in at all for [`LOCKOUT_MS`] (password
//!   spraying);
//! - per number: from the [`ACCOUNT_DELAY_AFTER`]th wrong password on, from
//!   any clients, each next attempt waits a delay that doubles from 1 s up
//!   to [`ACCOUNT_MAX_DELAY_MS`] (guessing from many clients). A delay, never
//!   a lock: the citizen gets in at most that long after an attacker's last
//!   try.
//!
//! An attempt refused by a counter is answered `RateLimited` (HTTP 429 with
//! `Retry-After`) before the password is checked. A right password clears
//! the number's counters (not the client's).
//!
//! The client is what the HTTP layer says it is (the peer address, or the
//! address a trusted proxy forwarded); the number is its blind index.

use cityhost_store::Db;
use serde::{Deserialize, Serialize};

use super::tables::{LOGIN_FAILURES, LOGIN_FAILURES_BY_CLIENT, LOGIN_FAILURES_BY_PAIR};
use crate::error::{ServiceError, ServiceResult};

/// Wrong passwords for one number from one client before that client is
/// locked out of the number.
pub const PAIR_MAX_FAILURES: u32 = 5;
/// Wrong passwords from one client, for any numbers, before the client is
/// locked out of signing in.
pub const CLIENT_MAX_FAILURES: u32 = 30;
/// How long a lock lasts: 15 minutes, in ms.
pub const LOCKOUT_MS: u64 = 15 * 60 * 1000;
/// Wrong passwords for one number, from any clients, after which each
/// next attempt waits a growing delay.
pub const ACCOUNT_DELAY_AFTER: u32 = 10;
/// The longest such delay: 60 s, in ms.
pub const ACCOUNT_MAX_DELAY_MS: u64 = 60 * 1000;
/// A counter is forgotten 15 minutes after its last wrong password, in ms.
pub const FAILURE_WINDOW_MS: u64 = 15 * 60 * 1000;

/// One counter of wrong passwords, and the time before which no attempt it
/// governs is checked.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(crate) struct FailedLogins {
    failures: u32,
    /// UTC ms; 0 when nothing waits.
    locked_until_ms: u64,
    /// When the last wrong password came, UTC ms (0 in records written
    /// before counters expired).
    #[serde(default)]
    last_failure_ms: u64,
}

impl FailedLogins {
    /// This record as it stands at `now`: a lock or a count that has
    /// expired is gone.
    fn at(self, now: u64) -> Self {
        if self.locked_until_ms > now || now < self.last_failure_ms + FAILURE_WINDOW_MS {
            self
        } else {
            Self::default()
        }
    }

    /// `RateLimited` until the lock ends.
    fn admit(&self, now: u64) -> ServiceResult<()> {
        if self.locked_until_ms > now {
            Err(ServiceError::RateLimited {
                retry_after_ms: self.locked_until_ms - now,
            })
        } else {
            Ok(())
        }
    }

    /// One more wrong password at `now`; at `max` the count starts again
    /// and the lock is set.
    fn lock_at(mut self, now: u64, max: u32) -> Self {
        self.failures += 1;
        self.last_failure_ms = now;
        if self.failures >= max {
            self.failures = 0;
            self.locked_until_ms = now + LOCKOUT_MS;
        }
        self
    }

    /// One more wrong password for the number at `now`, and the delay from
    /// [`ACCOUNT_DELAY_AFTER`] on: 1 s, 2 s, 4 s … up to
    /// [`ACCOUNT_MAX_DELAY_MS`].
    fn delay_at(mut self, now: u64) -> Self {
        self.failures += 1;
        self.last_failure_ms = now;
        if self.failures >= ACCOUNT_DELAY_AFTER {
            let doublings = (self.failures - ACCOUNT_DELAY_AFTER).min(16);
            let delay = (1000u64 << doublings).min(ACCOUNT_MAX_DELAY_MS);
            self.locked_until_ms = now + delay;
        }
        self
    }
}

/// `RateLimited` (with how long to wait) if an attempt on the number with
/// blind index `phone_key` from `client` may not be checked at `now`.
pub(crate) async fn admit(db: &Db, phone_key: &str, client: &str, now: u64) -> ServiceResult<()> {
    let pair = (phone_key.to_string(), client.to_string());
    let pair = db.get(&LOGIN_FAILURES_BY_PAIR, &pair).await?;
    let by_client = db.get(&LOGIN_FAILURES_BY_CLIENT, client).await?;
    let account = db.get(&LOGIN_FAILURES, phone_key).await?;
    for record in [pair, by_client, account].into_iter().flatten() {
        record.at(now).admit(now)?;
    }
    Ok(())
}

/// Counts a wrong password for the number from `client` at `now`, in one
/// transaction (parallel attempts cannot each see the same count).
pub(crate) async fn failed(db: &Db, phone_key: &str, client: &str, now: u64) -> ServiceResult<()> {
    let pair = &(phone_key.to_string(), client.to_string());
    db.transact(|tx| async move {
        let record = tx.get(&LOGIN_FAILURES_BY_PAIR, pair).await?;
        let record = record
            .unwrap_or_default()
            .at(now)
            .lock_at(now, PAIR_MAX_FAILURES);
        tx.put(&LOGIN_FAILURES_BY_PAIR, pair, &record).await?;
        let record = tx.get(&LOGIN_FAILURES_BY_CLIENT, client).await?;
        let record = record
            .unwrap_or_default()
            .at(now)
            .lock_at(now, CLIENT_MAX_FAILURES);
        tx.put(&LOGIN_FAILURES_BY_CLIENT, client, &record).await?;
        let record = tx.get(&LOGIN_FAILURES, phone_key).await?;
        let record = record.unwrap_or_default().at(now).delay_at(now);
        tx.put(&LOGIN_FAILURES, phone_key, &record).await?;
        Ok::<_, ServiceError>(())
    })
    .await
}

/// Clears the number's counters after a right password from `client`.
pub(crate) async fn succeeded(db: &Db, phone_key: &str, client: &str) -> ServiceResult<()> {
    let pair = &(phone_key.to_string(), client.to_string());
    db.transact(|tx| async move {
        tx.delete(&LOGIN_FAILURES_BY_PAIR, pair).await?;
        tx.delete(&LOGIN_FAILURES, phone_key).await?;
        Ok::<_, ServiceError>(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limited(result: ServiceResult<()>) -> u64 {
        match result {
            Err(ServiceError::RateLimited { retry_after_ms }) => retry_after_ms,
            other => panic!("expected RateLimited, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn one_clients_wrong_passwords_lock_only_that_client_out() {
        let (_dir, db) = crate::testing::temp_db();
        let now = 1_000 * FAILURE_WINDOW_MS;
        for _ in 0..PAIR_MAX_FAILURES {
            admit(&db, "n", "attacker", now).await.unwrap();
            failed(&db, "n", "attacker", now).await.unwrap();
        }
        assert_eq!(limited(admit(&db, "n", "attacker", now).await), LOCKOUT_MS);
        // The citizen, on their own client, still gets in.
        admit(&db, "n", "citizen", now).await.unwrap();
        // And the lock ends.
        admit(&db, "n", "attacker", now + LOCKOUT_MS).await.unwrap();
    }

    #[tokio::test]
    async fn a_client_spraying_many_numbers_is_locked_out() {
        let (_dir, db) = crate::testing::temp_db();
        let now = 1_000 * FAILURE_WINDOW_MS;
        for n in 0..CLIENT_MAX_FAILURES {
            failed(&db, &format!("n{n}"), "sprayer", now).await.unwrap();
        }
        assert_eq!(
            limited(admit(&db, "fresh", "sprayer", now).await),
            LOCKOUT_MS
        );
        admit(&db, "fresh", "other", now).await.unwrap();
    }

    #[tokio::test]
    async fn many_clients_guessing_one_number_meet_a_growing_delay_never_a_lock() {
        let (_dir, db) = crate::testing::temp_db();
        let mut now = 1_000 * FAILURE_WINDOW_MS;
        for c in 0..ACCOUNT_DELAY_AFTER - 1 {
            failed(&db, "n", &format!("c{c}"), now).await.unwrap();
        }
        admit(&db, "n", "citizen", now).await.unwrap();
        let mut delays = Vec::new();
        for c in 0..8 {
            failed(&db, "n", &format!("d{c}"), now).await.unwrap();
            let delay = limited(admit(&db, "n", "citizen", now).await);
            delays.push(delay);
            now += delay;
            admit(&db, "n", "citizen", now).await.unwrap();
        }
        assert_eq!(
            delays,
            [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]
        );
        // A right password clears the number's counters.
        succeeded(&db, "n", "citizen").await.unwrap();
        failed(&db, "n", "e", now).await.unwrap();
        admit(&db, "n", "citizen", now).await.unwrap();
    }

    #[test]
    fn counters_and_locks_expire() {
        let now = 100 * FAILURE_WINDOW_MS;
        let recent = FailedLogins {
            failures: 3,
            locked_until_ms: 0,
            last_failure_ms: now - FAILURE_WINDOW_MS + 1,
        };
        assert_eq!(recent.at(now).failures, 3);
        let stale = FailedLogins {
            failures: 4,
            locked_until_ms: 0,
            last_failure_ms: now - FAILURE_WINDOW_MS,
        };
        assert_eq!(stale.at(now).failures, 0);
        let locked = FailedLogins {
            failures: 0,
            locked_until_ms: now + 1,
            last_failure_ms: now - LOCKOUT_MS,
        };
        assert_eq!(locked.at(now).locked_until_ms, now + 1);
        // A record written before counters expired has no time: it is stale.
        let old: FailedLogins =
            serde_json::from_str(r#"{"failures":4,"locked_until_ms":0}"#).unwrap();
        assert_eq!(old.at(now).failures, 0);
    }
}
