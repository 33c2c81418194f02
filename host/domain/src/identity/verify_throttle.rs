//! How real-name mismatches are throttled, so that the identity authority
//! never becomes a name lookup and nobody can squat a stranger's identity
//! by guessing names across free accounts.
//!
//! Three counters of mismatches (a well-formed name and number the
//! authority does not hold together), each checked before the authority is
//! asked and counted in one transaction after it said no:
//! - per account: [`ACCOUNT_MAX_MISMATCHES`] in [`ACCOUNT_WINDOW_MS`], then
//!   the account may not verify until the window ends (it is the guesser's
//!   own account);
//! - per identity number (its blind index), from any accounts and clients:
//!   from the [`NUMBER_DELAY_AFTER`]th mismatch on, each next check of that
//!   number waits a delay that doubles from [`NUMBER_FIRST_DELAY_MS`] up to
//!   [`NUMBER_MAX_DELAY_MS`]. A delay, never a lock: the real person, who
//!   knows their own name, verifies at most an hour after a guesser's last
//!   try, while guessing a stranger's name takes years at that pace;
//! - per client (address): [`CLIENT_MAX_MISMATCHES`] in
//!   [`CLIENT_WINDOW_MS`] for any numbers, then the client may not verify
//!   until the window ends (one address guessing across many numbers).
//!
//! A counter is forgotten one window after its last mismatch (the number's
//! after [`NUMBER_WINDOW_MS`]). A refused attempt is `RateLimited` (HTTP 429
//! with `Retry-After`). A match clears the number's counter.

use cityhost_store::Db;
use serde::{Deserialize, Serialize};

use super::tables::{VERIFY_FAILURES, VERIFY_FAILURES_BY_CLIENT, VERIFY_FAILURES_BY_NUMBER};
use crate::error::{ServiceError, ServiceResult};

/// Mismatches an account may have in one window.
pub const ACCOUNT_MAX_MISMATCHES: u32 = 5;
/// The account's window: 24 hours, in ms.
pub const ACCOUNT_WINDOW_MS: u64 = 24 * 60 * 60 * 1000;
/// Mismatches on one identity number, from anyone, after which each next
/// check of it waits a growing delay.
pub const NUMBER_DELAY_AFTER: u32 = 3;
/// The first such delay: 1 minute, in ms.
pub const NUMBER_FIRST_DELAY_MS: u64 = 60 * 1000;
/// The longest such delay: 1 hour, in ms.
pub const NUMBER_MAX_DELAY_MS: u64 = 60 * 60 * 1000;
/// The number's counter is forgotten 24 hours after its last mismatch.
pub const NUMBER_WINDOW_MS: u64 = 24 * 60 * 60 * 1000;
/// Mismatches from one client address, for any numbers, in one window.
pub const CLIENT_MAX_MISMATCHES: u32 = 30;
/// The client's window: 1 hour, in ms.
pub const CLIENT_WINDOW_MS: u64 = 60 * 60 * 1000;

/// One counter of mismatches ([`VERIFY_FAILURES`] and its siblings).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(crate) struct Mismatches {
    count: u32,
    /// When the first mismatch of the window came, UTC ms.
    window_start_ms: u64,
    /// Before this, UTC ms, no check it governs runs (0: none waits).
    #[serde(default)]
    wait_until_ms: u64,
    /// When the last mismatch came, UTC ms.
    #[serde(default)]
    last_ms: u64,
}

impl Mismatches {
    /// This counter as it stands at `now`, for a window of `window` ms:
    /// fixed windows start again when they end; the number's sliding one
    /// is forgotten `window` after its last mismatch.
    fn at(self, now: u64, window: u64, sliding: bool) -> Self {
        let end = if sliding {
            self.last_ms.max(self.window_start_ms) + window
        } else {
            self.window_start_ms + window
        };
        if end > now || self.wait_until_ms > now {
            self
        } else {
            Self {
                window_start_ms: now,
                ..Self::default()
            }
        }
    }

