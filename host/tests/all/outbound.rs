//! Outbound calls: a mini-app reaches its department's own system (a real
//! HTTP server on loopback) and nothing else, through the `http` capability
//! and through a standard component's `wasi:http/outgoing-handler`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{any, get};
use serde_json::Value;

use crate::support::{Citizen, TestHost};

/// A department's system on loopback: `/bills` (JSON), `/big` (100 KiB),
/// `/slow` (answers after 3 s), `/redirect` (302 to `to`), `/echo`
/// (method, query and body length); counts the requests it got.
struct Backend {
    origin: String,
    requests: Arc<AtomicUsize>,
}

async fn backend(redirect_to: &str) -> Backend {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    let to = redirect_to.to_string();
    let app = Router::new()
        .route(
            "/bills",
            get(|| async { axum::Json(serde_json::json!([{"bill": "2026-11", "fen": 4280}])) }),
        )
        .route("/big", get(|| async { "x".repeat(100 * 1024) }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                "late"
            }),
        )
        .route(
            "/redirect",
            get(move || async move { (StatusCode::FOUND, [(header::LOCATION, to)]) }),
        )
        .route(
            "/echo",
            any(
                |method: axum::http::Method, headers: HeaderMap, body: axum::body::Bytes| async move {
                    let ua = headers
                        .get(header::USER_AGENT)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    format!("{method} {} {ua}", body.len()).into_response()
                },
            ),
        )
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                counted.fetch_add(1, Ordering::SeqCst);
                next.run(request)
            },
        ));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Backend { origin, requests }
}

/// A port that counts the connections made to it and answers nothing.
async fn silent_port() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (port, accepted)
}

/// The `outbound` fixture, published again allowing `origins`.
async fn allow(host: &TestHost, fixture: &str, origins: &[&str]) {
    let list = origins
        .iter()
        .map(|o| format!("\"{o}\""))
        .collect::<Vec<_>>()
        .join(", ");
    host.republish_fixture(fixture, |text| {
        let text = text.replace(
            "allow = [\"http://127.0.0.1:9\"]",
            &format!("allow = [{list}]"),
        );
        if fixture == "probe-http" {
            format!(
                "{}\n[http]\nallow = [{list}]\ntimeout-ms = 300\n",
                text.replace("permissions = []", "permissions = [\"http\"]")
            )
        } else {
            text
        }
    })
    .await;
}

/// The results of `GET /apps/outbound/fetch?{query}`.
async fn fetch(c: &Citizen, query: &str) -> Vec<Value> {
    let response = c.get(&format!("/apps/outbound/fetch?{query}")).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["results"].as_array().unwrap().clone()
}

