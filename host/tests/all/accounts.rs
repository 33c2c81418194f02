//! Registration, login, sessions and the shell API's error shape.

use serde_json::json;

use crate::support::TestHost;

#[tokio::test(flavor = "multi_thread")]
async fn register_login_logout() {
    let host = TestHost::start().await;
    let c = host.client();
    assert_eq!(c.get("/api/me").await.status(), 401);

    let r = c.register("13912345678", "a good password").await;
    assert_eq!(r.status(), 201);
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("HttpOnly")
    );
    let me = c.get_json("/api/me", 200).await;
    assert_eq!(me["phone_masked"], "139****5678");
    assert_eq!(me["assurance_level"], 1);

    // Registering the number again needs a code sent to it: none is.
    let other = host.client();
    let r = other
        .post_json(
            "/api/register",
            &json!({"phone": "13912345678", "code": "123456", "password": "another password"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"]["field"],
        "code"
    );
    let r = other
        .post_json(
            "/api/login",
            &json!({"phone": "13912345678", "password": "wrong password"}),
        )
        .await;
    assert_eq!(r.status(), 401);
    let r = other
        .post_json(
            "/api/login",
            &json!({"phone": "13912345678", "password": "a good password"}),
        )
        .await;
    assert_eq!(r.status(), 200);

    assert_eq!(c.post_json("/api/logout", &json!({})).await.status(), 204);
    assert_eq!(c.get("/api/me").await.status(), 401);
    // The other session is unaffected.
    assert_eq!(other.get("/api/me").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_names_the_field() {
    let host = TestHost::start().await;
    let c = host.client();
    let cases = [
        (
            json!({"phone": "12", "code": "123456", "password": "a good password"}),
            "phone",
        ),
        (
            json!({"phone": "13912345678", "code": "123456", "password": "short"}),
            "password",
        ),
        (
            json!({"code": "123456", "password": "a good password"}),
            "phone",
        ),
        (
            json!({"phone": 13912345678u64, "code": "123456", "password": "a good password"}),
            "phone",
        ),
        (
            json!({"phone": "13912345678", "password": "a good password"}),
            "code",
        ),
        (
            json!({"phone": "13912345678", "code": "12ab56", "password": "a good password"}),
            "code",
        ),
        (
            json!({"phone": "13912345678", "code": 123456, "password": "a good password"}),
            "code",
        ),
    ];
    for (body, field) in cases {
        let r = c.post_json("/api/register", &body).await;
        assert_eq!(r.status(), 400, "{body}");
        let error = r.json::<serde_json::Value>().await.unwrap();
        assert_eq!(error["error"]["field"], field, "{error}");
    }
    let r = c
        .http
        .post(format!("{}/api/register", host.base))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "invalid_argument"
    );
    // Mini-apps need a signed-in citizen.
    let r = c.get("/apps/hello/").await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "unauthenticated"
    );
    assert_eq!(c.get("/api/nothing-here").await.status(), 404);
    // Oversized bodies are 413, wrong methods 405, malformed path
    // parameters 400 — all with the JSON error shape.
    // Four times the 64 KiB limit, and small enough for the loopback
    // socket buffers: the host answers 413 without reading the rest, and a
    // body larger than the buffers could still be in the client's write
    // when the connection closes (a broken pipe instead of the answer).
    let huge = "x".repeat(256 << 10);
    let r = c
        .post_json("/api/login", &json!({"phone": huge, "password": "p"}))
        .await;
    assert_eq!(r.status(), 413);
    // The refused body was never read: the host closes the connection and
    // says so, so the client does not send its next request on it.
    assert_eq!(r.headers()["connection"], "close");
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "payload_too_large"
    );
    let r = c
        .http
        .delete(format!("{}/api/login", host.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "method_not_allowed"
    );
    let r = c
        .http
        .request(reqwest::Method::PUT, format!("{}/", host.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert!(r.json::<serde_json::Value>().await.is_ok());
    let citizen = host.demo_citizen("13800000001").await;
    let r = citizen.post_json("/api/inbox/%FF/read", &json!({})).await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "bad_request"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_json_body_is_one_object_and_nothing_after_it() {
    let host = TestHost::start().await;
    let c = host.client();
    let cases = [
        // An array would be read as the struct's fields in order.
        r#"["13800000001", "not the password"]"#,
        r#"{"phone": "13800000001", "password": "not the password"} trailing"#,
        r#"{"phone": "13800000001", "password": "not the password"}{}"#,
        r#""13800000001""#,
        // Cut short or broken: the body's fault, not the field reached.
        r#"{"phone":"#,
        r#"{"phone": "13800000001", "password": "#,
        r#"{"phone" "13800000001"}"#,
    ];
    for body in cases {
        let r = c
            .http
            .post(format!("{}/api/login", host.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{body}");
        let error = r.json::<serde_json::Value>().await.unwrap();
        assert_eq!(error["error"]["field"], "body", "{body}: {error}");
    }
    // A form body names the content type; a method the route lacks, the
    // method.
    let r = c
        .http
        .post(format!("{}/api/login", host.base))
        .form(&[("phone", "13800000001")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let error = r.json::<serde_json::Value>().await.unwrap();
    assert_eq!(error["error"]["field"], "content-type", "{error}");
    let r = c
        .http
        .delete(format!("{}/api/login", host.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    let error = r.json::<serde_json::Value>().await.unwrap();
    assert_eq!(error["error"]["field"], "method", "{error}");
    // None of them counted as a failed login: the right password works at
    // once, five times over the lockout's threshold later.
    let right = json!({"phone": "13800000001", "password": "cityhost-demo"});
    assert_eq!(c.post_json("/api/login", &right).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_login_with_no_phone_number_names_the_field_and_stores_nothing() {
    let host = TestHost::start().await;
    let c = host.client();
    let junk = "1".repeat(60_000);
    for phone in [junk.as_str(), "not a phone", "1380000000"] {
        let r = c
            .post_json("/api/login", &json!({"phone": phone, "password": "x"}))
            .await;
        assert_eq!(r.status(), 400);
        let error = r.json::<serde_json::Value>().await.unwrap();
        assert_eq!(error["error"]["field"], "phone", "{error}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn repeated_wrong_passwords_lock_that_client_out_of_the_number() {
    let host = TestHost::start().await;
    let c = host.client();
    let wrong = json!({"phone": "13800000002", "password": "not the password"});
    for _ in 0..5 {
        assert_eq!(c.post_json("/api/login", &wrong).await.status(), 401);
    }
    let right = json!({"phone": "13800000002", "password": cityhost::cli::demo::DEMO_PASSWORD});
    let r = c.post_json("/api/login", &right).await;
    assert_eq!(r.status(), 429);
    // When to try again, in whole seconds: the rest of the 15 minutes.
    let retry_after: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((14 * 60..=15 * 60).contains(&retry_after), "{retry_after}");
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "rate_limited"
    );
    // Other numbers are unaffected.
    host.demo_citizen("13800000001").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_attacker_locks_only_themselves_out_of_a_citizens_number() {
    let host = TestHost::start_behind_proxy().await;
    let c = host.client();
    let login = |from: &'static str, password: &'static str| {
        let request = c
            .request(reqwest::Method::POST, "/api/login")
            .header("x-forwarded-for", from)
            .json(&json!({"phone": "13800000002", "password": password}));
        async move { request.send().await.unwrap() }
    };
    for _ in 0..5 {
        assert_eq!(
            login("203.0.113.66", "not the password").await.status(),
            401
        );
    }
    let refused = login("203.0.113.66", cityhost::cli::demo::DEMO_PASSWORD).await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    // The citizen, from their own address, signs in as ever.
    let own = login("198.51.100.20", cityhost::cli::demo::DEMO_PASSWORD).await;
    assert_eq!(own.status(), 200);

    // A client spraying wrong passwords over many numbers is stopped.
    let spray = |n: u32| {
        let request = c
            .request(reqwest::Method::POST, "/api/login")
            .header("x-forwarded-for", "203.0.113.99")
            .json(&json!({"phone": format!("1390000{n:04}"), "password": "guess"}));
        async move { request.send().await.unwrap().status() }
    };
    for n in 0..30 {
        assert_eq!(spray(n).await, 401, "attempt {n}");
    }
    assert_eq!(spray(30).await, 429);
}
