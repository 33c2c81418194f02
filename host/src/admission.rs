//! Admission: which request may start a mini-app instance when many want
//! one. In front of the runtime's instance pool stand three limits, each a
//! fair (first come, first served) semaphore:
//!
//! 1. per citizen: at most [`AdmissionConfig::per_citizen`] of one
//!    citizen's requests run at once, across every app;
//! 2. per app: at most [`AdmissionConfig::per_app`] requests of one app run
//!    at once (host events included), or the operator's cap for that app
//!    ([`Admission::set_app_cap`]);
//! 3. the pool: at most as many requests as the pool has instance slots.
//!
//! A request that finds a limit taken waits in its queue, for at most
//! [`AdmissionConfig::wait`] in all; past that, or when
//! [`AdmissionConfig::max_waiting`] requests already wait, it is refused
//! with [`Busy`] (HTTP 503 with `Retry-After`). So one citizen sending
//! hundreds of slow requests fills only their own queue, one app only its
//! share of the pool, and every other app keeps its slots.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The limits of [`Admission`].
#[derive(Debug, Clone)]
pub struct AdmissionConfig {
    /// Requests of one citizen running at once, across apps: default 8.
    pub per_citizen: usize,
    /// Requests of one app running at once: default 64, a quarter of the
    /// default pool.
    pub per_app: usize,
    /// Longest a request waits for its turn: default 2 s (twice the
    /// default deadline, so a request behind one slow request still runs).
    pub wait: Duration,
    /// Requests that may wait at once, host-wide; one more is refused
    /// without waiting: default 1024.
    pub max_waiting: usize,
}

impl Default for AdmissionConfig {
    fn default() -> Self {
        Self {
            per_citizen: 8,
            per_app: 64,
            wait: Duration::from_secs(2),
            max_waiting: 1024,
        }
    }
}

/// A request was not admitted: its wait passed, or too many wait already.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}; try again in {retry_after_secs} s", limit.describe())]
pub struct Busy {
    /// Which limit held it back.
    pub limit: Limit,
    /// When to try again, in whole seconds (the `Retry-After` header).
    pub retry_after_secs: u64,
}

/// The limit a [`Busy`] request met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The citizen's own requests running at once
    /// ([`AdmissionConfig::per_citizen`]).
    Citizen,
    /// The app's requests running at once ([`AdmissionConfig::per_app`] or
    /// the operator's cap).
    App,
    /// The host's instance slots.
    Pool,
    /// The host-wide number of waiting requests
    /// ([`AdmissionConfig::max_waiting`]).
    Queue,
}

impl Limit {
    /// The limit in a sentence, for the error message.
    fn describe(self) -> &'static str {
        match self {
            Limit::Citizen => "too many of your requests are running at once",
            Limit::App => "this mini-app is at its limit of concurrent requests",
            Limit::Pool | Limit::Queue => {
                "the host is at its limit of concurrent mini-app requests"
            }
        }
    }
}

/// The three limits in front of the instance pool (see the module docs).
pub struct Admission {
    config: AdmissionConfig,
    pool: Arc<Semaphore>,
    /// The pool's permits when none is held.
    pool_slots: usize,
    apps: Keyed,
    citizens: Keyed,
    waiting: AtomicUsize,
}

/// A request's right to run: hold it while the instance lives.
pub struct Admitted {
    _pool: OwnedSemaphorePermit,
    _app: KeyedPermit,
    _citizen: Option<KeyedPermit>,
}

impl Admission {
    /// Limits for a pool of `pool_slots` instance slots.
    pub fn new(config: AdmissionConfig, pool_slots: usize) -> Self {
        Self {
            apps: Keyed::new(config.per_app.max(1)),
            citizens: Keyed::new(config.per_citizen.max(1)),
            pool: Arc::new(Semaphore::new(pool_slots.max(1))),
            pool_slots: pool_slots.max(1),
            waiting: AtomicUsize::new(0),
            config,
        }
    }

