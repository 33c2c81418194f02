//! `GET /metrics`: the host's figures in Prometheus' text format, for the
//! operator only, counted from the same audit records operators read:
//! requests by outcome with their durations, failures by cause,
//! capability calls by outcome, the instance pool and the process.

use reqwest::Client;

use crate::support::TestHost;

/// The value of the series named exactly `series` (name and labels) in
/// the exposition `text`.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{series} is not in\n{text}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_requests_failures_and_calls_for_the_operator_alone() {
    let host = TestHost::start().await;
    let citizen = host.demo_citizen("13800000001").await;
    for _ in 0..3 {
        assert_eq!(citizen.get("/apps/probe/ok").await.status(), 200);
    }
    assert_eq!(citizen.get("/apps/probe/trap").await.status(), 502);
    // Two storage reads.
    let r = citizen.get("/apps/probe/events?out_trade_no=m1").await;
    assert_eq!(r.status(), 200);

    let url = format!("{}/metrics", host.base);
    let r = Client::new().get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = citizen.get("/metrics").await;
    assert_eq!(r.status(), 401, "a citizen's session is no operator's");
    let r = Client::new()
        .get(&url)
        .bearer_auth(&host.platform.operator_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let content_type = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = r.text().await.unwrap();

    let release = host.stable_version("probe");
    let labels = format!(r#"app="probe",release="{release}""#);
    let requests = |outcome: &str| {
        value(
            &text,
            &format!("cityhost_app_requests_total{{{labels},outcome=\"{outcome}\"}}"),
        )
    };
    assert_eq!(requests("200"), 4.0);
    assert_eq!(requests("trapped"), 1.0);
    let count = format!("cityhost_app_request_duration_seconds_count{{{labels}}}");
    assert_eq!(value(&text, &count), 5.0);
    let inf = format!("cityhost_app_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}}");
    assert_eq!(value(&text, &inf), 5.0);
    let reads =
        r#"cityhost_capability_calls_total{app="probe",capability="storage.get",outcome="ok"}"#;
    assert_eq!(value(&text, reads), 2.0);
    assert!(value(&text, "cityhost_admission_wait_seconds_count") >= 5.0);

    let runtime = &host.platform.runtime;
    assert_eq!(
        value(&text, "cityhost_pool_slots"),
        f64::from(runtime.pool_slots())
    );
    assert_eq!(value(&text, "cityhost_pool_in_use"), 0.0);
    assert_eq!(value(&text, "cityhost_admission_waiting"), 0.0);
    assert_eq!(
        value(&text, "cityhost_apps_loaded"),
        host.platform.registry.len() as f64
    );
    assert!(value(&text, "process_resident_memory_bytes") > f64::from(1u32 << 20));
    assert!(value(&text, "process_cpu_seconds_total") > 0.0);

    // No personal data in any label.
    let openid = host.openid("13800000001", "probe").await;
    assert!(!text.contains(&openid));
    assert!(!text.contains("13800000001"));
}
