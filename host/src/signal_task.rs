//! The signal task: hears the store signals of the other hosts sharing the
//! store ([`cityhost_store::Signal`]) and brings what this host keeps in
//! memory in step — a session ended elsewhere leaves the session cache, a
//! message or unread count reaches the citizen's open streams here, a
//! release changed elsewhere is loaded here, new operator settings (caps,
//! an app's concurrency cap) are applied here. When signals may have been
//! missed it drops every cached session, tells every open stream to catch
//! up from the store and reloads the operator settings and every app's
//! release plan. A release is loaded on a task of its own (a compile takes
//! up to a second), so signals behind it — a logout — are not held up. On
//! an embedded store (one host) it hears nothing.

use std::sync::Arc;

use cityhost_store::{Heard, Signal};

use crate::identity::sessions::SESSION_ENDED;
use crate::notifications::live::LIVE_SIGNAL;
use crate::platform::{OPERATOR_SETTINGS_CHANGED, Platform};
use crate::releases::lifecycle::RELEASE_CHANGED;

/// Starts the signal task for `platform`. It runs until the runtime stops
/// or the handle is aborted.
pub fn spawn_signals(platform: Arc<Platform>) -> tokio::task::JoinHandle<()> {
    let mut listener = platform.services.db.listen();
    tokio::spawn(async move {
        loop {
            match listener.next().await {
                Heard::Signal(signal) => apply(&platform, signal).await,
                Heard::Missed => resync(&platform).await,
            }
        }
    })
}

/// Acts on one signal.
async fn apply(platform: &Arc<Platform>, signal: Signal) {
    let services = &platform.services;
    match signal.channel.as_str() {
        SESSION_ENDED => services.sessions.forget(&signal.payload),
        LIVE_SIGNAL => services.notifications.live().relayed(&signal.payload),
        RELEASE_CHANGED => {
            let (platform, app_id) = (platform.clone(), signal.payload);
            tokio::spawn(async move {
                match platform.reload_release(&app_id).await {
                    Ok(()) => {
                        tracing::info!(app = %app_id, "release changed on another host; reloaded")
                    }
                    Err(e) => {
                        tracing::error!(app = %app_id, error = %e, "release changed on another host; not loaded here");
                    }
                }
            });
        }
        OPERATOR_SETTINGS_CHANGED => {
            if let Err(e) = platform.load_operator_settings().await {
                tracing::error!(error = %e, "operator settings changed on another host; not reloaded");
            }
        }
        other => tracing::warn!(channel = other, "unknown store signal ignored"),
    }
}

/// Drops or reloads everything another host may have changed unheard.
async fn resync(platform: &Arc<Platform>) {
    tracing::warn!("store signals may have been missed; reloading sessions, streams and releases");
    platform.services.sessions.forget_all();
    platform.services.notifications.live().all_stale();
    if let Err(e) = platform.load_operator_settings().await {
        tracing::error!(error = %e, "operator settings not reloaded");
    }
    for (app_id, e) in platform.restore_releases().await {
        tracing::error!(app = %app_id, error = %e, "release not reloaded");
    }
}
