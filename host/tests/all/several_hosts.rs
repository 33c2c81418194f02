//! Three hosts sharing one PostgreSQL database, as behind a load balancer:
//! a citizen signed in on one is signed in on all, a logout on one ends
//! the session on every host, a message sent through one reaches the
//! citizen's live stream held by another, a release made on one is served
//! by the others, an operator's cap set on one holds on all, and each event is delivered once though every host runs
//! a delivery task.

use std::time::{Duration, Instant};

use cityhost::platform::{HostConfig, Platform, StoreConfig};
use cityhost_store_postgres::testing::fresh_database;
use serde_json::Value;

use crate::notifications::{EventStream, ask_to_move, data};
use crate::support::{Citizen, TestHost};

/// Waits until `check` holds, up to `limit`; returns how long it took.
async fn within<F, Fut>(limit: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    start.elapsed()
}

async fn three_hosts() -> [TestHost; 3] {
    let url = fresh_database().await;
    let a = TestHost::start_sharing(&url, None).await;
    let b = TestHost::start_sharing(&url, Some(&a)).await;
    let c = TestHost::start_sharing(&url, Some(&a)).await;
    // A host with keys of its own is refused: its openids, sessions and
    // sealed identity numbers would not match the others'.
    let stranger = tempfile::tempdir().unwrap();
    let config = HostConfig {
        store: StoreConfig::Postgres(url),
        ..HostConfig::new(stranger.path())
    };
    let refused = Platform::open(&config).await.err().expect("refused");
    assert!(refused.to_string().contains("copy keys/"), "{refused}");
    [a, b, c]
}

