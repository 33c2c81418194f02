//! CSRF defences, cookie flags and the security headers, over HTTP against
//! a real host (docs/security.md).

use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::support::{Citizen, TestHost, csrf_cookie};

async fn refusal(r: Response) -> (u16, String) {
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    (status, body["error"]["code"].as_str().unwrap().to_string())
}

/// POSTs a form to the probe app's storage as `c`, with `headers`.
async fn kv_set(c: &Citizen, headers: &[(&str, &str)]) -> Response {
    let mut request = c.http.post(c.url("/apps/probe/kv/set"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request
        .form(&[("key", "k"), ("value", "v")])
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn cookie_authenticated_changes_need_the_sessions_csrf_token() {
    let host = TestHost::start().await;
    let c = host.demo_citizen("13800000001").await;
    let token = c.csrf_token().expect("the CSRF cookie");

    // A mini-app form post and a shell API call, without and with a wrong token.
    assert_eq!(
        refusal(kv_set(&c, &[]).await).await,
        (403, "csrf_token_missing".into())
    );
    let wrong = "A".repeat(43);
    assert_eq!(
        refusal(kv_set(&c, &[("x-csrf-token", &wrong)]).await).await,
        (403, "csrf_token_mismatch".into())
    );
    let r = c
        .http
        .post(format!("{}/api/consents", host.base))
        .json(&json!({"app_id": "housing-fund", "scope": "auth_id_number", "decision": "grant"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refusal(r).await, (403, "csrf_token_missing".into()));
    // Another session's token (even the same citizen's) is no good here.
    let other = host.demo_citizen("13800000001").await;
    let theirs = other.csrf_token().unwrap();
    assert_ne!(theirs, token);
    assert_eq!(
        refusal(kv_set(&c, &[("x-csrf-token", &theirs)]).await).await,
        (403, "csrf_token_mismatch".into())
    );
    // Nothing was stored by the refused posts.
    assert_eq!(c.get("/apps/probe/kv/get?key=k").await.status(), 404);

    // With its own token, from the shell's origin, the same posts pass.
    let r = kv_set(
        &c,
        &[
            ("x-csrf-token", &token),
            ("origin", &host.base),
            ("sec-fetch-site", "same-origin"),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        c.get("/apps/probe/kv/get?key=k")
            .await
            .text()
            .await
            .unwrap(),
        "v"
    );
    // Reads need no token.
    assert_eq!(c.get("/api/me").await.status(), 200);

    // Logout is a change too; afterwards both cookies are expired.
    let r = c
        .http
        .post(format!("{}/api/logout", host.base))
        .send()
        .await
        .unwrap();
    assert_eq!(refusal(r).await, (403, "csrf_token_missing".into()));
    let r = c.post_json("/api/logout", &json!({})).await;
    assert_eq!(r.status(), 204);
    let expired: Vec<&str> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(expired.len(), 2, "{expired:?}");
    assert!(
        expired.iter().all(|c| c.contains("Max-Age=0")),
        "{expired:?}"
    );
    // Without a session the old token authenticates nothing: 401.
    assert_eq!(c.csrf_token(), None);
    assert_eq!(kv_set(&c, &[("x-csrf-token", &token)]).await.status(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cookies_are_httponly_samesite_and_not_secure_over_plain_http() {
    let host = TestHost::start().await;
    let c = host.client();
    let r = c.register("13912340001", "a good password").await;
    assert_eq!(r.status(), 201);
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("cityhost_session="))
        .unwrap();
    let csrf = cookies
        .iter()
        .find(|c| c.starts_with("cityhost_csrf="))
        .unwrap();
    for cookie in [session, csrf] {
        assert!(cookie.contains("; Path=/"), "{cookie}");
        assert!(cookie.contains("; SameSite=Strict"), "{cookie}");
        assert!(!cookie.contains("Secure"), "{cookie}");
    }
    assert!(session.contains("; HttpOnly"), "{session}");
    // The shell's script must read the CSRF token.
    assert!(!csrf.contains("HttpOnly"), "{csrf}");
    assert_eq!(csrf_cookie(&r), c.csrf_token());
    assert!(r.headers().get("strict-transport-security").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn behind_tls_the_cookies_are_secure_and_hsts_is_sent() {
    let host = TestHost::start_behind_tls().await;
    let r = host
        .client()
        .post_json(
            "/api/login",
            &json!({"phone": "13800000001", "password": cityhost::cli::demo::DEMO_PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let cookies: Vec<&str> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(cookies.len(), 2);
    assert!(
        cookies.iter().all(|c| c.ends_with("; Secure")),
        "{cookies:?}"
    );
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
    // On every response, not only the login.
    let r = host.client().get("/nope").await;
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
}

#[tokio::test(flavor = "multi_thread")]
async fn other_sites_cannot_change_anything_not_even_sign_in() {
    let host = TestHost::start().await;
    let login = json!({"phone": "13800000001", "password": cityhost::cli::demo::DEMO_PASSWORD});
    let c = host.client();
    let attempt = |headers: Vec<(&'static str, String)>| {
        let mut request = c.http.post(format!("{}/api/login", host.base)).json(&login);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    let r = attempt(vec![("sec-fetch-site", "cross-site".into())])
        .await
        .unwrap();
    assert_eq!(refusal(r).await, (403, "cross_site_request".into()));
    let r = attempt(vec![("sec-fetch-site", "same-site".into())])
        .await
        .unwrap();
    assert_eq!(refusal(r).await, (403, "cross_site_request".into()));
    let r = attempt(vec![("origin", "https://evil.example".into())])
        .await
        .unwrap();
    assert_eq!(refusal(r).await, (403, "origin_mismatch".into()));
    let r = attempt(vec![("origin", "null".into())]).await.unwrap();
    assert_eq!(refusal(r).await, (403, "origin_mismatch".into()));
    // DNS rebinding: the attacker's name resolves to the host, so `Host`
    // and `Origin` agree on the attacker's site; the host trusts neither.
    let r = attempt(vec![
        ("host", "evil.example".into()),
        ("origin", "http://evil.example".into()),
    ])
    .await
    .unwrap();
    assert_eq!(refusal(r).await, (403, "origin_mismatch".into()));
    assert!(c.csrf_token().is_none(), "a refused login signs nobody in");
    let r = attempt(vec![
        ("origin", host.base.clone()),
        ("sec-fetch-site", "same-origin".into()),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), 200);

    // Signed in, a cross-site post is refused even with the right token.
    let token = c.csrf_token().unwrap();
    let r = kv_set(
        &c,
        &[("x-csrf-token", &token), ("sec-fetch-site", "cross-site")],
    )
    .await;
    assert_eq!(refusal(r).await, (403, "cross_site_request".into()));
    let r = kv_set(
        &c,
        &[("x-csrf-token", &token), ("origin", "http://localhost:1")],
    )
    .await;
    assert_eq!(refusal(r).await, (403, "origin_mismatch".into()));
    let r = kv_set(
        &c,
        &[
            ("x-csrf-token", &token),
            ("host", "evil.example"),
            ("origin", "http://evil.example"),
        ],
    )
    .await;
    assert_eq!(refusal(r).await, (403, "origin_mismatch".into()));
    // The host's public URL names this machine (127.0.0.1), so the shell
    // opened as `localhost` on the same port is the host's own origin too.
    let port = host.base.rsplit(':').next().unwrap();
    let localhost = format!("http://localhost:{port}");
    let r = kv_set(&c, &[("x-csrf-token", &token), ("origin", &localhost)]).await;
    assert_eq!(r.status(), 200);
    // A cross-site GET (a link from elsewhere) changes nothing and is served.
    let r = c
        .http
        .get(format!("{}/", host.base))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn bearer_token_apis_need_no_csrf_token() {
    let host = TestHost::start().await;
    // No cookie, no CSRF token: the operator's bearer token authenticates.
    let r = reqwest::Client::new()
        .post(format!("{}/api/operator/topups", host.base))
        .bearer_auth(&host.platform.operator_token)
        .json(&json!({"phone": "13800000001", "amount_fen": 100}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // A cookie beside a bearer token changes nothing for a bearer API.
    let c = host.demo_citizen("13800000002").await;
    let r = c
        .http
        .post(format!("{}/api/operator/topups", host.base))
        .bearer_auth(&host.platform.operator_token)
        .json(&json!({"phone": "13800000002", "amount_fen": 100}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}

/// Asserts the headers every response carries; returns its CSP.
fn assert_security_headers(what: &str, r: &Response) -> String {
    let h = r.headers();
    let get = |name: &str| {
        h.get(name)
            .unwrap_or_else(|| panic!("{what}: no {name}"))
            .to_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(get("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(get("x-frame-options"), "DENY", "{what}");
    assert_eq!(get("cross-origin-opener-policy"), "same-origin", "{what}");
    assert_eq!(get("cross-origin-resource-policy"), "same-origin", "{what}");
    let permissions = get("permissions-policy");
    for feature in ["camera=()", "microphone=()", "geolocation=()"] {
        assert!(permissions.contains(feature), "{what}: {permissions}");
    }
    assert!(h.get("strict-transport-security").is_none(), "{what}");
    let csp = get("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    csp
}

#[tokio::test(flavor = "multi_thread")]
async fn every_kind_of_response_carries_the_security_headers() {
    let host = TestHost::start().await;
    let anonymous = host.client();
    let c = host.demo_citizen("13800000001").await;
    const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

    let shell = anonymous.get("/").await;
    assert_eq!(shell.status(), 200);
    let csp = assert_security_headers("shell", &shell);
    assert!(
        csp.contains("script-src 'self'"),
        "the shell keeps its own: {csp}"
    );
    let asset = anonymous.get("/shell/style.css").await;
    assert_eq!(asset.status(), 200);
    assert_eq!(assert_security_headers("asset", &asset), API_CSP);
    assert_eq!(asset.headers()["cache-control"], "no-cache");

    for (what, client, path, status) in [
        ("API ok", &c, "/api/me", 200),
        ("API 404", &c, "/api/no-such-route", 404),
        ("API 401", &anonymous, "/api/me", 401),
        ("page 404", &anonymous, "/no-such-page", 404),
        ("health", &anonymous, "/healthz", 200),
    ] {
        let r = client.get(path).await;
        assert_eq!(r.status(), status, "{what}");
        assert_eq!(assert_security_headers(what, &r), API_CSP);
        assert_eq!(r.headers()["cache-control"], "no-store", "{what}");
    }
    // A host refusal (405 rewritten by the JSON error layer, a CSRF 403).
    let r = anonymous.request(Method::PUT, "/").send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(assert_security_headers("405", &r), API_CSP);
    let r = kv_set(&c, &[]).await;
    assert_eq!(r.status(), 403);
    assert_eq!(assert_security_headers("CSRF 403", &r), API_CSP);

    // Mini-apps: a view and the app's own 404 (the app's content,
    // sandboxed), then a trapped app (the host's JSON error).
    for (what, path, status) in [
        ("mini-app view", "/apps/utility-bills/", 200),
        ("mini-app 404", "/apps/probe/no-such-route", 404),
        ("mini-app failure", "/apps/probe/trap", 502),
    ] {
        let r = c.get(path).await;
        assert_eq!(r.status(), status, "{what}");
        let csp = assert_security_headers(what, &r);
        if status == 502 {
            assert_eq!(csp, API_CSP);
        } else {
            assert!(csp.starts_with("sandbox"), "{what}: {csp}");
        }
        assert_eq!(r.headers()["cache-control"], "no-store", "{what}");
    }

    // The live inbox stream (headers only: the body never ends).
    let r = c.get("/api/inbox/stream").await;
    assert_eq!(r.status(), 200);
    assert_eq!(assert_security_headers("SSE", &r), API_CSP);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mini_app_cannot_set_cookies_or_relax_the_security_headers() {
    let host = TestHost::start().await;
    let c = host.demo_citizen("13800000001").await;
    let session_before = c.csrf_token();
    let r = c.get("/apps/probe/hostile-headers").await;
    assert_eq!(r.status(), 200);
    let csp = assert_security_headers("hostile app", &r);
    assert!(csp.starts_with("sandbox; default-src 'none'"), "{csp}");
    let h = r.headers();
    for dropped in [
        "set-cookie",
        "access-control-allow-origin",
        "access-control-allow-credentials",
        "strict-transport-security",
        "refresh",
    ] {
        assert!(h.get(dropped).is_none(), "{dropped}: {:?}", h.get(dropped));
    }
    assert_eq!(h.get_all("content-security-policy").iter().count(), 1);
    assert_eq!(h.get_all("x-frame-options").iter().count(), 1);
    assert_eq!(h["cache-control"], "no-store");
    // A content header the app may set is kept.
    assert_eq!(h["content-language"], "zh-CN");
    // The forged session cookie never reached the jar: still signed in.
    assert_eq!(c.csrf_token(), session_before);
    assert_eq!(c.get("/api/me").await.status(), 200);
}
