//! The host's figures for operators' monitoring, in Prometheus' text
//! exposition format (version 0.0.4) at `GET /metrics` (operator token;
//! docs/observability.md lists every series).
//!
//! Requests and capability calls are counted from the audit records as
//! they are appended ([`cityhost_domain::audit::AuditLog::tap`]): the
//! figures and the audit log never disagree, and a request or call the
//! audit marks `abandoned` is counted as such. Labels carry app ids,
//! releases, capability names and outcomes only — never an openid or any
//! other personal data. Figures of the moment (the instance pool, the
//! instances' memory, the admission queue) are read at each scrape; the
//! process's own come from `/proc` ([`process`]).

use std::time::Duration;

use cityhost_domain::audit::AuditRecord;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

mod process;

pub use process::resident_bytes;

/// The `Content-Type` of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The audit's name for a request or event delivery (its records'
/// `capability`); every other name is a capability call.
const REQUEST: &str = "request";

/// A request's series: the app, the release that answered and the
/// outcome (the HTTP status, `accepted` or `retry` for an event, or the
/// failure: `deadline-exceeded`, `memory-exceeded`, `trapped`,
/// `host-busy`, `response-too-large`, `abandoned`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    app: String,
    release: String,
    outcome: String,
}

/// An app's release.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReleaseLabels {
    app: String,
    release: String,
}

/// A capability call's series: the app, the call (`payment.create-order`,
/// `http.send`) and its outcome (`ok` or the WIT error variant).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    app: String,
    capability: String,
    outcome: String,
}

/// A request's duration (s): 0.5 ms to about 16 s, doubling.
fn request_seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// The host's metrics. Cheap to share (`Arc`); counting takes no lock
/// beyond the families' own.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<ReleaseLabels, Histogram, fn() -> Histogram>,
    calls: Family<CallLabels, Counter>,
    admission_wait: Histogram,
    now: Now,
}

/// The figures of the moment, set at each scrape.
#[derive(Default)]
struct Now {
    pool_slots: Gauge,
    pool_in_use: Gauge,
    waiting: Gauge,
    instance_memory: Gauge,
    instance_memory_budget: Gauge,
    apps: Gauge,
}

