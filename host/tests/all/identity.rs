//! Real-name verification through the shell API: each check in order with
//! real-structure vectors (valid, and one character off), the identity
//! authorities (the host's population registry and a remote one over HTTP),
//! assurance levels per route, and openid / unionid properties.

use std::sync::Arc;

use axum::Json;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::TestHost;

/// 王五, a demo resident with no account (see `cli::demo::DEMO_RESIDENTS`).
const WANG_WU: (&str, &str) = ("王五", "330106199203041023");
/// 赵六, another demo resident with no account.
pub const ZHAO_LIU: (&str, &str) = ("赵六", "330183197809053014");

async fn verify(c: &crate::support::Citizen, name: &str, number: &str) -> (u16, Value) {
    let r = c
        .post_json(
            "/api/me/verification",
            &json!({"name": name, "id_number": number}),
        )
        .await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Asserts a 400 naming `field` with `reason`, and that the answer does not
/// echo the number.
async fn refused(c: &crate::support::Citizen, name: &str, number: &str, field: &str, reason: &str) {
    let (status, body) = verify(c, name, number).await;
    assert_eq!(status, 400, "{name} {number}: {body}");
    assert_eq!(body["error"]["code"], "invalid_argument", "{body}");
    assert_eq!(body["error"]["field"], field, "{number}: {body}");
    assert_eq!(body["error"]["reason"], reason, "{number}: {body}");
    if number.len() > 4 {
        assert!(!body.to_string().contains(number), "{body}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn verification_checks_each_field_in_order() {
    let host = TestHost::start().await;
    let c = host.new_citizen("13900000101").await;
    let (name, number) = WANG_WU;

    // Name: length, then characters.
    refused(&c, "王", number, "name", "length").await;
    refused(&c, &"王".repeat(31), number, "name", "length").await;
    refused(&c, "Wang Wu", number, "name", "characters").await;
    refused(&c, "王5", number, "name", "characters").await;
    // The name is checked before the number.
    refused(&c, "王5", "1", "name", "characters").await;
    // A number sent as a JSON number is refused without being quoted.
    let r = c
        .post_json(
            "/api/me/verification",
            &json!({"name": name, "id_number": 330106199203041023u64}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("id_number") && !text.contains("330106199203041023"),
        "{text}"
    );
    let r = c
        .post_json("/api/me/verification", &json!({"name": name}))
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["field"],
        "id_number"
    );

    // Number: length and characters.
    refused(&c, name, "33010619920304102", "id_number", "format").await;
    refused(&c, name, "3301061992030410233", "id_number", "format").await;
    refused(&c, name, "33010619920304102Y", "id_number", "format").await;
    refused(&c, name, "3301061992O304102 3", "id_number", "format").await;
    // Birth date: real calendar date (one character off: month 13, Feb 30),
    // not in the future.
    refused(&c, name, "330106199213041023", "id_number", "birth_date").await;
    refused(&c, name, "330106199202301023", "id_number", "birth_date").await;
    refused(&c, name, "330106209903041023", "id_number", "birth_date").await;
    // Province part of the address code: 39 is no province (33 is Zhejiang).
    refused(&c, name, "390106199203041023", "id_number", "province").await;
    // Check character (ISO 7064 MOD 11-2): one off.
    refused(
        &c,
        name,
        "330106199203041024",
        "id_number",
        "check_character",
    )
    .await;
    // Structure fine, but one digit off in the sequence: the check character
    // catches it too.
    refused(
        &c,
        name,
        "330106199203041123",
        "id_number",
        "check_character",
    )
    .await;

    // A well-formed number the authority does not hold with this name.
    let (status, body) = verify(&c, "王六", number).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "identity_mismatch");
    let (status, body) = verify(&c, name, "11010519491231002X").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(c.get_json("/api/me", 200).await["assurance_level"], 1);

    // The match: level 2, answers masked.
    let (status, body) = verify(&c, name, number).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["assurance_level"], 2);
    assert_eq!(body["name_masked"], "*五");
    assert_eq!(body["id_number_masked"], "3****************3");
    let me = c.get_json("/api/me", 200).await;
    assert_eq!(me["assurance_level"], 2);
    assert_eq!(me["name_masked"], "*五");
    assert_eq!(me["phone_masked"], "139****0101");
    assert_eq!(me["id_number_masked"], "3****************3");
    assert!(!me.to_string().contains(number));
    // Verifying again with the same identity is harmless; another is refused.
    assert_eq!(verify(&c, name, number).await.0, 200);
    let (status, body) = verify(&c, "赵六", "330183197809053014").await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["reason"], "already_verified");

    // One account per identity.
    let other = host.new_citizen("13900000102").await;
    let (status, body) = verify(&other, name, number).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["field"], "id_number");
}

