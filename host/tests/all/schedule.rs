//! App events through real parts: timers set by a real component, cron
//! ticks from a real manifest, events from a department's system over the
//! department API, all delivered by the host's background tasks to the
//! `schedule-probe` fixture and read back from its storage.

use std::time::{Duration, Instant};

use cityhost::background::Background;
use cityhost::capabilities::bindings::Method;
use cityhost::cli::demo;
use cityhost::gateway::AppRequest;
use cityhost::platform::{HostConfig, Platform};
use serde_json::{Value, json};

use crate::support::{Citizen, TestHost, app_dirs, components, eventually, test_store};

const APP: &str = "schedule-probe";
/// The fixture's department (Zhejiang's big-data bureau).
const BUREAU: &str = "11330000002482146U";

/// The app events the probe recorded.
async fn seen(c: &Citizen) -> Vec<Value> {
    let seen = c.get_json(&format!("/apps/{APP}/seen"), 200).await;
    seen.as_array().unwrap().clone()
}

fn find<'a>(seen: &'a [Value], id: &str) -> Option<&'a Value> {
    seen.iter().find(|e| e["id"] == id)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timer_fires_at_its_time_for_its_citizen_and_a_cancelled_one_never() {
    let host = TestHost::start().await;
    let c = host.demo_citizen("13800000001").await;
    let set_at = Instant::now();
    let soon = c
        .get_json(
            &format!("/apps/{APP}/set?name=remind&in_ms=1500&for_me=1"),
            200,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let later = c
        .get_json(&format!("/apps/{APP}/set?name=remind&in_ms=2000"), 200)
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(soon.starts_with("evt_") && soon != later);
    let cancel = |id: &str| format!("/apps/{APP}/cancel?id={id}");
    assert_eq!(c.get_json(&cancel(&later), 200).await["cancelled"], true);
    assert_eq!(c.get_json(&cancel(&later), 200).await["cancelled"], false);
    assert!(
        find(&seen(&c).await, &soon).is_none(),
        "not before its time"
    );

    eventually("the timer's event", || async {
        find(&seen(&c).await, &soon).is_some()
    })
    .await;
    assert!(
        set_at.elapsed() >= Duration::from_millis(1500),
        "fired early"
    );
    let seen = seen(&c).await;
    let event = find(&seen, &soon).unwrap();
    assert_eq!(event["kind"], "timer.remind");
    assert_eq!(event["payload"], json!({"n": "remind"}));
    let openid = host.openid("13800000001", APP).await;
    assert_eq!(
        event["openid"],
        openid.as_str(),
        "delivered on behalf of its citizen"
    );
    // The cancelled timer's time passes without it.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(find(&self::seen(&c).await, &later).is_none());
    assert_eq!(
        host.platform
            .services
            .events
            .pending_timers(APP)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_timer_event_is_delivered_again_with_the_same_id() {
    let host = TestHost::start().await;
    host.platform
        .services
        .events
        .set_retry_delays(vec![Duration::from_millis(200); 5]);
    let c = host.demo_citizen("13800000001").await;
    let id = c
        .get_json(&format!("/apps/{APP}/set?name=fail-once"), 200)
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    eventually("the second attempt", || async {
        find(&seen(&c).await, &id).is_some()
    })
    .await;
    let seen = seen(&c).await;
    let event = find(&seen, &id).unwrap();
    assert_eq!(event["kind"], "timer.fail-once");
    assert_eq!(event["deliveries"], 1);
    assert_eq!(event["openid"], Value::Null, "a timer for no one");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_timers_are_refused_naming_the_field() {
    let host = TestHost::start().await;
    let c = host.demo_citizen("13800000001").await;
    let refused = |query: String| {
        let c = &c;
        async move {
            let r = c.get(&format!("/apps/{APP}/set?{query}")).await;
            let code = r.status().as_u16();
            (code, r.json::<Value>().await.unwrap()["error"].to_string())
        }
    };
    let (code, error) = refused("name=Remind".into()).await;
    assert_eq!(code, 400);
    assert!(error.contains("name:"), "{error}");
    let big = format!("\"{}\"", "x".repeat(17 * 1024));
    let (code, error) = refused(format!("name=remind&payload={big}")).await;
    assert_eq!(code, 400);
    assert!(error.contains("payload:"), "{error}");
    let next_year = 400 * 24 * 3_600_000u64 + 60_000;
    let (code, error) = refused(format!("name=remind&in_ms={next_year}")).await;
    assert_eq!(code, 400);
    assert!(error.contains("at:"), "{error}");
    assert_eq!(
        host.platform
            .services
            .events
            .pending_timers(APP)
            .await
            .unwrap(),
        0
    );
}

/// A timer set before a restart fires after it, once.
#[tokio::test(flavor = "multi_thread")]
async fn a_timer_survives_a_restart_and_fires_once() {
    let data = tempfile::tempdir().unwrap();
    let config = HostConfig {
        store: test_store().await,
        ..HostConfig::new(data.path())
    };
    let components = tokio::task::spawn_blocking(components).await.unwrap();
    let get = |path: &str| AppRequest {
        method: Method::Get,
        path: path.to_string(),
        query: Vec::new(),
        headers: Vec::new(),
        body: Vec::new(),
    };
    let with_query = |path: &str, query: &[(&str, &str)]| AppRequest {
        query: query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..get(path)
    };

    // First life: the timer is set, due in 1.5 s; the host stops before.
    let id = {
        let platform = Platform::open(&config).await.unwrap();
        let failures = platform.load_apps(&app_dirs(), components).await;
        assert!(failures.is_empty(), "{failures:?}");
        demo::seed(&platform).await.unwrap();
        let app = platform.registry.get(APP).unwrap();
        let request = with_query("/set", &[("name", "remind"), ("in_ms", "1500")]);
        let answer = platform.call_app(&app, None, request).await.unwrap();
        assert_eq!(answer.status, 200);
        let body: Value = serde_json::from_slice(&answer.body).unwrap();
        body["id"].as_str().unwrap().to_string()
    };

    // Second life on the same data: the timer is still pending, then fires.
    let platform = Platform::open(&config).await.unwrap();
    let failures = platform.load_apps(&app_dirs(), components).await;
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(
        platform.services.events.pending_timers(APP).await.unwrap(),
        1
    );
    let _background = Background::start(&platform);
    let app = platform.registry.get(APP).unwrap();
    let seen = || async {
        let answer = platform.call_app(&app, None, get("/seen")).await.unwrap();
        serde_json::from_slice::<Vec<Value>>(&answer.body).unwrap()
    };
    eventually("the timer after the restart", || async {
        find(&seen().await, &id).is_some()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen = seen().await;
    assert_eq!(find(&seen, &id).unwrap()["deliveries"], 1, "{seen:?}");
    assert_eq!(
        platform.services.events.pending_timers(APP).await.unwrap(),
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_departments_system_sends_its_app_the_events_it_accepts() {
    let host = TestHost::start().await;
    let c = host.demo_citizen("13800000001").await;
    let openid = host.openid("13800000001", APP).await;
    let token = host.department_token(BUREAU, &["events"]).await;
    let send = |uscc: &str, app: &str, token: &str, body: Value| {
        let request = reqwest::Client::new()
            .post(format!(
                "{}/api/departments/{uscc}/apps/{app}/events",
                host.base
            ))
            .bearer_auth(token)
            .json(&body);
        async move {
            let r = request.send().await.unwrap();
            let code = r.status().as_u16();
            (code, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let payload = json!({"account": "3301001", "period": "2026-11", "amount_fen": 4120});
    let (code, body) = send(
        BUREAU,
        APP,
        &token,
        json!({"event": "bill-issued", "payload": payload, "openid": openid}),
    )
    .await;
    assert_eq!(code, 202, "{body}");
    let id = body["event_id"].as_str().unwrap().to_string();
    eventually("the department's event", || async {
        find(&seen(&c).await, &id).is_some()
    })
    .await;
    let seen = seen(&c).await;
    let event = find(&seen, &id).unwrap();
    assert_eq!(event["kind"], "department.bill-issued");
    assert_eq!(event["payload"], payload);
    assert_eq!(event["openid"], openid.as_str());

    // Refusals name the field, or say who may not.
    let field = |body: &Value| body["error"]["field"].as_str().map(str::to_string);
    let (code, body) = send(BUREAU, APP, &token, json!({"event": "slot-released"})).await;
    assert_eq!(
        (code, field(&body).as_deref()),
        (400, Some("event")),
        "{body}"
    );
    let (code, body) = send(
        BUREAU,
        APP,
        &token,
        json!({"event": "bill-issued", "openid": "not-an-openid"}),
    )
    .await;
    assert_eq!(
        (code, field(&body).as_deref()),
        (400, Some("openid")),
        "{body}"
    );
    let big = json!({"event": "bill-issued", "payload": {"x": "x".repeat(17 * 1024)}});
    let (code, body) = send(BUREAU, APP, &token, big).await;
    assert_eq!(
        (code, field(&body).as_deref()),
        (400, Some("payload")),
        "{body}"
    );
    let (code, body) = send(
        BUREAU,
        APP,
        &token,
        json!({"event": "bill-issued", "extra": 1}),
    )
    .await;
    assert_eq!(code, 400, "{body}");
    let messages_only = host.department_token(BUREAU, &["messages"]).await;
    let (code, _) = send(BUREAU, APP, &messages_only, json!({"event": "bill-issued"})).await;
    assert_eq!(code, 403);
    const WATER: &str = "91330100143044481D";
    let water = host.department_token(WATER, &["events"]).await;
    let (code, body) = send(BUREAU, APP, &water, json!({"event": "bill-issued"})).await;
    assert_eq!(
        (code, field(&body).as_deref()),
        (403, Some("uscc")),
        "another department's token: {body}"
    );
    let (code, body) = send(WATER, APP, &water, json!({"event": "bill-issued"})).await;
    assert_eq!(
        (code, field(&body).as_deref()),
        (404, Some("app")),
        "not the water company's app: {body}"
    );
}

/// A `* * * * *` schedule reaches the app within a minute (a real minute:
/// the cron task reads the clock).
#[tokio::test(flavor = "multi_thread")]
async fn a_cron_schedule_fires_on_the_minute() {
    let host = TestHost::start().await;
    let c = host.demo_citizen("13800000001").await;
    let ticks = || async {
        seen(&c)
            .await
            .into_iter()
            .filter(|e| e["kind"] == "cron.tick")
            .collect::<Vec<_>>()
    };
    let started = Instant::now();
    while ticks().await.is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(75),
            "no tick within a minute"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let tick = ticks().await.remove(0);
    let scheduled_at = tick["payload"]["scheduled_at"].as_u64().unwrap();
    assert_eq!(scheduled_at % 60_000, 0, "on the minute: {tick}");
    assert_eq!(tick["payload"]["schedule"], "tick");
    assert_eq!(tick["openid"], Value::Null);
}