    /// Waits for `app`'s turn, and `citizen`'s if the request is a
    /// citizen's, within [`AdmissionConfig::wait`]. Errors: [`Busy`] when
    /// the wait passes or too many requests already wait.
    pub async fn admit(&self, app: &str, citizen: Option<&str>) -> Result<Admitted, Busy> {
        let busy = |limit| Busy {
            limit,
            retry_after_secs: self.config.wait.as_secs().max(1),
        };
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.config.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(busy(Limit::Queue));
        }
        let deadline = Instant::now() + self.config.wait;
        let admitted = async {
            // A citizen's own queue first, so their requests wait without
            // holding a share of the app or the pool.
            let citizen = match citizen {
                Some(id) => Some(
                    self.citizens
                        .acquire(id, deadline)
                        .await
                        .ok_or(busy(Limit::Citizen))?,
                ),
                None => None,
            };
            let app = self
                .apps
                .acquire(app, deadline)
                .await
                .ok_or(busy(Limit::App))?;
            let pool = tokio::time::timeout_at(deadline, self.pool.clone().acquire_owned())
                .await
                .ok()
                .and_then(Result::ok)
                .ok_or(busy(Limit::Pool))?;
            Ok(Admitted {
                _pool: pool,
                _app: app,
                _citizen: citizen,
            })
        }
        .await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        admitted
    }

    /// Sets (`Some`) or removes (`None`) the cap on `app`'s concurrent
    /// requests in place of [`AdmissionConfig::per_app`]. Requests admitted
    /// from now on count against the new cap; those already running finish
    /// under the old one.
    pub fn set_app_cap(&self, app: &str, cap: Option<usize>) {
        self.apps.set_cap(app, cap);
    }

    /// Replaces every app's own cap with `caps` (an app not in it gets
    /// [`AdmissionConfig::per_app`]); caps that do not change are left
    /// alone, with the requests they count.
    pub fn set_app_caps(&self, caps: HashMap<String, usize>) {
        let current = self
            .apps
            .caps
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for app in current.keys().filter(|app| !caps.contains_key(*app)) {
            self.set_app_cap(app, None);
        }
        for (app, cap) in caps {
            if current.get(&app) != Some(&cap.max(1)) {
                self.set_app_cap(&app, Some(cap));
            }
        }
    }

    /// How many of `app`'s requests may run at once: its own cap, or the
    /// default.
    pub fn app_cap(&self, app: &str) -> usize {
        let caps = self.apps.caps.lock().unwrap_or_else(|e| e.into_inner());
        caps.get(app).copied().unwrap_or(self.apps.cap)
    }

    /// The cap of apps without their own ([`AdmissionConfig::per_app`]).
    pub fn default_app_cap(&self) -> usize {
        self.apps.cap
    }

    /// Instance slots held by admitted requests now.
    pub fn in_use(&self) -> usize {
        self.pool_slots - self.pool.available_permits()
    }

    /// Requests waiting for their turn now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }
}

/// One semaphore per key (app id, citizen id), created on first use and
/// removed when its last holder and waiter are gone.
struct Keyed {
    cap: usize,
    /// Caps of single keys in place of `cap`.
    caps: Mutex<HashMap<String, usize>>,
    map: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
}

impl Keyed {
    fn new(cap: usize) -> Self {
        Self {
            cap,
            caps: Mutex::default(),
            map: Arc::default(),
        }
    }

    /// Sets or removes `key`'s own cap; its current semaphore is dropped
    /// from the map, so the next request makes one with the new cap.
    fn set_cap(&self, key: &str, cap: Option<usize>) {
        let mut caps = self.caps.lock().unwrap_or_else(|e| e.into_inner());
        match cap {
            Some(cap) => caps.insert(key.to_string(), cap.max(1)),
            None => caps.remove(key),
        };
        drop(caps);
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    async fn acquire(&self, key: &str, deadline: Instant) -> Option<KeyedPermit> {
        let cap = {
            let caps = self.caps.lock().unwrap_or_else(|e| e.into_inner());
            caps.get(key).copied().unwrap_or(self.cap)
        };
        let semaphore = {
            let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(key.to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(cap)))
                .clone()
        };
        let permit = tokio::time::timeout_at(deadline, semaphore.clone().acquire_owned()).await;
        let mut guard = KeyedPermit {
            permit: None,
            semaphore,
            key: key.to_string(),
            map: self.map.clone(),
        };
        // Without a permit, `guard` drops here and removes an idle entry.
        guard.permit = Some(permit.ok()?.ok()?);
        Some(guard)
    }
}

/// A permit of one key's semaphore; dropping it removes the key's entry
/// when nobody else holds or awaits that semaphore.
struct KeyedPermit {
    permit: Option<OwnedSemaphorePermit>,
    semaphore: Arc<Semaphore>,
    key: String,
    map: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
}

