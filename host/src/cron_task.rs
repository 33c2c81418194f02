//! The cron task: about once a minute, stages the due fire times of every
//! loaded app's `[[schedule.cron]]` schedules in the event outbox
//! ([`crate::events::cron`]), from where the delivery task sends them.
//! Several hosts sharing a store each run it; the outbox's cursors stage
//! each fire time once.

use std::sync::Arc;
use std::time::Duration;

use cityhost_store::now_ms;

use crate::platform::Platform;

/// A minute, the resolution of a 5-field cron schedule.
const MINUTE_MS: u64 = 60_000;
/// How long after a minute starts the task looks (clocks differ a little
/// between hosts; a schedule then never fires a minute late).
const AFTER_MINUTE_MS: u64 = 500;

/// Starts the cron task for `platform`. It runs until the runtime stops or
/// the handle is aborted.
pub fn spawn_cron(platform: Arc<Platform>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            fire_due(&platform).await;
            let now = now_ms();
            let next = (now / MINUTE_MS + 1) * MINUTE_MS + AFTER_MINUTE_MS;
            tokio::time::sleep(Duration::from_millis(next - now)).await;
        }
    })
}

/// Stages what is due now for each loaded app.
async fn fire_due(platform: &Platform) {
    let now = now_ms();
    for app in platform.registry.list() {
        // Checked when the release was loaded.
        let Ok(schedules) = app.manifest.cron_schedules() else {
            continue;
        };
        if schedules.is_empty() {
            continue;
        }
        match platform
            .services
            .events
            .fire_cron(&app.manifest.id, &schedules, now)
            .await
        {
            Ok(staged) => {
                for id in staged {
                    tracing::info!(app = %app.manifest.id, event = %id, "cron schedule fired");
                }
            }
            Err(e) => {
                tracing::error!(app = %app.manifest.id, error = %e, "cron schedules not staged; next minute again");
            }
        }
    }
}