fn url(u: &str) -> String {
    format!("url={}", urlencode(u))
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mini_app_calls_its_departments_system_and_the_call_is_audited() {
    let system = backend("").await;
    let host = TestHost::start_with_local_origins(&[&system.origin]).await;
    allow(&host, "outbound", &[&system.origin]).await;
    let c = host.new_citizen("13900000071").await;

    let results = fetch(
        &c,
        &url(&format!("{}/bills?account=3301001", system.origin)),
    )
    .await;
    assert_eq!(results[0]["status"], 200, "{results:?}");
    assert!(results[0]["body"].as_str().unwrap().contains("4280"));
    let echoed = fetch(
        &c,
        &format!(
            "{}&method=POST&body-bytes=10",
            url(&format!("{}/echo", system.origin))
        ),
    )
    .await;
    assert!(
        echoed[0]["body"]
            .as_str()
            .unwrap()
            .starts_with("POST 10 CityHost/"),
        "{echoed:?}"
    );

    let records = host.operator_json("/api/operator/audit?app=outbound").await;
    let calls: Vec<&Value> = records
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["capability"] == "http.send")
        .collect();
    assert_eq!(calls.len(), 2, "{records}");
    let detail = |r: &Value, name: &str| {
        r["detail"]
            .as_array()
            .unwrap()
            .iter()
            .find(|pair| pair[0] == name)
            .map(|pair| pair[1].as_str().unwrap().to_string())
    };
    assert_eq!(calls[0]["outcome"], "ok");
    assert_eq!(detail(calls[0], "origin").unwrap(), system.origin);
    assert_eq!(detail(calls[0], "method").unwrap(), "GET");
    assert_eq!(detail(calls[0], "status").unwrap(), "200");
    assert_eq!(detail(calls[1], "request_bytes").unwrap(), "10");
    assert!(
        detail(calls[0], "response_bytes")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    // Never the path or query string.
    assert!(!records.to_string().contains("3301001"), "{records}");
    assert!(!records.to_string().contains("/bills"), "{records}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_not_allowed_is_refused_without_a_dns_query_or_a_connection() {
    let system = backend("").await;
    let (port, accepted) = silent_port().await;
    let host =
        TestHost::start_with_local_origins(&[&system.origin, &format!("http://127.0.0.1:{port}")])
            .await;
    allow(&host, "outbound", &[&system.origin]).await;
    let c = host.new_citizen("13900000071").await;
    for (target, case) in [
        (format!("http://127.0.0.1:{port}/"), "not-permitted"),
        // The same host on another scheme is another origin.
        (format!("https://127.0.0.1:{port}/"), "not-permitted"),
        // A name nobody can resolve: refused as not allowed, not as
        // unreachable, so no lookup was made.
        (
            "http://no-such-system.invalid/".to_string(),
            "not-permitted",
        ),
        (
            format!("http://user:pw@127.0.0.1:{port}/"),
            "invalid-argument",
        ),
        ("file:///etc/passwd".to_string(), "invalid-argument"),
        ("/bills".to_string(), "invalid-argument"),
    ] {
        let results = fetch(&c, &url(&target)).await;
        assert_eq!(results[0]["error"], case, "{target}: {results:?}");
    }
    let results = fetch(&c, &url("http://no-such-system.invalid/")).await;
    assert!(
        results[0]["message"]
            .as_str()
            .unwrap()
            .contains("[http] allow"),
        "{results:?}"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(accepted.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_or_address_on_a_private_network_needs_the_operators_leave() {
    let system = backend("").await;
    let port = system.origin.rsplit(':').next().unwrap().to_string();
    let by_name = format!("http://localhost:{port}");
    // The operator allowed neither for local use.
    let host = TestHost::start().await;
    allow(&host, "outbound", &[&system.origin, &by_name]).await;
    let c = host.new_citizen("13900000071").await;
    for target in [
        format!("{}/bills", system.origin),
        format!("{by_name}/bills"),
    ] {
        let results = fetch(&c, &url(&target)).await;
        assert_eq!(
            results[0]["error"], "not-permitted",
            "{target}: {results:?}"
        );
        assert!(
            results[0]["message"]
                .as_str()
                .unwrap()
                .contains("may not reach"),
            "{results:?}"
        );
    }
    assert_eq!(system.requests.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_come_back_to_the_app_and_are_not_followed() {
    let (port, accepted) = silent_port().await;
    let elsewhere = format!("http://127.0.0.1:{port}/stolen");
    let system = backend(&elsewhere).await;
    let host =
        TestHost::start_with_local_origins(&[&system.origin, &format!("http://127.0.0.1:{port}")])
            .await;
    allow(&host, "outbound", &[&system.origin]).await;
    let c = host.new_citizen("13900000071").await;
    let results = fetch(&c, &url(&format!("{}/redirect", system.origin))).await;
    assert_eq!(results[0]["status"], 302, "{results:?}");
    assert_eq!(results[0]["location"], elsewhere.as_str());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(accepted.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_time_calls_and_headers_are_held_to_their_limits() {
    let system = backend("").await;
    let host = TestHost::start_with_local_origins(&[&system.origin]).await;
    allow(&host, "outbound", &[&system.origin]).await;
    let c = host.new_citizen("13900000071").await;
    let o = &system.origin;

    // The fixture allows 64 KiB responses and 1 KiB requests.
    let results = fetch(&c, &url(&format!("{o}/big"))).await;
    assert_eq!(results[0]["error"], "too-large", "{results:?}");
    assert!(results[0]["message"].as_str().unwrap().contains("response"));
    let before = system.requests.load(Ordering::SeqCst);
    let results = fetch(
        &c,
        &format!("{}&method=POST&body-bytes=2048", url(&format!("{o}/echo"))),
    )
    .await;
    assert_eq!(results[0]["error"], "too-large", "{results:?}");
    assert_eq!(
        system.requests.load(Ordering::SeqCst),
        before,
        "sent anyway"
    );

    // The fixture's call timeout is 300 ms: the app gets `timeout` and
    // still answers within its own 1 s deadline.
    let started = Instant::now();
    let results = fetch(&c, &url(&format!("{o}/slow"))).await;
    assert_eq!(results[0]["error"], "timeout", "{results:?}");
    assert!(started.elapsed() < Duration::from_millis(1000));

    // Three calls per request.
    let results = fetch(&c, &format!("{}&times=4", url(&format!("{o}/bills")))).await;
    let cases: Vec<&Value> = results.iter().map(|r| &r["error"]).collect();
    assert_eq!(
        cases[..3],
        [&Value::Null, &Value::Null, &Value::Null],
        "{results:?}"
    );
    assert_eq!(results[3]["error"], "quota-exceeded");
    assert_eq!(results[3]["message"], "http.calls-per-request");

    // Headers the host owns, and a method it does not offer.
    for query in [
        "header=connection:close",
        "header=host:evil.example",
        "method=CONNECT",
    ] {
        let results = fetch(&c, &format!("{}&{query}", url(&format!("{o}/echo")))).await;
        assert_eq!(
            results[0]["error"], "invalid-argument",
            "{query}: {results:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standard_wasi_http_component_goes_through_the_same_policy() {
    let system = backend("").await;
    let host = TestHost::start_with_local_origins(&[&system.origin]).await;
    let c = host.new_citizen("13900000071").await;
    let target = format!("/apps/probe-http/fetch?url={}/bills", system.origin);
    // No `[http]` section: refused as `HTTP-request-denied`, nothing sent.
    let response = c.get(&target).await;
    assert_eq!(response.status(), 502);
    let text = response.text().await.unwrap();
    assert!(text.contains("HttpRequestDenied"), "{text}");
    assert_eq!(system.requests.load(Ordering::SeqCst), 0);

    allow(&host, "probe-http", &[&system.origin]).await;
    let response = c.get(&target).await;
    let text = response.text().await.unwrap();
    assert!(text.starts_with("200 ") && text.contains("4280"), "{text}");
    let records = host
        .operator_json("/api/operator/audit?app=probe-http")
        .await;
    assert!(
        records
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["capability"] == "http.send" && r["outcome"] == "ok"),
        "{records}"
    );

    // A name resolving to loopback that the operator did not allow.
    let port = system.origin.rsplit(':').next().unwrap();
    let by_name = format!("http://localhost:{port}");
    allow(&host, "probe-http", &[&by_name]).await;
    let response = c
        .get(&format!("/apps/probe-http/fetch?url={by_name}/bills"))
        .await;
    let text = response.text().await.unwrap();
    assert!(text.contains("DestinationIpProhibited"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_may_pin_a_local_origin_to_an_address() {
    let system = backend("").await;
    let address = system.origin.trim_start_matches("http://").to_string();
    let name = "http://billing.hzwater.internal";
    let host = TestHost::start_with_local_origins(&[&format!("{name}={address}")]).await;
    allow(&host, "outbound", &[name]).await;
    let c = host.new_citizen("13900000071").await;
    // No DNS name `billing.hzwater.internal` exists: the call reaches the
    // pinned address, with the origin's `host`.
    let results = fetch(&c, &url(&format!("{name}/bills"))).await;
    assert_eq!(results[0]["status"], 200, "{results:?}");
    assert_eq!(system.requests.load(Ordering::SeqCst), 1);
    // The pin is for that origin only: the address itself is not allowed.
    let results = fetch(&c, &url(&format!("{}/bills", system.origin))).await;
    assert_eq!(results[0]["error"], "not-permitted", "{results:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_system_under_the_default_timeout_still_lets_the_app_answer() {
    let system = backend("").await;
    let host = TestHost::start_with_local_origins(&[&system.origin]).await;
    // The default call timeout (1000 ms) is the request's whole deadline:
    // the call must end early enough for the app to answer.
    let origin = system.origin.clone();
    host.republish_fixture("outbound", move |text| {
        text.replace("timeout-ms = 300\n", "").replace(
            "allow = [\"http://127.0.0.1:9\"]",
            &format!("allow = [\"{origin}\"]"),
        )
    })
    .await;
    let c = host.new_citizen("13900000071").await;
    let results = fetch(&c, &url(&format!("{}/slow", system.origin))).await;
    assert_eq!(results[0]["error"], "timeout", "{results:?}");
}

/// The operator's cap on the domains apps may call holds at upload, at
/// approval and on every call of a live release; the review shows the
/// origins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_caps_the_domains_apps_may_call() {
    let system = backend("").await;
    let host = TestHost::start_with_local_origins(&[&system.origin]).await;
    allow(&host, "outbound", &[&system.origin]).await;
    let c = host.demo_citizen("13800000001").await;
    let bills = url(&format!("{}/bills", system.origin));
    assert_eq!(fetch(&c, &bills).await[0]["status"], 200);

    let set_caps = |domains: Value| {
        let request = reqwest::Client::new()
            .put(format!("{}/api/operator/caps", host.base))
            .bearer_auth(&host.platform.operator_token)
            .json(&serde_json::json!({
                "memory_mib": 64, "timeout_ms": 1000,
                "storage_bytes": 10_485_760, "max_order_fen": 1_000_000,
                "http_domains": domains,
            }));
        async move {
            let r = request.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (code, caps) = set_caps(serde_json::json!(["HZWater.example.", "hzwater.example"])).await;
    assert_eq!(code, 200, "{caps}");
    assert_eq!(caps["http_domains"], serde_json::json!(["hzwater.example"]));
    let (code, error) = set_caps(serde_json::json!(["https://hzwater.example/api"])).await;
    assert_eq!(
        (code, error["error"]["field"].as_str()),
        (400, Some("http_domains")),
        "{error}"
    );

    // The live release's calls stop at once, before any connection.
    let before = system.requests.load(Ordering::SeqCst);
    let refused = fetch(&c, &bills).await;
    assert_eq!(refused[0]["error"], "not-permitted", "{refused:?}");
    assert_eq!(system.requests.load(Ordering::SeqCst), before);

    // A new release listing an origin outside the cap is refused at upload.
    let Err(error) = host
        .platform
        .publish_bundled(&fixture_dir(&system.origin), crate::support::components())
        .await
    else {
        panic!("an origin outside the cap was published");
    };
    assert!(error.to_string().contains("http.allow[0]"), "{error}");

    // Within the cap again (an address is listed itself), calls go through.
    let (code, _) = set_caps(serde_json::json!(["hzwater.example", "127.0.0.1"])).await;
    assert_eq!(code, 200);
    assert_eq!(fetch(&c, &bills).await[0]["status"], 200);
}

/// The `outbound` fixture's directory, at a new version allowing `origin`.
fn fixture_dir(origin: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(
        crate::support::workspace().join("host/tests/fixtures/outbound/cityhost.toml"),
    )
    .unwrap()
    .replace(
        "allow = [\"http://127.0.0.1:9\"]",
        &format!("allow = [\"{origin}\"]"),
    )
    .replace("version = \"0.1.0\"", "version = \"0.9.0\"");
    let dir = tempfile::tempdir().unwrap().keep();
    std::fs::write(dir.join("cityhost.toml"), text).unwrap();
    dir
}