impl Drop for KeyedPermit {
    fn drop(&mut self) {
        drop(self.permit.take());
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        // The map's reference and this one: no holder or waiter is left
        // (each holds a clone), and none can appear while the map is locked.
        if Arc::strong_count(&self.semaphore) == 2
            && map
                .get(&self.key)
                .is_some_and(|s| Arc::ptr_eq(s, &self.semaphore))
        {
            map.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(per_citizen: usize, per_app: usize, wait_ms: u64) -> AdmissionConfig {
        AdmissionConfig {
            per_citizen,
            per_app,
            wait: Duration::from_millis(wait_ms),
            max_waiting: 16,
        }
    }

    #[tokio::test]
    async fn one_citizen_fills_only_their_own_share() {
        let admission = Admission::new(config(2, 10, 50), 4);
        let a = admission.admit("slow", Some("c1")).await.unwrap();
        let b = admission.admit("slow", Some("c1")).await.unwrap();
        // The citizen's third waits, then is refused...
        assert_eq!(
            admission.admit("slow", Some("c1")).await.err(),
            Some(Busy {
                limit: Limit::Citizen,
                retry_after_secs: 1
            })
        );
        assert!(
            Busy {
                limit: Limit::Citizen,
                retry_after_secs: 1
            }
            .to_string()
            .starts_with("too many of your requests are running at once")
        );
        // ...while another citizen and a host event are admitted at once.
        let _c = admission.admit("slow", Some("c2")).await.unwrap();
        let _d = admission.admit("other", None).await.unwrap();
        drop((a, b));
        assert!(admission.admit("slow", Some("c1")).await.is_ok());
    }

    #[tokio::test]
    async fn an_operators_cap_on_one_app_binds_only_that_app() {
        let admission = Admission::new(config(8, 4, 50), 16);
        admission.set_app_cap("costly", Some(1));
        let running = admission.admit("costly", Some("c1")).await.unwrap();
        assert_eq!(
            admission
                .admit("costly", Some("c2"))
                .await
                .err()
                .map(|b| b.limit),
            Some(Limit::App)
        );
        let mut others = Vec::new();
        for i in 0..4 {
            others.push(
                admission
                    .admit("other", Some(&format!("o{i}")))
                    .await
                    .unwrap(),
            );
        }
        // Raised above the default: the app gets more of the pool.
        drop(running);
        admission.set_app_cap("costly", Some(6));
        let mut held = Vec::new();
        for i in 0..6 {
            held.push(
                admission
                    .admit("costly", Some(&format!("c{i}")))
                    .await
                    .unwrap(),
            );
        }
        assert!(admission.admit("costly", Some("c9")).await.is_err());
        // Removed: the default again, for requests admitted from now on.
        drop(held);
        admission.set_app_cap("costly", None);
        let mut held = Vec::new();
        for i in 0..4 {
            held.push(
                admission
                    .admit("costly", Some(&format!("c{i}")))
                    .await
                    .unwrap(),
            );
        }
        assert!(admission.admit("costly", Some("c9")).await.is_err());
    }

    #[tokio::test]
    async fn a_waiting_request_runs_when_a_slot_frees_within_the_wait() {
        let admission = Arc::new(Admission::new(config(8, 8, 2_000), 1));
        let first = admission.admit("a", Some("c1")).await.unwrap();
        let second = {
            let admission = admission.clone();
            tokio::spawn(async move { admission.admit("b", Some("c2")).await.is_ok() })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(admission.waiting(), 1);
        drop(first);
        assert!(second.await.unwrap());
        assert_eq!(admission.waiting(), 0);
    }

    #[tokio::test]
    async fn the_queue_is_bounded_and_idle_keys_are_forgotten() {
        let admission = Arc::new(Admission::new(
            AdmissionConfig {
                max_waiting: 1,
                ..config(1, 1, 1_000)
            },
            1,
        ));
        let held = admission.admit("a", Some("c1")).await.unwrap();
        let waiter = {
            let admission = admission.clone();
            tokio::spawn(async move { admission.admit("a", Some("c1")).await.is_ok() })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        // One waits already: the next is refused without waiting.
        let started = std::time::Instant::now();
        assert_eq!(
            admission
                .admit("a", Some("c3"))
                .await
                .err()
                .map(|b| b.limit),
            Some(Limit::Queue)
        );
        assert!(started.elapsed() < Duration::from_millis(500));
        drop(held);
        assert!(waiter.await.unwrap());
        assert!(admission.apps.map.lock().unwrap().is_empty());
        assert!(admission.citizens.map.lock().unwrap().is_empty());
    }
}