async fn signed_in(citizen: &Citizen) -> bool {
    citizen.get("/api/me").await.status() == 200
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_hosts_on_one_database_serve_as_one_platform() {
    let [a, b, c] = three_hosts().await;

    // Registered on A, signed in on B and C (each caches the session).
    let citizen = a.new_citizen("13900000041").await;
    let (on_b, on_c) = (citizen.at(&b.base), citizen.at(&c.base));
    assert!(signed_in(&on_b).await && signed_in(&on_c).await);

    // A message asked for through B reaches the owner's stream held by C.
    let owner = c.demo_citizen("13800000002").await;
    let mut stream = EventStream::open(&owner, &c.base, None).await;
    stream.expect("ready", Duration::from_secs(5)).await;
    let requester = b.demo_citizen("13800000001").await;
    let asked = Instant::now();
    ask_to_move(&requester, "浙A12345").await;
    let pushed = stream.expect("message", Duration::from_secs(1)).await;
    assert_eq!(data(&pushed)["message"]["template"], "move-request");
    let live = asked.elapsed();
    // Reading it on A updates the count on C's stream.
    let id = data(&pushed)["message"]["id"].as_str().unwrap().to_string();
    let r = owner
        .at(&a.base)
        .post_json(&format!("/api/inbox/{id}/read"), &serde_json::json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let unread = stream.expect("unread", Duration::from_secs(1)).await;
    assert_eq!(data(&unread)["unread"], 0);

    // Logout on A ends the session on B and C within a second.
    let r = citizen
        .post_json("/api/logout", &serde_json::json!({}))
        .await;
    assert_eq!(r.status(), 204);
    let logout = within(
        Duration::from_secs(1),
        "logout reaching B and C",
        || async { !signed_in(&on_b).await && !signed_in(&on_c).await },
    )
    .await;

    // A release made on A is served by C.
    let version = |r: &reqwest::Response| {
        r.headers()
            .get("x-cityhost-release")
            .map(|v| v.to_str().unwrap().to_string())
    };
    let before = version(&owner.get("/apps/probe/").await);
    a.republish_fixture("probe", |text| text).await;
    let released = Instant::now();
    let after = a
        .platform
        .registry
        .get("probe")
        .unwrap()
        .manifest
        .version
        .clone();
    assert_ne!(before.as_deref(), Some(after.as_str()));
    let reload = within(Duration::from_secs(5), "the release reaching C", || async {
        version(&owner.get("/apps/probe/").await).as_deref() == Some(after.as_str())
    })
    .await;
    let _ = released;

    // An operator's concurrency cap set on B holds on A and C.
    let r = reqwest::Client::new()
        .put(format!("{}/api/operator/apps/probe/concurrency", b.base))
        .bearer_auth(&b.platform.operator_token)
        .json(&serde_json::json!({"max": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cap = within(
        Duration::from_secs(1),
        "the cap reaching A and C",
        || async {
            a.platform.admission.app_cap("probe") == 3 && c.platform.admission.app_cap("probe") == 3
        },
    )
    .await;
    eprintln!(
        "across hosts: live message {live:?}, logout {logout:?}, release {reload:?}, cap {cap:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_event_is_delivered_once_though_every_host_delivers() {
    let [a, b, c] = three_hosts().await;
    const EVENTS: usize = 40;
    let outbox = &a.platform.services.events;
    let mut ids = Vec::new();
    for i in 0..EVENTS {
        let id = outbox
            .stage_app_event(
                "schedule-probe",
                cityhost::events::Source::Department,
                "bill-issued",
                format!("{{\"n\":{i}}}"),
                None,
            )
            .await
            .unwrap();
        ids.push(id);
    }
    // Every host looks at the outbox at once. An attempt the app refuses
    // (under this contention its storage calls may run out of retries) is
    // tried again soon rather than in minutes; a second *successful*
    // delivery is what must not happen.
    for host in [&a, &b, &c] {
        let events = &host.platform.services.events;
        events.set_retry_delays(vec![Duration::from_millis(200); 7]);
        events.wake();
    }
    let reader = a.demo_citizen("13800000001").await;
    let seen = || async {
        let seen = reader.get_json("/apps/schedule-probe/seen", 200).await;
        seen.as_array().unwrap().clone()
    };
    within(Duration::from_secs(20), "every event delivered", || async {
        let seen = seen().await;
        ids.iter()
            .all(|id| seen.iter().any(|e| e["id"] == id.as_str()))
    })
    .await;
    // Give any second attempt time to land, then count.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for event in seen().await {
        assert_eq!(
            event["deliveries"],
            Value::from(1),
            "delivered twice: {event}"
        );
    }
}

/// A host that claimed an event and died before its attempt (here: claimed
/// it and never attempted) leaves it to the others when the lease ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_event_claimed_by_a_host_that_died_is_delivered_by_another() {
    let [mut a, b, _c] = three_hosts().await;
    // A's own delivery task must not take the event: A "dies" (its tasks
    // stop) once it has claimed it.
    a.stop_background();
    let outbox = &a.platform.services.events;
    outbox.set_claim_lease(Duration::from_secs(2));
    // (B or C may, rarely, claim a new event in the moment before A does:
    // then try another.)
    let mut attempt = None;
    for _ in 0..5 {
        let id = outbox
            .stage_app_event(
                "schedule-probe",
                cityhost::events::Source::Department,
                "bill-issued",
                "{}".into(),
                None,
            )
            .await
            .unwrap();
        let due = outbox.due(64).await.unwrap();
        if let Some(due) = due.into_iter().find(|d| d.event.id == id)
            && let Some(claimed) = outbox.claim(&due).await.unwrap()
        {
            attempt = Some((id, claimed));
            break;
        }
    }
    let (id, claimed) = attempt.expect("A claims an event");
    // B sees nothing due until the lease ends, then delivers it once.
    let reader = b.demo_citizen("13800000001").await;
    let seen = || async {
        let seen = reader.get_json("/apps/schedule-probe/seen", 200).await;
        seen.as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == id.as_str())
            .cloned()
    };
    assert!(seen().await.is_none(), "delivered while A held the claim");
    let waited = within(
        Duration::from_secs(10),
        "B delivering A's claimed event",
        || async { seen().await.is_some() },
    )
    .await;
    assert_eq!(seen().await.unwrap()["deliveries"], Value::from(1));
    // A, back too late, finds its claim gone and changes nothing.
    assert!(outbox.claim(&claimed).await.unwrap().is_none());
    eprintln!("a dead host's claimed event delivered by another after {waited:?}");
}
