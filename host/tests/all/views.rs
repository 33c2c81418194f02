//! Views through a real component: the host parses every view it relays
//! into the SDK's model, replaces a malformed block with a placeholder and
//! reports it; `qr` blocks come with the SVG the host drew; and the
//! committed JSON Schema of views is the one the model generates.

use base64::Engine as _;
use serde_json::{Value, json};

use crate::support::{TestHost, workspace};

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_block_is_replaced_and_reported() {
    let host = TestHost::start().await;
    let mut reports = host.platform.views.subscribe();
    let c = host.demo_citizen("13800000001").await;

    let r = c.get("/apps/probe/views/malformed").await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/vnd.cityhost.view+json")
    );
    let view: Value = r.json().await.unwrap();
    assert_eq!(view["title"], "有问题的页面");
    assert_eq!(
        view["blocks"],
        json!([
            {"type": "text", "text": "前"},
            {"type": "unavailable"},
            {"type": "unavailable"},
            {"type": "unavailable"},
            {"type": "text", "text": "后"},
        ])
    );

    let mut got = Vec::new();
    for _ in 0..3 {
        let report = reports.try_recv().expect("one report per malformed block");
        assert_eq!(report.app_id, "probe");
        assert_eq!(report.path, "/views/malformed");
        got.push((report.block, report.reason));
    }
    assert_eq!(got[0].0, Some(1));
    assert!(got[0].1.contains("unknown variant `marquee`"), "{got:?}");
    assert_eq!(got[1].0, Some(2));
    assert!(got[1].1.contains("no SVG"), "{got:?}");
    assert_eq!(got[2].0, Some(3));
    assert!(got[2].1.contains("3000 bytes"), "{got:?}");
    assert!(reports.try_recv().is_err(), "nothing else reported");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_new_blocks_reach_the_shell_with_the_qr_drawn_by_the_host() {
    let host = TestHost::start().await;
    let mut reports = host.platform.views.subscribe();
    let c = host.demo_citizen("13800000001").await;

    let view: Value = c
        .get("/apps/probe/views/blocks")
        .await
        .json()
        .await
        .unwrap();
    let types: Vec<&str> = view["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["qr", "image", "list", "card", "form"]);
    let svg = view["blocks"][0]["svg"].as_str().unwrap();
    let svg = base64::engine::general_purpose::STANDARD
        .decode(svg.strip_prefix("data:image/svg+xml;base64,").unwrap())
        .unwrap();
    assert!(String::from_utf8(svg).unwrap().contains("<svg"));
    assert_eq!(
        view["blocks"][2]["items"][1]["actions"][0]["action"],
        json!({"kind": "open", "path": "/views/detail?id=2"})
    );
    assert_eq!(
        view["blocks"][4]["fields"][0],
        json!({"kind": "hidden", "name": "ticket", "value": "T-2026-0042", "required": false})
    );
    assert!(reports.try_recv().is_err(), "a good view reports nothing");
}

/// `docs/view.schema.json` is generated from the view model; regenerate it
/// with the command in the failure message.
#[test]
fn the_committed_view_schema_is_the_generated_one() {
    let path = workspace().join("docs/view.schema.json");
    let committed: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(
        committed == cityhost_view::schema(),
        "{} is out of date; regenerate it with\n  cargo run -p cityhost-view --features schema --example view_schema > docs/view.schema.json",
        path.display()
    );
}