#[tokio::test(flavor = "multi_thread")]
async fn lower_case_x_is_accepted_and_normalised() {
    let host = TestHost::start().await;
    // The standard's worked example, imported with a lower-case x.
    let csv = "name,id_number\n孙八,11010519491231002x\n";
    let token = &host.platform.operator_token;
    let r = reqwest::Client::new()
        .post(format!("{}/api/operator/population", host.base))
        .bearer_auth(token)
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["imported"], 1, "{report}");
    let c = host.new_citizen("13900000103").await;
    let (status, body) = verify(&c, "孙八", "11010519491231002x").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id_number_masked"], "1****************X");
    // The operator API wants the operator token.
    let r = reqwest::Client::new()
        .post(format!("{}/api/operator/population", host.base))
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

/// A remote identity authority: answers `match` for one person, 500 for a
/// name that makes it fail.
async fn start_authority() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = calls.clone();
    let app = axum::Router::new().route(
        "/v1/check",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, Json(body): Json<Value>| {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if headers.get("authorization").and_then(|v| v.to_str().ok())
                        != Some("Bearer s3cret")
                    {
                        return (StatusCode::UNAUTHORIZED, Json(json!({})));
                    }
                    if body["name"] == "故障" {
                        return (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({})));
                    }
                    let matched =
                        body["name"] == "周九" && body["id_number"] == "11010519491231002X";
                    let result = if matched { "match" } else { "mismatch" };
                    (StatusCode::OK, Json(json!({ "result": result })))
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1/check", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, calls)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remote_authority_over_http() {
    let (url, calls) = start_authority().await;
    let host = TestHost::start_configured(
        Default::default(),
        cityhost::platform::IdentityConfig {
            authority_url: Some(url),
            authority_token: Some("s3cret".into()),
            ..Default::default()
        },
    )
    .await;
    let c = host.new_citizen("13900000104").await;
    // Structural failures never reach the authority (the demo seeding asked
    // it about the demo citizens already).
    let before = calls.load(std::sync::atomic::Ordering::SeqCst);
    refused(&c, "周九", "11010519491231002Y", "id_number", "format").await;
    refused(&c, "周九", "11010519491231002", "id_number", "format").await;
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), before);
    // A failing authority is a 503 and records nothing.
    let (status, body) = verify(&c, "故障", "11010519491231002X").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["reason"], "identity_authority");
    assert!(!body.to_string().contains("11010519491231002X"));
    let (status, _) = verify(&c, "周十", "11010519491231002X").await;
    assert_eq!(status, 422);
    let (status, body) = verify(&c, "周九", "11010519491231002x").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["assurance_level"], 2);
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), before + 3);

    // An unreachable authority is a 503 as well.
    let host = TestHost::start_configured(
        Default::default(),
        cityhost::platform::IdentityConfig {
            authority_url: Some("http://127.0.0.1:9/v1/check".into()),
            ..Default::default()
        },
    )
    .await;
    let c = host.new_citizen("13900000105").await;
    assert_eq!(verify(&c, "周九", "11010519491231002X").await.0, 503);
}