    /// `RateLimited` while this counter makes checks wait.
    fn admit(&self, now: u64) -> ServiceResult<()> {
        if self.wait_until_ms > now {
            Err(ServiceError::RateLimited {
                retry_after_ms: self.wait_until_ms - now,
            })
        } else {
            Ok(())
        }
    }

    /// One more mismatch at `now` on a fixed-window counter: at `max`, no
    /// check until the window (`window` ms from its start) ends.
    fn limit_at(mut self, now: u64, max: u32, window: u64) -> Self {
        self.count += 1;
        self.last_ms = now;
        if self.count >= max {
            self.wait_until_ms = self.window_start_ms + window;
        }
        self
    }

    /// One more mismatch on the number at `now`, and the delay from
    /// [`NUMBER_DELAY_AFTER`] on: 1, 2, 4 … 60 minutes.
    fn delay_at(mut self, now: u64) -> Self {
        self.count += 1;
        self.last_ms = now;
        if self.count >= NUMBER_DELAY_AFTER {
            let doublings = (self.count - NUMBER_DELAY_AFTER).min(16);
            let delay = (NUMBER_FIRST_DELAY_MS << doublings).min(NUMBER_MAX_DELAY_MS);
            self.wait_until_ms = now + delay;
        }
        self
    }
}

/// `RateLimited` (with how long to wait) if `citizen_id` may not check the
/// number with blind index `number_key` from `client` at `now`.
pub(crate) async fn admit(
    db: &Db,
    citizen_id: &str,
    number_key: &str,
    client: &str,
    now: u64,
) -> ServiceResult<()> {
    let account = db.get(&VERIFY_FAILURES, citizen_id).await?;
    let account = account.map(|r| r.at(now, ACCOUNT_WINDOW_MS, false));
    let number = db.get(&VERIFY_FAILURES_BY_NUMBER, number_key).await?;
    let number = number.map(|r| r.at(now, NUMBER_WINDOW_MS, true));
    let by_client = db.get(&VERIFY_FAILURES_BY_CLIENT, client).await?;
    let by_client = by_client.map(|r| r.at(now, CLIENT_WINDOW_MS, false));
    for record in [account, number, by_client].into_iter().flatten() {
        record.admit(now)?;
    }
    Ok(())
}

/// Counts a mismatch on all three counters in one transaction, so that
/// parallel attempts cannot each see the same count and slip past a limit.
pub(crate) async fn mismatched(
    db: &Db,
    citizen_id: &str,
    number_key: &str,
    client: &str,
    now: u64,
) -> ServiceResult<()> {
    db.transact(|tx| async move {
        let record = tx.get(&VERIFY_FAILURES, citizen_id).await?;
        let record = record
            .unwrap_or_default()
            .at(now, ACCOUNT_WINDOW_MS, false)
            .limit_at(now, ACCOUNT_MAX_MISMATCHES, ACCOUNT_WINDOW_MS);
        tx.put(&VERIFY_FAILURES, citizen_id, &record).await?;
        let record = tx.get(&VERIFY_FAILURES_BY_NUMBER, number_key).await?;
        let record = record
            .unwrap_or_default()
            .at(now, NUMBER_WINDOW_MS, true)
            .delay_at(now);
        tx.put(&VERIFY_FAILURES_BY_NUMBER, number_key, &record)
            .await?;
        let record = tx.get(&VERIFY_FAILURES_BY_CLIENT, client).await?;
        let record = record
            .unwrap_or_default()
            .at(now, CLIENT_WINDOW_MS, false)
            .limit_at(now, CLIENT_MAX_MISMATCHES, CLIENT_WINDOW_MS);
        tx.put(&VERIFY_FAILURES_BY_CLIENT, client, &record).await?;
        Ok::<_, ServiceError>(())
    })
    .await
}