/// What [`Metrics::render`] reads of the host at a scrape.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    /// Instance slots of the pool.
    pub pool_slots: u32,
    /// Slots held by running requests.
    pub pool_in_use: usize,
    /// Requests waiting for their turn (admission).
    pub waiting: usize,
    /// Linear memory held by live instances, bytes.
    pub instance_memory_bytes: usize,
    /// The host-wide budget for it, bytes.
    pub instance_memory_budget_bytes: usize,
    /// Apps loaded.
    pub apps: usize,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every series at zero, the process's figures included.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "cityhost_app_requests",
            "Requests and event deliveries to mini-apps, by app, release and outcome",
            requests.clone(),
        );
        let request_seconds =
            Family::<ReleaseLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                request_seconds,
            );
        registry.register_with_unit(
            "cityhost_app_request_duration",
            "Time from a request's arrival at the runtime to its answer, by app and release",
            Unit::Seconds,
            request_seconds.clone(),
        );
        let calls = Family::<CallLabels, Counter>::default();
        registry.register(
            "cityhost_capability_calls",
            "Host capability calls by mini-apps (outbound HTTP is http.send), by app, \
             capability and outcome",
            calls.clone(),
        );
        let admission_wait = Histogram::new(exponential_buckets(0.0001, 4.0, 9));
        registry.register_with_unit(
            "cityhost_admission_wait",
            "Time a request waited for an instance slot and its app's and citizen's turns",
            Unit::Seconds,
            admission_wait.clone(),
        );
        let now = Now::default();
        for (name, help, gauge) in [
            (
                "cityhost_pool_slots",
                "Instance slots of the pool",
                &now.pool_slots,
            ),
            (
                "cityhost_pool_in_use",
                "Instance slots held by running requests",
                &now.pool_in_use,
            ),
            (
                "cityhost_admission_waiting",
                "Requests waiting for their turn",
                &now.waiting,
            ),
            (
                "cityhost_instance_memory_bytes",
                "Linear memory held by live instances",
                &now.instance_memory,
            ),
            (
                "cityhost_instance_memory_budget_bytes",
                "The host-wide budget for instances' linear memory",
                &now.instance_memory_budget,
            ),
            ("cityhost_apps_loaded", "Mini-apps loaded", &now.apps),
        ] {
            registry.register(name, help, gauge.clone());
        }
        registry.register_collector(Box::new(process::Process::new()));
        Self {
            registry,
            requests,
            request_seconds,
            calls,
            admission_wait,
            now,
        }
    }

    /// Counts one appended audit record: a request (with its duration) or
    /// a capability call.
    pub fn record(&self, record: &AuditRecord) {
        if record.capability == REQUEST {
            self.requests
                .get_or_create(&RequestLabels {
                    app: record.app.clone(),
                    release: record.release.clone(),
                    outcome: record.outcome.clone(),
                })
                .inc();
            self.request_seconds
                .get_or_create(&ReleaseLabels {
                    app: record.app.clone(),
                    release: record.release.clone(),
                })
                .observe(record.duration_us as f64 / 1e6);
        } else {
            self.calls
                .get_or_create(&CallLabels {
                    app: record.app.clone(),
                    capability: record.capability.clone(),
                    outcome: record.outcome.clone(),
                })
                .inc();
        }
    }

    /// Counts a request's wait for its turn (admitted or not).
    pub fn admission_waited(&self, wait: Duration) {
        self.admission_wait.observe(wait.as_secs_f64());
    }

    /// The exposition text of every series, with the figures of the
    /// moment from `now` ([`CONTENT_TYPE`]).
    pub fn render(&self, now: Snapshot) -> String {
        let gauge = |g: &Gauge, v: usize| g.set(i64::try_from(v).unwrap_or(i64::MAX));
        gauge(&self.now.pool_slots, now.pool_slots as usize);
        gauge(&self.now.pool_in_use, now.pool_in_use);
        gauge(&self.now.waiting, now.waiting);
        gauge(&self.now.instance_memory, now.instance_memory_bytes);
        gauge(
            &self.now.instance_memory_budget,
            now.instance_memory_budget_bytes,
        );
        gauge(&self.now.apps, now.apps);
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(capability: &str, outcome: &str, duration_us: u64) -> AuditRecord {
        AuditRecord {
            time: 0,
            app: "hello".into(),
            release: "1.0.0".into(),
            openid: Some("o-secret".into()),
            capability: capability.into(),
            outcome: outcome.into(),
            duration_us,
            detail: Vec::new(),
            seq: 0,
            hash: String::new(),
        }
    }

    fn snapshot() -> Snapshot {
        Snapshot {
            pool_slots: 256,
            pool_in_use: 3,
            waiting: 1,
            instance_memory_bytes: 1 << 20,
            instance_memory_budget_bytes: 1 << 30,
            apps: 7,
        }
    }

    #[test]
    fn requests_and_calls_are_counted_by_their_audit_records() {
        let metrics = Metrics::new();
        metrics.record(&record("request", "200", 1_500));
        metrics.record(&record("request", "200", 3_000));
        metrics.record(&record("request", "trapped", 100));
        metrics.record(&record("storage.get", "ok", 10));
        metrics.admission_waited(Duration::from_millis(2));
        let text = metrics.render(snapshot());
        for line in [
            r#"cityhost_app_requests_total{app="hello",release="1.0.0",outcome="200"} 2"#,
            r#"cityhost_app_requests_total{app="hello",release="1.0.0",outcome="trapped"} 1"#,
            r#"cityhost_app_request_duration_seconds_count{app="hello",release="1.0.0"} 3"#,
            r#"cityhost_app_request_duration_seconds_bucket{app="hello",release="1.0.0",le="0.002"} 2"#,
            r#"cityhost_capability_calls_total{app="hello",capability="storage.get",outcome="ok"} 1"#,
            "cityhost_admission_wait_seconds_count 1",
            "cityhost_pool_slots 256",
            "cityhost_pool_in_use 3",
            "cityhost_instance_memory_budget_bytes 1073741824",
            "cityhost_apps_loaded 7",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from:\n{text}"
            );
        }
        assert!(!text.contains("o-secret"), "an openid in a label");
        assert!(text.contains("\nprocess_resident_memory_bytes "), "{text}");
    }
}
