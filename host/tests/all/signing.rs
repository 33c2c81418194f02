//! The `sign` capability end to end: a real component has its claims
//! signed over HTTP, the app's JWK Set is fetched over HTTP and saved, and
//! the offline verifier (`examples/verify-signature`) accepts the token and
//! refuses every alteration; rotation through the operator's API and CLI
//! keeps old tokens verifiable until the old key is removed.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cityhost::manifest::Manifest;
use cityhost::registry::{self, AppLoadError};
use cityhost::runtime::LoadError;
use jsonwebtoken::jwk::JwkSet;
use serde_json::{Value, json};
use verify_signature::{Refused, load_jwks, verify};

use crate::support::{Citizen, TestHost, components, eventually, workspace};

const APP: &str = "sign-probe";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `POST /apps/sign-probe/sign` with `claims` as the body: the status and
/// the answer (`{"token"}` or `{"invalid_argument"}`).
async fn sign_raw(c: &Citizen, claims: &str) -> (u16, Value) {
    let r = c
        .request(reqwest::Method::POST, &format!("/apps/{APP}/sign"))
        .header("content-type", "application/json")
        .body(claims.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

/// A token the app had signed for `claims`.
async fn signed(c: &Citizen, claims: &Value) -> String {
    let (status, answer) = sign_raw(c, &claims.to_string()).await;
    assert_eq!(status, 200, "{answer}");
    answer["token"].as_str().unwrap().to_string()
}

/// Fetches the app's JWK Set over HTTP and saves it to `path`, as a
/// verifier does while online; checks it is public and cacheable.
async fn save_jwks(host: &TestHost, path: &std::path::Path) -> JwkSet {
    let r = reqwest::get(format!("{}/.well-known/apps/{APP}/jwks.json", host.base))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cache = r.headers()["cache-control"].to_str().unwrap().to_string();
    assert!(cache.starts_with("public, max-age="), "{cache}");
    std::fs::write(path, r.bytes().await.unwrap()).unwrap();
    load_jwks(path).unwrap()
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

/// `token` with its payload replaced by `claims` (header and signature kept).
fn with_payload(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
    format!("{}.{payload}.{}", parts[0], parts[2])
}

/// `token` with its header's `kid` replaced (payload and signature kept).
fn with_kid(token: &str, kid: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    header["kid"] = json!(kid);
    let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap());
    format!("{header}.{}.{}", parts[1], parts[2])
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_claims_verify_offline_and_alterations_are_refused() {
    let host = TestHost::start().await;
    let c = host.demo_citizen("13800000001").await;
    let exp = now() + 3600;
    let token = signed(&c, &json!({"ticket": "T-1", "seat": "3-12", "exp": exp})).await;

    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::EdDSA);
    let kid = header.kid.clone().unwrap();

    // Online once: save the JWK Set. Offline from here on.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jwks.json");
    let jwks = save_jwks(&host, &file).await;
    assert_eq!(jwks.keys.len(), 1);
    assert_eq!(jwks.keys[0].common.key_id.as_deref(), Some(kid.as_str()));

    let claims = verify(&token, &jwks, APP).unwrap();
    assert_eq!(claims["ticket"], "T-1");
    assert_eq!(claims["seat"], "3-12");
    assert_eq!(claims["iss"], APP);
    assert_eq!(claims["exp"], exp);
    let iat = claims["iat"].as_u64().unwrap();
    assert!(iat.abs_diff(now()) < 60, "iat {iat} is UTC seconds");

    // A changed payload: the signature no longer matches.
    let forged = with_payload(
        &token,
        &json!({"ticket": "T-1", "seat": "1-01", "exp": exp, "iss": APP, "iat": iat}),
    );
    let refused = verify(&forged, &jwks, APP).unwrap_err();
    assert!(matches!(refused, Refused::BadSignature), "{refused}");
    assert_eq!(refused.exit_code(), 5);
    // The right token for the wrong app.
    let refused = verify(&token, &jwks, "move-my-car").unwrap_err();
    assert!(matches!(refused, Refused::WrongIssuer(_)), "{refused}");
    assert_eq!(refused.exit_code(), 6);
    // Expired (the app may set a past `exp`; the verifier refuses it).
    let old = signed(&c, &json!({"ticket": "T-0", "exp": now() - 3600})).await;
    let refused = verify(&old, &jwks, APP).unwrap_err();
    assert!(matches!(refused, Refused::Expired), "{refused}");
    assert_eq!(refused.exit_code(), 7);
    // A key the set does not hold.
    let refused = verify(&with_kid(&token, "00000000deadbeef"), &jwks, APP).unwrap_err();
    assert!(matches!(refused, Refused::UnknownKey), "{refused}");
    assert_eq!(refused.exit_code(), 4);
    // Not a token at all.
    assert!(matches!(verify("a.b", &jwks, APP), Err(Refused::Malformed)));
    // Without `exp` a token does not expire.
    let lasting = signed(&c, &json!({"certificate": "C-9"})).await;
    assert_eq!(verify(&lasting, &jwks, APP).unwrap()["certificate"], "C-9");

    // The JWK Set of an unknown app is a 404.
    let r = reqwest::get(format!(
        "{}/.well-known/apps/no-such-app/jwks.json",
        host.base
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn claims_the_host_sets_or_cannot_sign_are_refused_by_name() {
    let host = TestHost::start().await;
    let c = host.demo_citizen("13800000001").await;
    let big = json!({"note": "x".repeat(9 * 1024)}).to_string();
    for (claims, expected) in [
        (r#"{"iss": "move-my-car"}"#, "iss: a reserved claim"),
        (r#"{"iat": 1}"#, "iat: a reserved claim"),
        (
            r#"{"exp": "tomorrow"}"#,
            "exp: must be a non-negative integer",
        ),
        (r#"{"exp": -5}"#, "exp: must be a non-negative integer"),
        ("[1, 2]", "claims: not a JSON object"),
        ("\"text\"", "claims: not a JSON object"),
        ("{not json", "claims: not JSON"),
        (big.as_str(), "claims: larger than 8192 bytes"),
    ] {
        let (status, answer) = sign_raw(&c, claims).await;
        assert_eq!(status, 400, "{claims}: {answer}");
        let message = answer["invalid_argument"].as_str().unwrap_or_default();
        assert!(message.starts_with(expected), "{claims}: {message}");
    }
    // The refusals are audited as such, without the claims.
    let path = format!("/api/operator/audit?app={APP}");
    eventually("the refusals audited", || async {
        let records = host.operator_json(&path).await;
        records
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r.to_string().contains("invalid-argument"))
            .count()
            >= 8
    })
    .await;
    let text = host.operator_json(&path).await.to_string();
    assert!(text.contains("sign.sign"), "{text}");
    assert!(!text.contains("tomorrow"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn rotation_keeps_old_tokens_verifiable_until_the_key_is_removed() {
    let host = TestHost::start().await;
    let c = host.demo_citizen("13800000001").await;
    let dir = tempfile::tempdir().unwrap();
    let before = signed(&c, &json!({"ticket": "before"})).await;
    let old_kid = kid_of(&before);
    let jwks_before = save_jwks(&host, &dir.path().join("before.json")).await;

    // The operator rotates through the CLI (which calls the API).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cityhost"))
        .args(["operator", "rotate-sign-key", "--host", &host.base, APP])
        .env("CITYHOST_TOKEN", &host.platform.operator_token)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rotation: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rotation["retired_kid"], old_kid.as_str());
    let new_kid = rotation["new_kid"].as_str().unwrap().to_string();
    assert_ne!(new_kid, old_kid);

    let after = signed(&c, &json!({"ticket": "after"})).await;
    assert_eq!(kid_of(&after), new_kid);
    let jwks = save_jwks(&host, &dir.path().join("after.json")).await;
    assert_eq!(jwks.keys.len(), 2);
    assert_eq!(verify(&before, &jwks, APP).unwrap()["ticket"], "before");
    assert_eq!(verify(&after, &jwks, APP).unwrap()["ticket"], "after");
    // A set saved before the rotation does not know the new key.
    assert!(matches!(
        verify(&after, &jwks_before, APP),
        Err(Refused::UnknownKey)
    ));

    // The API: the keys, without private parts; the active key cannot be
    // removed; a retired one can, and its tokens stop verifying.
    let keys = host
        .operator_json(&format!("/api/operator/apps/{APP}/sign-keys"))
        .await;
    let keys = keys["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["kid"], old_kid.as_str());
    assert!(keys[0]["retired_at"].is_u64());
    assert!(keys[1]["retired_at"].is_null());
    assert!(!keys[0].to_string().contains("seed"));
    let operator = reqwest::Client::new();
    let delete = |kid: &str| {
        operator
            .delete(format!(
                "{}/api/operator/apps/{APP}/sign-keys/{kid}",
                host.base
            ))
            .bearer_auth(&host.platform.operator_token)
            .send()
    };
    let r = delete(&new_kid).await.unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "kid");
    let r = delete(&old_kid).await.unwrap();
    assert_eq!(r.status(), 200);
    let jwks = save_jwks(&host, &dir.path().join("removed.json")).await;
    assert!(matches!(
        verify(&before, &jwks, APP),
        Err(Refused::UnknownKey)
    ));
    assert!(verify(&after, &jwks, APP).is_ok());

    // Only the operator rotates, and only known apps.
    let r = operator
        .post(format!(
            "{}/api/operator/apps/{APP}/sign-keys/rotate",
            host.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = operator
        .post(format!(
            "{}/api/operator/apps/no-such-app/sign-keys/rotate",
            host.base
        ))
        .bearer_auth(&host.platform.operator_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_component_importing_sign_without_the_permission_is_refused() {
    let host = TestHost::start().await;
    let dir = workspace().join("host/tests/fixtures/sign-probe");
    let text = std::fs::read_to_string(dir.join("cityhost.toml")).unwrap();
    let mut manifest = Manifest::parse(&text).unwrap();
    manifest.permissions.retain(|p| p.name() != "sign");
    let bytes = std::fs::read(components().join("sign_probe.wasm")).unwrap();
    let p = &host.platform;
    match registry::load_app(&p.runtime, &p.services.directory, manifest, &bytes).await {
        Err(AppLoadError::Load(e @ LoadError::UndeclaredImport { .. })) => {
            let message = e.to_string();
            assert!(message.contains("cityhost:miniapp/sign@0.2.0"), "{message}");
        }
        Err(e) => panic!("refused for the wrong reason: {e}"),
        Ok(_) => panic!("a component importing sign loaded without the sign permission"),
    }
}