#[tokio::test(flavor = "multi_thread")]
async fn routes_can_require_level_two() {
    let host = TestHost::start().await;
    let c = host.new_citizen("13900000106").await;
    // housing-fund requires L2 everywhere; id-probe only under /l2.
    for path in ["/apps/housing-fund/", "/apps/id-probe/l2"] {
        let r = c.get(path).await;
        assert_eq!(r.status(), 403, "{path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "assurance_required", "{body}");
        assert_eq!(body["error"]["reason"], "L2");
    }
    assert_eq!(c.get("/apps/id-probe/ids").await.status(), 200);
    let (name, number) = WANG_WU;
    assert_eq!(verify(&c, name, number).await.0, 200);
    assert_eq!(c.get("/apps/id-probe/l2").await.status(), 200);
    // Now the app itself answers (asking for consent).
    let r = c.get("/apps/housing-fund/").await;
    assert_eq!(r.status(), 403);
    assert!(
        r.text().await.unwrap().contains("auth_id_number"),
        "the app's consent view"
    );
}

async fn ids(c: &crate::support::Citizen, app: &str) -> Value {
    c.get_json(&format!("/apps/{app}/ids"), 200).await
}

#[tokio::test(flavor = "multi_thread")]
async fn openids_per_app_and_unionids_per_department() {
    let host = TestHost::start().await;
    let zhang = host.demo_citizen("13800000001").await;
    let li = host.demo_citizen("13800000002").await;
    let a = ids(&zhang, "id-probe").await;
    let a_again = ids(&zhang, "id-probe").await;
    let twin = ids(&zhang, "id-probe-twin").await;
    let other = ids(&li, "id-probe").await;
    // Same app → same openid; two apps → different openids.
    assert_eq!(a["openid"], a_again["openid"]);
    assert_ne!(a["openid"], twin["openid"]);
    assert_ne!(a["openid"], other["openid"]);
    // One department's apps share the unionid; citizens differ.
    assert_eq!(a["unionid"], twin["unionid"]);
    assert_ne!(a["unionid"], other["unionid"]);
    assert_ne!(a["unionid"], a["openid"]);
    for value in [&a["openid"], &a["unionid"]] {
        let s = value.as_str().unwrap();
        assert_eq!(s.len(), 32);
        assert!(s.bytes().all(|b| b.is_ascii_hexdigit()));
    }
    // Another department's unionid differs (hello is the data bureau's).
    let citizen = host
        .platform
        .services
        .accounts
        .by_phone("13800000001")
        .await
        .unwrap()
        .unwrap();
    let hello = host.platform.registry.get("hello").unwrap();
    let elsewhere = host
        .platform
        .services
        .openids
        .unionid(hello.manifest.department_key().unwrap(), &citizen.id);
    assert_ne!(a["unionid"], elsewhere.as_str());
    // The internal citizen id never reaches the app.
    assert!(!a.to_string().contains(&citizen.id));
}

/// A well-formed identity number (real structure and check character)
/// born in Xihu district, Hangzhou, on 1990-01-01, with sequence `seq`
/// (three digits): the population registry holds none of these.
pub fn unregistered_number(seq: u16) -> String {
    let first17 = format!("33010619900101{seq:03}");
    let check = cityhost::identity::idcard::check_character(first17.as_bytes());
    format!("{first17}{}", check as char)
}

#[tokio::test(flavor = "multi_thread")]
async fn mismatches_are_limited_per_citizen() {
    let host = TestHost::start().await;
    let c = host.new_citizen("13900000107").await;
    for seq in 1..=5 {
        let number = unregistered_number(seq);
        assert_eq!(verify(&c, "王五", &number).await.0, 422, "{number}");
    }
    // Even the right name and number are not checked any more today.
    let (status, body) = verify(&c, WANG_WU.0, WANG_WU.1).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
    // Structural errors are still answered (they never reach the authority).
    assert_eq!(verify(&c, WANG_WU.0, "1").await.0, 400);
    // Another citizen is not affected.
    let other = host.new_citizen("13900000108").await;
    assert_eq!(verify(&other, WANG_WU.0, WANG_WU.1).await.0, 200);
}

/// Guessing a stranger's name across fresh accounts does not work: from
/// the third mismatch on one number, from any accounts, each next check of
/// that number waits (a delay, so the real person still gets through).
#[tokio::test(flavor = "multi_thread")]
async fn mismatches_on_one_number_from_many_accounts_delay_its_next_check() {
    let host = TestHost::start().await;
    let (name, number) = ZHAO_LIU;
    for (i, guess) in ["赵一", "赵二", "赵三"].into_iter().enumerate() {
        let squatter = host.new_citizen(&format!("1390000012{i}")).await;
        assert_eq!(verify(&squatter, guess, number).await.0, 422, "{guess}");
    }
    // The next check of that number, even with the right name from a new
    // account, waits a minute, and says so.
    let late = host.new_citizen("13900000129").await;
    let r = late
        .post_json(
            "/api/me/verification",
            &json!({"name": name, "id_number": number}),
        )
        .await;
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((55..=60).contains(&wait), "{wait}");
    assert_eq!(late.get_json("/api/me", 200).await["assurance_level"], 1);
    // Other numbers are not delayed.
    assert_eq!(verify(&late, WANG_WU.0, WANG_WU.1).await.0, 200);
}

/// One address guessing across many numbers and accounts is stopped for
/// the hour; citizens behind other addresses are not.
#[tokio::test(flavor = "multi_thread")]
async fn mismatches_from_one_client_across_numbers_are_limited() {
    let host = TestHost::start_behind_proxy().await;
    let from = |c: &crate::support::Citizen, ip: &str, name: &str, number: &str| {
        c.request(reqwest::Method::POST, "/api/me/verification")
            .header("x-forwarded-for", ip)
            .json(&json!({"name": name, "id_number": number}))
            .send()
    };
    let mut seq = 0;
    for account in 0..6 {
        let guesser = host.new_citizen(&format!("1390000013{account}")).await;
        for _ in 0..5 {
            seq += 1;
            let number = unregistered_number(seq);
            let r = from(&guesser, "203.0.113.7", "王五", &number)
                .await
                .unwrap();
            assert_eq!(r.status(), 422, "guess {seq}");
        }
    }
    let citizen = host.new_citizen("13900000139").await;
    let r = from(&citizen, "203.0.113.7", WANG_WU.0, WANG_WU.1)
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let r = from(&citizen, "198.51.100.9", WANG_WU.0, WANG_WU.1)
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
