//! Components built against an earlier contract keep running: the probe as
//! built against `cityhost:miniapp@0.1.0` (`host/tests/contract-0.1.0/`),
//! loaded beside the current apps and called through every capability it
//! imports.

use cityhost::manifest::Manifest;
use cityhost::registry;

use std::time::Duration;

use cityhost::cli::demo;
use serde_json::json;

use crate::support::{Citizen, TestHost, eventually, workspace};

/// Pays `order_id` as `citizen` with the demo PIN.
async fn confirm(citizen: &Citizen, order_id: &str) {
    let r = citizen
        .post_json(
            &format!("/api/orders/{order_id}/confirm"),
            &json!({"order_id": order_id, "pin": demo::DEMO_PIN}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_component_built_against_contract_0_1_0_loads_and_runs() {
    let host = TestHost::start().await;
    let dir = workspace().join("host/tests/contract-0.1.0");
    let bytes = std::fs::read(dir.join("probe.wasm")).unwrap();
    for import in ["storage", "log", "payment"] {
        let name = format!("cityhost:miniapp/{import}@0.1.0");
        assert!(
            bytes.windows(name.len()).any(|w| w == name.as_bytes()),
            "the fixture imports {name}"
        );
    }
    let manifest = Manifest::load(&dir.join("cityhost.toml")).unwrap();
    let p = &host.platform;
    let app = registry::load_app(&p.runtime, &p.services.directory, manifest, &bytes)
        .await
        .unwrap();
    p.registry.install(app);

    let c = host.demo_citizen("13800000001").await;
    let r = c.get("/apps/probe-v0-1/ok").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "ok");
    let r = c
        .post_form("/apps/probe-v0-1/kv/set", &[("key", "k"), ("value", "v1")])
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    let r = c.get("/apps/probe-v0-1/kv/get?key=k").await;
    assert_eq!(r.text().await.unwrap(), "v1");
    let r = c.get("/apps/probe-v0-1/log?n=2").await;
    assert_eq!(r.text().await.unwrap(), "logged 2");
    let order = c
        .get_json("/apps/probe-v0-1/pay?out_trade_no=v01-1&amount_fen=5", 200)
        .await;
    assert_eq!(order["state"], "created");
    assert_eq!(order["amount_fen"], 5);
    // A capability error still arrives as the 0.1.0 error variant.
    let r = c
        .get("/apps/probe-v0-1/pay?out_trade_no=v01-2&amount_fen=0")
        .await;
    assert_eq!(r.status(), 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn events_reach_the_events_export_typed_and_a_refusal_is_retried() {
    let host = TestHost::start().await;
    host.platform
        .services
        .events
        .set_retry_delays(vec![Duration::from_millis(100); 20]);
    let c = host.demo_citizen("13800000001").await;
    for no in ["typed-1", "refuse-1"] {
        let order = c
            .get_json(
                &format!("/apps/probe/pay?out_trade_no={no}&amount_fen=7"),
                200,
            )
            .await;
        confirm(&c, order["order_id"].as_str().unwrap()).await;
    }
    let deliveries = |no: &'static str| {
        let c = &c;
        async move {
            c.get_json(&format!("/apps/probe/events?out_trade_no={no}"), 200)
                .await
        }
    };
    host.events_delivered().await;
    // The order arrived as the typed record, as it was when paid.
    let typed = deliveries("typed-1").await;
    assert_eq!(typed["deliveries"], 1);
    assert_eq!(typed["order"]["out_trade_no"], "typed-1");
    assert_eq!(typed["order"]["amount_fen"], 7);
    assert_eq!(typed["order"]["state"], "paid");
    assert!(typed["order"]["paid_at"].as_u64().is_some());
    // `err` from the export is a refusal: delivered again, then accepted.
    assert_eq!(deliveries("refuse-1").await["deliveries"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_0_1_0_component_still_gets_its_events_as_requests() {
    let host = TestHost::start().await;
    let dir = workspace().join("host/tests/contract-0.1.0");
    let bytes = std::fs::read(dir.join("probe.wasm")).unwrap();
    let manifest = Manifest::load(&dir.join("cityhost.toml")).unwrap();
    let p = &host.platform;
    let app = registry::load_app(&p.runtime, &p.services.directory, manifest, &bytes)
        .await
        .unwrap();
    assert_eq!(
        app.component.entry_point(),
        cityhost::runtime::EntryPoint::HandlerV0_1
    );
    p.registry.install(app);
    let c = host.demo_citizen("13800000001").await;
    let order = c
        .get_json("/apps/probe-v0-1/pay?out_trade_no=v01-ev&amount_fen=3", 200)
        .await;
    confirm(&c, order["order_id"].as_str().unwrap()).await;
    // That probe answers 404 to every event request: the attempt's outcome
    // is the status of a request, not an export call.
    eventually("the event attempted as a request", || async {
        p.services
            .events
            .pending()
            .await
            .unwrap()
            .iter()
            .any(|(_, e)| e.app_id == "probe-v0-1" && e.last_error.as_deref() == Some("status 404"))
    })
    .await;
}
