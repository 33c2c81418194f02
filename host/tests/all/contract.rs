//! Components built against an earlier contract keep running: the probe as
//! built against `cityhost:miniapp@0.1.0` (`host/tests/contract-0.1.0/`),
//! loaded beside the current apps and called through every capability it
//! imports.

use cityhost::manifest::Manifest;
use cityhost::registry;

use crate::support::{TestHost, workspace};

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
    let app = registry::load_app(&p.runtime, &p.services.directory, manifest, &bytes, &dir)
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
