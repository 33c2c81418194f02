//! Cron schedules: each `[[schedule.cron]]` of a released app's manifest
//! becomes the app event `cron.{name}` at each of its fire times, with the
//! payload `{"schedule": name, "scheduled_at": ms}` (UTC ms of the fire
//! time) and no citizen.
//!
//! The host's cron task calls [`Outbox::fire_cron`] for every app about
//! once a minute. A cursor per (app, schedule) holds the last fire time
//! staged, moved in the same transaction as the event is written, so a
//! fire time is staged once however many hosts share the store and
//! however often they restart; the event's id is derived from (app,
//! schedule, fire time) as well. A schedule seen for the first time
//! starts from now (it does not fire for the past). Fire times missed
//! while no host ran collapse into one event for the latest of them, if
//! it is at most [`CATCH_UP_MS`] old; older ones are skipped.

use cityhost_store::StoreError;
use sha2::{Digest, Sha256};

use super::tables::{CRON_CURSORS, EVENT_OUTBOX};
use super::{Outbox, PendingEvent, Source};
use crate::manifest::schedule::CronSchedule;

/// How old a missed fire time may be and still fire: 1 hour, ms.
pub const CATCH_UP_MS: u64 = 3_600_000;

/// The event id of a schedule's fire time: `evt_` + 32 hex of
/// SHA-256(app, schedule, fire time).
fn fire_id(app_id: &str, name: &str, fire_ms: u64) -> String {
    let digest = Sha256::new()
        .chain_update(app_id.as_bytes())
        .chain_update([0])
        .chain_update(name.as_bytes())
        .chain_update([0])
        .chain_update(fire_ms.to_be_bytes())
        .finalize();
    format!("evt_{}", hex::encode(&digest[..16]))
}

/// The latest fire time of `schedule` after `cursor` and at most `now`
/// (searching no further back than [`CATCH_UP_MS`]).
fn latest_due(schedule: &CronSchedule, cursor: u64, now: u64) -> Option<u64> {
    let mut from = cursor.max(now.saturating_sub(CATCH_UP_MS + 1));
    let mut latest = None;
    while let Some(next) = schedule.next_after(from).filter(|&t| t <= now) {
        latest = Some(next);
        from = next;
    }
    latest
}

