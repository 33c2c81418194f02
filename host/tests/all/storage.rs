//! Storage that cannot double-book: the `storage` capability's atomic
//! operations and expiry, and `citizen-storage`, driven over HTTP through
//! the probe fixture's routes by signed-in citizens.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::support::{Citizen, TestHost};

/// `n` freshly registered, signed-in citizens (phones `139008xxxxx`).
async fn citizens(host: &TestHost, first: u32, n: u32) -> Vec<Citizen> {
    let mut all = Vec::new();
    for i in 0..n {
        all.push(host.new_citizen(&format!("1390080{:04}", first + i)).await);
    }
    all
}

/// Status and body text of a form POST.
async fn post(c: &Citizen, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let r = c.post_form(path, form).await;
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Status and body text of a GET.
async fn get(c: &Citizen, path: &str) -> (u16, String) {
    let r = c.get(path).await;
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twelve_citizens_racing_for_one_slot_leave_exactly_one_booking() {
    let host = TestHost::start().await;
    let racers = citizens(&host, 0, 12).await;
    let mut winners = Vec::new();
    for round in 0..100 {
        let slot = format!("s{round:03}");
        let calls = racers.iter().enumerate().map(|(i, c)| {
            let slot = slot.clone();
            async move {
                let who = format!("c{i:02}");
                let form = [("slot", slot.as_str()), ("who", who.as_str())];
                let r = c.post_form("/apps/probe/book", &form).await;
                (i, r.status().as_u16(), r.text().await.unwrap())
            }
        });
        let answers = futures_util::future::join_all(calls).await;
        let won: Vec<usize> = answers
            .iter()
            .filter(|(_, status, _)| *status == 200)
            .map(|(i, _, _)| *i)
            .collect();
        assert_eq!(won.len(), 1, "round {round}: {answers:?}");
        for (i, status, body) in &answers {
            if *i != won[0] {
                assert_eq!((*status, body.as_str()), (409, "taken"), "round {round}");
            }
        }
        // The slot holds the winner, as the app's storage says.
        let key = format!("slot:{slot}");
        let stored = get(&racers[0], &format!("/apps/probe/kv/get?key={key}")).await;
        assert_eq!(stored, (200, format!("c{:02}", won[0])), "round {round}");
        winners.push(won[0]);
    }
    // Each winner, and only the winner, noted the slot in their own
    // storage: the citizens' namespaces together hold each slot once.
    let mut noted = BTreeSet::new();
    for (i, c) in racers.iter().enumerate() {
        let (status, body) = get(c, "/apps/probe/me/get?key=booking").await;
        let wins: Vec<usize> = (0..100).filter(|r| winners[*r] == i).collect();
        match wins.last() {
            Some(last) => assert_eq!((status, body), (200, format!("s{last:03}"))),
            None => assert_eq!(status, 404, "citizen {i} won nothing"),
        }
        noted.extend(wins);
    }
    assert_eq!(noted.len(), 100);
    let slots: Vec<String> =
        serde_json::from_str(&get(&racers[0], "/apps/probe/kv/list?prefix=slot:").await.1).unwrap();
    assert_eq!(slots.len(), 100);
}

#[tokio::test(flavor = "multi_thread")]
async fn compare_and_swap_refuses_a_stale_version() {
    let host = TestHost::start().await;
    let c = host.demo_citizen("13800000001").await;
    let (status, v1) = post(&c, "/apps/probe/kv/cas", &[("key", "k"), ("value", "a")]).await;
    assert_eq!(status, 200);
    // Present now: "only if absent" loses.
    let again = post(&c, "/apps/probe/kv/cas", &[("key", "k"), ("value", "b")]).await;
    assert_eq!(again, (409, "conflict".into()));
    let form = [("key", "k"), ("value", "b"), ("expected", v1.as_str())];
    let (status, v2) = post(&c, "/apps/probe/kv/cas", &form).await;
    assert_eq!(status, 200);
    assert_ne!(v1, v2);
    // The version read before the last write is stale.
    let form = [("key", "k"), ("value", "c"), ("expected", v1.as_str())];
    assert_eq!(
        post(&c, "/apps/probe/kv/cas", &form).await,
        (409, "conflict".into())
    );
    let now: Value =
        serde_json::from_str(&get(&c, "/apps/probe/kv/versioned?key=k").await.1).unwrap();
    assert_eq!(
        now,
        json!({"value": "b", "version": v2.parse::<u64>().unwrap()})
    );
    // Absent key with an expected version: a conflict, not a write.
    let form = [("key", "none"), ("value", "x"), ("expected", v2.as_str())];
    assert_eq!(
        post(&c, "/apps/probe/kv/cas", &form).await,
        (409, "conflict".into())
    );
    assert_eq!(get(&c, "/apps/probe/kv/get?key=none").await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_increments_each_see_a_distinct_count() {
    let host = TestHost::start().await;
    let racers = citizens(&host, 100, 12).await;
    let calls = racers.iter().flat_map(|c| {
        (0..10).map(move |_| async move {
            post(
                c,
                "/apps/probe/kv/incr",
                &[("key", "visits"), ("delta", "1")],
            )
            .await
        })
    });
    let answers = futures_util::future::join_all(calls).await;
    let counts: BTreeSet<i64> = answers
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, 200, "{body}");
            body.parse().unwrap()
        })
        .collect();
    assert_eq!(counts, (1..=120).collect());
    assert_eq!(
        get(&racers[0], "/apps/probe/kv/get?key=visits").await,
        (200, "120".into())
    );
    let down = post(
        &racers[0],
        "/apps/probe/kv/incr",
        &[("key", "visits"), ("delta", "-20")],
    );
    assert_eq!(down.await, (200, "100".into()));
    // A value that is not a counter is refused, naming it.
    post(
        &racers[0],
        "/apps/probe/kv/set",
        &[("key", "text"), ("value", "abc")],
    )
    .await;
    let (status, body) = post(
        &racers[0],
        "/apps/probe/kv/incr",
        &[("key", "text"), ("delta", "1")],
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("value"), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_is_all_or_nothing() {
    let host = TestHost::start().await;
    let c = host.demo_citizen("13800000001").await;
    let (_, held) = post(&c, "/apps/probe/kv/put", &[("key", "held"), ("value", "v")]).await;
    let batch = async |ops: Value| {
        let r = c.post_json("/apps/probe/kv/batch", &ops).await;
        (r.status().as_u16(), r.text().await.unwrap())
    };
    // The second condition fails: the first write is not made either.
    let (status, body) = batch(json!([
        {"key": "a", "put": "1", "if_absent": true},
        {"key": "held", "put": "2", "if_absent": true},
    ]))
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"failed": 1})
    );
    assert_eq!(get(&c, "/apps/probe/kv/get?key=a").await.0, 404);
    assert_eq!(
        get(&c, "/apps/probe/kv/get?key=held").await,
        (200, "v".into())
    );
    // With the right version every write is made at once.
    let (status, body) = batch(json!([
        {"key": "a", "put": "1", "if_absent": true},
        {"key": "held", "delete": true, "if_version": held.parse::<u64>().unwrap()},
    ]))
    .await;
    assert_eq!(status, 200, "{body}");
    let outcome: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(outcome["applied"][1], 0, "{outcome}");
    assert_eq!(get(&c, "/apps/probe/kv/get?key=a").await, (200, "1".into()));
    assert_eq!(get(&c, "/apps/probe/kv/get?key=held").await.0, 404);
    // A key twice, or more than 64 operations: refused, naming `ops`.
    let (status, body) = batch(json!([{"key": "x", "put": "1"}, {"key": "x", "put": "2"}])).await;
    assert_eq!(status, 400);
    assert!(body.contains("ops"), "{body}");
    let many: Vec<Value> = (0..65)
        .map(|i| json!({"key": format!("k{i}"), "put": "v"}))
        .collect();
    assert_eq!(batch(Value::Array(many)).await.0, 400);
    assert_eq!(get(&c, "/apps/probe/kv/get?key=k0").await.0, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_keys_vanish_from_reads_and_lists() {
    let host = TestHost::start().await;
    let c = host.demo_citizen("13800000001").await;
    let form = [("key", "ttl:short"), ("value", "soon gone"), ("ttl", "1")];
    assert_eq!(post(&c, "/apps/probe/kv/put", &form).await.0, 200);
    let form = [("key", "ttl:long"), ("value", "stays"), ("ttl", "3600")];
    assert_eq!(post(&c, "/apps/probe/kv/put", &form).await.0, 200);
    assert_eq!(
        get(&c, "/apps/probe/kv/get?key=ttl:short").await,
        (200, "soon gone".into())
    );
    let usage = async || host.platform.services.storage.usage("probe").await.unwrap();
    let before = usage().await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(get(&c, "/apps/probe/kv/get?key=ttl:short").await.0, 404);
    assert_eq!(
        get(&c, "/apps/probe/kv/versioned?key=ttl:short").await.0,
        404
    );
    let list = get(&c, "/apps/probe/kv/list?prefix=ttl:").await.1;
    assert_eq!(
        serde_json::from_str::<Value>(&list).unwrap(),
        json!(["ttl:long"])
    );
    // The expired key is absent for insert-if-absent too, and the next
    // write reclaimed its bytes.
    let claim = post(
        &c,
        "/apps/probe/kv/cas",
        &[("key", "ttl:short"), ("value", "new")],
    )
    .await;
    assert_eq!(claim.0, 200);
    let reclaimed = "ttl:short".len() + "soon gone".len();
    let added = "ttl:short".len() + "new".len();
    assert_eq!(usage().await, before - reclaimed as u64 + added as u64);
    // A TTL of 0 is refused, naming the field.
    let form = [("key", "k"), ("value", "v"), ("ttl", "0")];
    let (status, body) = post(&c, "/apps/probe/kv/put", &form).await;
    assert_eq!(status, 400);
    assert!(body.contains("ttl-seconds"), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn each_citizen_has_their_own_namespace_and_quota() {
    let host = TestHost::start().await;
    let mut both = citizens(&host, 200, 2).await.into_iter();
    let (alice, bob) = (both.next().unwrap(), both.next().unwrap());
    let put = [("key", "note"), ("value", "alice's")];
    assert_eq!(post(&alice, "/apps/probe/me/put", &put).await.0, 200);
    assert_eq!(
        get(&alice, "/apps/probe/me/get?key=note").await,
        (200, "alice's".into())
    );
    // Bob's namespace and the app's own storage do not have it.
    assert_eq!(get(&bob, "/apps/probe/me/get?key=note").await.0, 404);
    assert_eq!(get(&bob, "/apps/probe/me/list").await, (200, "[]".into()));
    assert_eq!(get(&alice, "/apps/probe/kv/get?key=note").await.0, 404);
    let put = [("key", "note"), ("value", "bob's")];
    assert_eq!(post(&bob, "/apps/probe/me/put", &put).await.0, 200);
    assert_eq!(
        get(&alice, "/apps/probe/me/get?key=note").await,
        (200, "alice's".into())
    );
    // (Without a signed-in citizen the gateway answers 401 before the app
    // runs; a call without one is refused in the capability's own tests.)

    // 256 KiB per citizen: 200 KiB fit, 100 KiB more do not; Bob's
    // quota is his own.
    let big = "x".repeat(200 << 10);
    let put = [("key", "big"), ("value", big.as_str())];
    assert_eq!(post(&alice, "/apps/probe/me/put", &put).await.0, 200);
    let more = "x".repeat(100 << 10);
    let put = [("key", "more"), ("value", more.as_str())];
    let (status, body) = post(&alice, "/apps/probe/me/put", &put).await;
    assert_eq!(status, 429);
    assert!(body.contains("citizen-storage"), "{body}");
    assert_eq!(post(&bob, "/apps/probe/me/put", &put).await.0, 200);

    // The host can list and erase everything Alice stored, Bob's kept.
    let services = &host.platform.services;
    let alice_id = services
        .accounts
        .by_phone("13900800200")
        .await
        .unwrap()
        .unwrap()
        .id;
    let entries = services.storage.citizen_entries(&alice_id).await.unwrap();
    let keys: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e.app_id.as_str(), e.key.as_str()))
        .collect();
    assert_eq!(keys, [("probe", "big"), ("probe", "note")]);
    assert_eq!(services.storage.erase_citizen(&alice_id).await.unwrap(), 2);
    assert_eq!(get(&alice, "/apps/probe/me/get?key=note").await.0, 404);
    assert_eq!(
        get(&bob, "/apps/probe/me/get?key=note").await,
        (200, "bob's".into())
    );
}