/// Forgets the number's mismatches after the authority matched it.
pub(crate) async fn matched(db: &Db, number_key: &str) -> ServiceResult<()> {
    db.delete(&VERIFY_FAILURES_BY_NUMBER, number_key).await?;
    Ok(())
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

    const T0: u64 = 1_000 * ACCOUNT_WINDOW_MS;

    #[tokio::test]
    async fn an_account_is_stopped_for_the_rest_of_its_window() {
        let (_dir, db) = crate::testing::temp_db();
        for n in 0..ACCOUNT_MAX_MISMATCHES {
            let number = format!("n{n}");
            admit(&db, "a", &number, "c", T0).await.unwrap();
            mismatched(&db, "a", &number, "c", T0).await.unwrap();
        }
        assert_eq!(
            limited(admit(&db, "a", "fresh", "c", T0 + 1000).await),
            ACCOUNT_WINDOW_MS - 1000
        );
        admit(&db, "b", "fresh", "c", T0).await.unwrap();
        admit(&db, "a", "fresh", "c", T0 + ACCOUNT_WINDOW_MS)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn guesses_on_one_number_from_many_accounts_meet_a_growing_delay_never_a_lock() {
        let (_dir, db) = crate::testing::temp_db();
        let mut now = T0;
        for a in 0..NUMBER_DELAY_AFTER - 1 {
            mismatched(&db, &format!("squatter{a}"), "n", &format!("c{a}"), now)
                .await
                .unwrap();
        }
        admit(&db, "citizen", "n", "home", now).await.unwrap();
        let mut delays = Vec::new();
        for a in 0..9 {
            mismatched(&db, &format!("s{a}"), "n", &format!("d{a}"), now)
                .await
                .unwrap();
            let delay = limited(admit(&db, "citizen", "n", "home", now).await);
            delays.push(delay / 60_000);
            now += delay;
            admit(&db, "citizen", "n", "home", now).await.unwrap();
        }
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        // Another number is not delayed; a match forgets this one's count.
        admit(&db, "citizen", "other", "home", T0).await.unwrap();
        matched(&db, "n").await.unwrap();
        mismatched(&db, "s", "n", "e", now).await.unwrap();
        admit(&db, "citizen", "n", "home", now).await.unwrap();
    }

    #[tokio::test]
    async fn a_client_guessing_across_numbers_is_stopped_for_the_hour() {
        let (_dir, db) = crate::testing::temp_db();
        for n in 0..CLIENT_MAX_MISMATCHES {
            mismatched(&db, &format!("a{n}"), &format!("n{n}"), "nat", T0)
                .await
                .unwrap();
        }
        assert_eq!(
            limited(admit(&db, "fresh", "fresh", "nat", T0).await),
            CLIENT_WINDOW_MS
        );
        admit(&db, "fresh", "fresh", "elsewhere", T0).await.unwrap();
        admit(&db, "fresh", "fresh", "nat", T0 + CLIENT_WINDOW_MS)
            .await
            .unwrap();
    }

    #[test]
    fn the_numbers_counter_is_forgotten_a_day_after_its_last_mismatch() {
        let last = T0 + 5 * 60 * 60 * 1000;
        let record = Mismatches {
            count: 2,
            window_start_ms: T0,
            wait_until_ms: 0,
            last_ms: last,
        };
        assert_eq!(
            record
                .clone()
                .at(T0 + NUMBER_WINDOW_MS, NUMBER_WINDOW_MS, true)
                .count,
            2
        );
        assert_eq!(
            record
                .at(last + NUMBER_WINDOW_MS, NUMBER_WINDOW_MS, true)
                .count,
            0
        );
        // Records written before the delay existed read as plain counts.
        let old: Mismatches = serde_json::from_str(r#"{"count":5,"window_start_ms":1}"#).unwrap();
        assert_eq!((old.count, old.wait_until_ms), (5, 0));
    }
}
