//! Registration proves the phone number with a one-time SMS code, and
//! nothing in it tells whether a number has an account.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::http::StatusCode;
use cityhost::platform::{IdentityConfig, SmsConfig};
use serde_json::{Value, json};

use crate::support::{TestHost, sms_code};

/// The error body of a refused registration, without its error id.
async fn refusal(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let mut body: Value = r.json().await.unwrap();
    body["error"].as_object_mut().unwrap().remove("id");
    (status, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn registration_proves_the_number_and_tells_nothing_about_it() {
    let host = TestHost::start().await;
    let c = host.client();
    let (registered, free) = ("13800000001", "13912340077");

    // Asking for a code: the same answer for a registered and a free number.
    let mut answers = Vec::new();
    for phone in [registered, free] {
        let r = c
            .post_json("/api/register/code", &json!({"phone": phone}))
            .await;
        assert_eq!(r.status(), 202, "{phone}");
        answers.push(r.json::<Value>().await.unwrap());
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(
        answers[0],
        json!({"expires_in_s": 300, "resend_after_s": 60})
    );
    // The registered number's holder got a notice, the free one a code.
    assert_eq!(sms_code(&c.http, &host.base, registered).await, None);
    let code = sms_code(&c.http, &host.base, free).await.unwrap();
    let page = c.get("/dev/sms").await.text().await.unwrap();
    assert!(
        page.contains(&code) && page.contains("本号码已注册"),
        "{page}"
    );

    // Registering: any code for the registered number, and a wrong one for
    // the free number, get one and the same answer.
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let try_register = |phone: &'static str, code: String, password: &'static str| {
        let c = &c;
        async move {
            c.post_json(
                "/api/register",
                &json!({"phone": phone, "code": code, "password": password}),
            )
            .await
        }
    };
    let taken = refusal(try_register(registered, wrong.into(), "a good password").await).await;
    let guessed = refusal(try_register(free, wrong.into(), "a good password").await).await;
    assert_eq!(taken, guessed);
    assert_eq!(taken.0, 400);
    assert_eq!(taken.1["error"]["field"], "code", "{}", taken.1);

    // A bad password is named before the code is looked at, so the code
    // is still good afterwards.
    let r = try_register(free, code.clone(), "short").await;
    assert_eq!(refusal(r).await.1["error"]["field"], "password");
    let r = try_register(free, code.clone(), "a good password").await;
    assert_eq!(r.status(), 201);
    assert_eq!(
        c.get_json("/api/me", 200).await["phone_masked"],
        "139****0077"
    );
    // A code works once.
    let again = host.client();
    let r = again
        .post_json(
            "/api/register",
            &json!({"phone": free, "code": code, "password": "a good password"}),
        )
        .await;
    assert_eq!(r.status(), 400);

    // Another message to a number within a minute is refused with the wait.
    let r = c
        .post_json("/api/register/code", &json!({"phone": free}))
        .await;
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");

    // A code request names a bad number, and stores nothing for it.
    for body in [
        json!({"phone": "1391234"}),
        json!({"phone": "x".repeat(60_000)}),
        json!({}),
        json!(["13912340078"]),
    ] {
        let r = c.post_json("/api/register/code", &body).await;
        assert_eq!(r.status(), 400, "{body}");
        let error: Value = r.json().await.unwrap();
        assert!(
            ["phone", "body"].contains(&error["error"]["field"].as_str().unwrap()),
            "{error}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_without_an_sms_channel_registers_nobody_and_has_no_dev_page() {
    let host = TestHost::start_configured(
        Default::default(),
        IdentityConfig {
            sms: SmsConfig::Off,
            ..Default::default()
        },
    )
    .await;
    let c = host.client();
    let r = c
        .post_json("/api/register/code", &json!({"phone": "13912340079"}))
        .await;
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--sms-gateway"),
        "{body}"
    );
    assert_eq!(c.get("/dev/sms").await.status(), 404);
    assert_eq!(c.get("/dev/sms.json").await.status(), 404);
    // Existing accounts still sign in.
    host.demo_citizen("13800000002").await;
}

/// An SMS gateway on a loopback port that records what it is sent and
/// answers `status`.
async fn start_gateway(status: StatusCode) -> (String, Arc<Mutex<Vec<(Option<String>, Value)>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let app = axum::Router::new().route(
        "/v1/sms",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, Json(body): Json<Value>| {
                let record = record.clone();
                async move {
                    let auth = headers
                        .get("authorization")
                        .map(|v| v.to_str().unwrap().to_string());
                    record.lock().unwrap().push((auth, body));
                    status
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1/sms", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

#[tokio::test(flavor = "multi_thread")]
async fn codes_go_to_the_operators_sms_gateway() {
    let (url, seen) = start_gateway(StatusCode::OK).await;
    let host = TestHost::start_configured(
        Default::default(),
        IdentityConfig {
            sms: SmsConfig::Gateway {
                url,
                token: Some("sms-s3cret".into()),
            },
            ..Default::default()
        },
    )
    .await;
    let c = host.client();
    let r = c
        .post_json("/api/register/code", &json!({"phone": "13912340080"}))
        .await;
    assert_eq!(r.status(), 202);
    let (auth, body) = seen.lock().unwrap()[0].clone();
    assert_eq!(auth.as_deref(), Some("Bearer sms-s3cret"));
    assert_eq!(body["phone"], "13912340080");
    assert_eq!(body["template"], "register-code");
    let code = body["params"]["code"].as_str().unwrap().to_string();
    assert!(body["text"].as_str().unwrap().contains(&code), "{body}");
    // No development page on a host with a gateway.
    assert_eq!(c.get("/dev/sms.json").await.status(), 404);
    let r = c
        .post_json(
            "/api/register",
            &json!({"phone": "13912340080", "code": code, "password": "a good password"}),
        )
        .await;
    assert_eq!(r.status(), 201);

    // A gateway that refuses the message: the citizen is told to try later.
    let (url, _) = start_gateway(StatusCode::INTERNAL_SERVER_ERROR).await;
    let host = TestHost::start_configured(
        Default::default(),
        IdentityConfig {
            sms: SmsConfig::Gateway { url, token: None },
            ..Default::default()
        },
    )
    .await;
    let r = host
        .client()
        .post_json("/api/register/code", &json!({"phone": "13912340081"}))
        .await;
    assert_eq!(r.status(), 503);
}