impl Outbox {
    /// Stages each of `app_id`'s schedules whose fire time has come since
    /// it last fired (see the module docs); returns the event ids staged.
    /// `now` is UTC ms.
    pub async fn fire_cron(
        &self,
        app_id: &str,
        schedules: &[CronSchedule],
        now: u64,
    ) -> Result<Vec<String>, StoreError> {
        let mut staged = Vec::new();
        for schedule in schedules {
            let name = schedule.name.as_str();
            let fired = self
                .db
                .transact(|tx| async move {
                    let Some(cursor) = tx.get(&CRON_CURSORS, (app_id, name)).await? else {
                        tx.put(&CRON_CURSORS, (app_id, name), &now).await?;
                        return Ok(None);
                    };
                    let Some(fire) = latest_due(schedule, cursor, now) else {
                        return Ok(None);
                    };
                    let body = serde_json::json!({ "schedule": name, "scheduled_at": fire });
                    let event = PendingEvent::new(
                        fire_id(app_id, name, fire),
                        app_id,
                        None,
                        &format!("{}.{name}", Source::Cron.as_str()),
                        body.to_string(),
                        now,
                    );
                    tx.put(&EVENT_OUTBOX, (fire, event.id.as_str()), &event)
                        .await?;
                    tx.put(&CRON_CURSORS, (app_id, name), &fire).await?;
                    Ok::<_, StoreError>(Some(event.id))
                })
                .await?;
            staged.extend(fired);
        }
        if !staged.is_empty() {
            self.wake();
        }
        Ok(staged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cityhost_store::Scan;

    /// 2026-12-04 00:00:00 UTC (08:00 in Shanghai).
    const T0: u64 = 1_796_342_400_000;
    const MINUTE: u64 = 60_000;
    const HOUR: u64 = 60 * MINUTE;

    fn outbox() -> (tempfile::TempDir, Outbox) {
        let (dir, db) = crate::testing::temp_db();
        (dir, Outbox::new(db))
    }

    async fn events(outbox: &Outbox) -> Vec<(u64, PendingEvent)> {
        outbox
            .db
            .scan(&EVENT_OUTBOX, Scan::all())
            .await
            .unwrap()
            .into_iter()
            .map(|((due, _), e)| (due, e))
            .collect()
    }

    #[tokio::test]
    async fn each_fire_time_is_staged_once_and_never_for_the_past() {
        let (_dir, outbox) = outbox();
        let nine = [CronSchedule::parse("reminder", "0 9 * * *").unwrap()];
        // First sight at 08:00 Shanghai: nothing (09:00 has not come).
        assert!(outbox.fire_cron("app", &nine, T0).await.unwrap().is_empty());
        assert!(
            outbox
                .fire_cron("app", &nine, T0 + 59 * MINUTE)
                .await
                .unwrap()
                .is_empty()
        );
        // 09:00 Shanghai = T0 + 1 h: staged once, however often asked.
        let at_nine = outbox.fire_cron("app", &nine, T0 + HOUR).await.unwrap();
        assert_eq!(at_nine.len(), 1);
        assert!(
            outbox
                .fire_cron("app", &nine, T0 + HOUR)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            outbox
                .fire_cron("app", &nine, T0 + 2 * HOUR)
                .await
                .unwrap()
                .is_empty()
        );
        let staged = events(&outbox).await;
        assert_eq!(staged.len(), 1);
        let (due, event) = &staged[0];
        assert_eq!(*due, T0 + HOUR);
        assert_eq!(event.event, "cron.reminder");
        assert_eq!(event.citizen_id, None);
        assert_eq!(event.id, at_nine[0]);
        let body: serde_json::Value = serde_json::from_str(&event.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"schedule": "reminder", "scheduled_at": T0 + HOUR})
        );
        // A schedule first seen after its time does not fire for it.
        let eight = [CronSchedule::parse("morning", "0 8 * * *").unwrap()];
        assert!(
            outbox
                .fire_cron("app", &eight, T0 + HOUR)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn missed_fire_times_collapse_into_the_latest_recent_one() {
        let (_dir, outbox) = outbox();
        let every_ten = [CronSchedule::parse("poll", "*/10 * * * *").unwrap()];
        outbox.fire_cron("app", &every_ten, T0).await.unwrap();
        // Down for 35 minutes: :10, :20 and :30 were missed; one event, for :30.
        let staged = outbox
            .fire_cron("app", &every_ten, T0 + 35 * MINUTE)
            .await
            .unwrap();
        assert_eq!(staged.len(), 1);
        assert_eq!(events(&outbox).await[0].0, T0 + 30 * MINUTE);
        // Down for a day: only fire times within the last hour count.
        let staged = outbox
            .fire_cron("app", &every_ten, T0 + 25 * HOUR + 5 * MINUTE)
            .await
            .unwrap();
        assert_eq!(staged.len(), 1);
        assert_eq!(events(&outbox).await[1].0, T0 + 25 * HOUR);
        // A daily schedule whose only fire time is older than an hour skips it.
        let daily = [CronSchedule::parse("daily", "0 9 * * *").unwrap()];
        outbox.fire_cron("app", &daily, T0).await.unwrap();
        assert!(
            outbox
                .fire_cron("app", &daily, T0 + 3 * HOUR)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn two_hosts_sharing_the_store_stage_a_fire_time_once() {
        let (_dir, outbox) = outbox();
        let every_minute = [CronSchedule::parse("tick", "* * * * *").unwrap()];
        outbox.fire_cron("app", &every_minute, T0).await.unwrap();
        let other_host = outbox.clone();
        let (a, b) = tokio::join!(
            outbox.fire_cron("app", &every_minute, T0 + MINUTE),
            other_host.fire_cron("app", &every_minute, T0 + MINUTE),
        );
        assert_eq!(a.unwrap().len() + b.unwrap().len(), 1);
        assert_eq!(events(&outbox).await.len(), 1);
    }
}
