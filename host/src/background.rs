//! The host's background tasks: event delivery ([`crate::event_delivery`]),
//! the cron task ([`crate::cron_task`]) and the signal task
//! ([`crate::signal_task`]), started together by every
//! way of serving (`serve`, `demo`, `dev`, the tests) and stopped when the
//! handle drops.

use std::sync::Arc;

use crate::platform::Platform;

/// The running background tasks; dropping it stops them.
pub struct Background {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Background {
    /// Starts the background tasks of `platform`.
    pub fn start(platform: &Arc<Platform>) -> Background {
        Background {
            tasks: vec![
                crate::event_delivery::spawn_delivery(platform.clone()),
                crate::cron_task::spawn_cron(platform.clone()),
                crate::signal_task::spawn_signals(platform.clone()),
            ],
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
