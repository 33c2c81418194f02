//! Standard components: `examples/hello-http` (a `wasi:http/proxy` component
//! written with wstd, no CityHost SDK) is served as a mini-app beside the
//! SDK's `handler` export, with the host's session, limits and audit.

use crate::support::TestHost;

#[tokio::test(flavor = "multi_thread")]
async fn a_wasi_http_component_is_served_as_a_miniapp() {
    let host = TestHost::start().await;
    let app = host
        .platform
        .registry
        .get("hello-http")
        .expect("hello-http is loaded");
    assert_eq!(
        app.component.entry_point(),
        cityhost::runtime::EntryPoint::WasiHttp
    );

    // The host's session rule holds: signed out, no instance runs.
    let anonymous = host.client();
    assert_eq!(anonymous.get("/apps/hello-http/").await.status(), 401);

    let c = host.demo_citizen("13800000001").await;
    let r = c.get("/apps/hello-http/").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "text/plain; charset=utf-8"
    );
    let body = r.text().await.unwrap();
    assert!(body.starts_with("你好，wasi:http！"), "{body}");
    // The host's request id reached the component as a header.
    let request_id = body
        .lines()
        .nth(1)
        .unwrap()
        .trim_start_matches("request id: ");
    assert_eq!(uuid_len(request_id), 36, "{body}");

    let r = c.get("/apps/hello-http/missing?x=1").await;
    assert_eq!(r.status(), 404);
    assert_eq!(r.text().await.unwrap(), "没有这个页面\n");

    // Each request is audited, by openid, with the status it answered.
    let records = host
        .operator_json("/api/operator/audit?app=hello-http")
        .await;
    let records = records.as_array().unwrap();
    let outcomes: Vec<&str> = records
        .iter()
        .filter(|r| r["capability"] == "request")
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["200", "404"], "{records:?}");
    assert!(
        records
            .iter()
            .all(|r| r["openid"].as_str().map(str::len) == Some(32))
    );
}

fn uuid_len(s: &str) -> usize {
    uuid::Uuid::parse_str(s).map_or(0, |u| u.to_string().len())
}
