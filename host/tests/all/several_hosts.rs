//! Three hosts sharing one PostgreSQL database, as behind a load balancer:
//! a citizen signed in on one is signed in on all, a logout on one ends
//! the session on every host, a message sent through one reaches the
//! citizen's live stream held by another, a release made on one is served
//! by the others, an operator's cap set on one holds on all, each event is
//! delivered once though every host runs a delivery task, and a fee paid
//! on one host is receipted live on a stream held by another.

use std::time::{Duration, Instant};

use cityhost::platform::{HostConfig, Platform, StoreConfig};
use cityhost_store_postgres::testing::fresh_database;
use serde_json::{Value, json};

use crate::notifications::{EventStream, ask_to_move, data};
use crate::support::{Citizen, TestHost, actions};

/// Waits until `check` holds, up to `limit`; returns how long it took.
pub(crate) async fn within<F, Fut>(limit: Duration, what: &str, mut check: F) -> Duration
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

/// The session token a response's `Set-Cookie` hands out, if any.
pub(crate) fn session_cookie(response: &reqwest::Response) -> Option<String> {
    crate::support::set_cookie(response, "cityhost_session").filter(|token| !token.is_empty())
}

/// Whether `host` takes this session token as a signed-in citizen's.
pub(crate) async fn session_live(host: &TestHost, token: &str) -> bool {
    reqwest::Client::new()
        .get(format!("{}/api/me", host.base))
        .header("cookie", format!("cityhost_session={token}"))
        .send()
        .await
        .unwrap()
        .status()
        == 200
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_hosts_on_one_database_serve_as_one_platform() {
    let [a, b, c] = three_hosts().await;

    // Registered on A, signed in on B and C (each caches the session).
    let citizen = a.client();
    let r = citizen.register("13900000041", "a good password").await;
    assert_eq!(r.status(), 201);
    let session = session_cookie(&r).expect("a session cookie");
    let (on_b, on_c) = (citizen.at(&b.base), citizen.at(&c.base));
    assert!(signed_in(&on_b).await && signed_in(&on_c).await);
    assert!(session_live(&b, &session).await && session_live(&c, &session).await);

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

    // Logout on A ends the session on B and C within a second (asked
    // with the token itself: the logout also empties the client's jar).
    let r = citizen
        .post_json("/api/logout", &serde_json::json!({}))
        .await;
    assert_eq!(r.status(), 204);
    let logout = within(
        Duration::from_secs(1),
        "logout reaching B and C",
        || async { !session_live(&b, &session).await && !session_live(&c, &session).await },
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
    let after = a.stable_version("probe");
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

/// One citizen's journey over the three hosts: registered on A, pays a
/// school fee on B in the payment sheet, gets the school's receipt live on
/// an inbox stream held by C, and logs out on A, which signs them out on B
/// and C and ends C's stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fee_paid_on_one_host_is_receipted_live_on_another() {
    let [a, b, c] = three_hosts().await;
    let started = Instant::now();
    let phone = "13900000042";
    let password = "a good password";

    // Registered on A (an SMS code, phone-verified at level 1), signed in
    // on B and C.
    let citizen = a.client();
    let r = citizen.register(phone, password).await;
    assert_eq!(r.status(), 201);
    let session = session_cookie(&r).expect("a session cookie");
    let (on_b, on_c) = (citizen.at(&b.base), citizen.at(&c.base));
    assert_eq!(on_c.get_json("/api/me", 200).await["assurance_level"], 1);
    assert!(signed_in(&on_b).await);
    assert!(session_live(&b, &session).await && session_live(&c, &session).await);

    // The inbox stream, held open on C.
    let mut stream = EventStream::open(&citizen, &c.base, None).await;
    let ready = stream.expect("ready", Duration::from_secs(5)).await;
    assert_eq!(data(&ready)["unread"], 0);

    // The operator tops up the new citizen's card (through A).
    let r = reqwest::Client::new()
        .post(format!("{}/api/operator/topups", a.base))
        .bearer_auth(&a.platform.operator_token)
        .json(&json!({"phone": phone, "amount_fen": 100_000}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    // On B: the pupil's fees, the boarding fee's order, the payment sheet
    // (the order, the account, a PIN set once) and the confirmation.
    let fees = on_b.get_json("/apps/tuition/fees?pupil=2026001", 200).await;
    let pay = actions(&fees, "post")
        .into_iter()
        .find(|a| a["path"] == "/pay" && a["body"]["item"] == "boarding")
        .expect("a pay button for the boarding fee")
        .clone();
    let form: Vec<(&str, &str)> = ["pupil", "item"]
        .into_iter()
        .map(|k| (k, pay["body"][k].as_str().unwrap()))
        .collect();
    let r = on_b.post_form("/apps/tuition/pay", &form).await;
    assert_eq!(r.status(), 200);
    let checkout: Value = r.json().await.unwrap();
    let order_id = actions(&checkout, "pay")[0]["order_id"]
        .as_str()
        .expect("a button opening the payment sheet")
        .to_string();
    let order = on_b.get_json(&format!("/api/orders/{order_id}"), 200).await;
    assert_eq!(
        (order["state"].as_str(), order["amount_fen"].as_u64()),
        (Some("created"), Some(80_000))
    );
    let account = on_b.get_json("/api/payment/account", 200).await;
    assert_eq!(account["balance_fen"], 100_000);
    assert_eq!(account["pin"]["set"], false);
    let r = on_b
        .post_json("/api/payment/pin", &json!({"pin": "582046"}))
        .await;
    assert_eq!(r.status(), 201);
    let r = on_b
        .post_json(
            &format!("/api/orders/{order_id}/confirm"),
            &json!({"order_id": order_id, "pin": "582046"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let paid = Instant::now();
    assert_eq!(r.json::<Value>().await.unwrap()["state"], "paid");

    // The school's receipt, sent by its app when the payment event is
    // delivered (by whichever host claims it), reaches the stream on C.
    let pushed = stream.expect("message", Duration::from_secs(10)).await;
    let receipt_latency = paid.elapsed();
    let message = &data(&pushed)["message"];
    assert_eq!(message["app_id"], "tuition");
    assert_eq!(message["template"], "paid");
    assert_eq!(message["title"], "缴费成功");
    let body = message["body"].as_str().unwrap();
    assert!(
        body.contains("2026001") && body.contains("住宿费"),
        "{body}"
    );
    assert_eq!(data(&pushed)["unread"], 1);
    // C serves the paid order and the debited card; the school's page
    // shows the fee paid.
    assert_eq!(
        on_c.get_json(&format!("/api/orders/{order_id}"), 200).await["state"],
        "paid"
    );
    assert_eq!(
        on_c.get_json("/api/payment/account", 200).await["balance_fen"],
        20_000
    );
    let fees = on_c.get_json("/apps/tuition/fees?pupil=2026001", 200).await;
    assert!(
        actions(&fees, "post")
            .iter()
            .all(|a| !(a["path"] == "/pay" && a["body"]["item"] == "boarding")),
        "the boarding fee still has a pay button: {fees}"
    );

    // Logout on A revokes the session on B and C: the session cookie,
    // sent again as a copy of it would be (the browser's own jar has
    // dropped it), is refused there.
    let r = citizen.post_json("/api/logout", &json!({})).await;
    assert_eq!(r.status(), 204);
    let logout = within(
        Duration::from_secs(1),
        "logout reaching B and C",
        || async { !session_live(&b, &session).await && !session_live(&c, &session).await },
    )
    .await;
    assert!(!signed_in(&on_b).await && !signed_in(&on_c).await);

    // Signed in again (a new session, on A), the citizen reads the receipt
    // on B: C's stream, opened with the revoked session, ends rather than
    // carrying the news.
    let r = citizen
        .post_json("/api/login", &json!({"phone": phone, "password": password}))
        .await;
    assert_eq!(r.status(), 200);
    let id = message["id"].as_str().unwrap();
    let r = on_b
        .post_json(&format!("/api/inbox/{id}/read"), &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let after = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("C's stream ends after the logout");
    assert!(
        after.is_none(),
        "a revoked session's stream carried {after:?}"
    );

    eprintln!(
        "across hosts: tuition receipt on another host's stream {receipt_latency:?} \
         after the payment's answer, logout {logout:?}; journey {:?}",
        started.elapsed()
    );
}
