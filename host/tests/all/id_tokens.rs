//! ID tokens minted through a real mini-app, verified the way a department
//! backend does (`examples/verify-id-token`) against the host's
//! `/.well-known/jwks.json`, and every forgery the backend must refuse.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use verify_id_token::{VerifyError, verify};

use crate::support::TestHost;

const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// The host's active signing key, read from its key file (as an attacker
/// who stole it would; used here to sign tokens that are wrong in time).
fn host_key(host: &TestHost) -> (String, EncodingKey) {
    let file: Value = serde_json::from_slice(
        &std::fs::read(host.data_dir().join("keys/id-token-keys.json")).unwrap(),
    )
    .unwrap();
    let key = file["keys"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|k| k["retired_at"].is_null())
        .unwrap();
    let seed = base64::engine::general_purpose::STANDARD
        .decode(key["seed"].as_str().unwrap())
        .unwrap();
    let mut der = PKCS8_ED25519_PREFIX.to_vec();
    der.extend_from_slice(&seed);
    (
        key["kid"].as_str().unwrap().to_string(),
        EncodingKey::from_ed_der(&der),
    )
}

fn sign(kid: &str, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// An ID token minted by `app` for the citizen `c`.
async fn token_of(c: &crate::support::Citizen, app: &str) -> String {
    c.get_json(&format!("/apps/{app}/token"), 200).await["token"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn jwks(host: &TestHost) -> JwkSet {
    verify_id_token::fetch_jwks(&host.base).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_carry_only_granted_claims_and_verify() {
    let host = TestHost::start().await;
    let c = host.demo_citizen("13800000001").await;
    let ids = c.get_json("/apps/id-probe/ids", 200).await;

    // auth_base only: openid as sub, unionid, acr; nothing personal.
    let token = token_of(&c, "id-probe").await;
    let keys = jwks(&host).await;
    assert_eq!(keys.keys.len(), 1);
    assert!(keys.keys[0].common.key_id.is_some());
    let claims = verify(&token, &keys, &host.base, "id-probe").unwrap();
    assert_eq!(claims.iss, host.base);
    assert_eq!(claims.aud, "id-probe");
    assert_eq!(claims.sub, ids["openid"]);
    assert_eq!(claims.acr, "L2");
    assert_eq!(claims.scope, "auth_base");
    assert!(claims.exp - claims.iat <= 600, "exp at most 10 minutes");
    assert!(claims.exp > now());
    assert_eq!(claims.scoped["unionid"], ids["unionid"]);
    assert!(!claims.scoped.contains_key("name"));
    assert!(!claims.scoped.contains_key("id_number"));

    // With auth_user: masked claims and the asked-for fields.
    c.post_json(
        "/api/consents",
        &json!({"app_id": "id-probe", "scope": "auth_user", "decision": "grant"}),
    )
    .await;
    let token = token_of(&c, "id-probe").await;
    let claims = verify(&token, &keys, &host.base, "id-probe").unwrap();
    assert_eq!(claims.scope, "auth_base auth_user");
    assert_eq!(claims.scoped["name"], "*三");
    assert_eq!(claims.scoped["id_number_masked"], "3****************X");
    assert_eq!(claims.scoped["gender"], "male");
    assert_eq!(claims.scoped["birth_year"], 1990);
    assert!(!claims.scoped.contains_key("id_number"));
    // Each token is unique.
    let again = token_of(&c, "id-probe").await;
    assert_ne!(
        verify(&again, &keys, &host.base, "id-probe").unwrap().jti,
        claims.jti
    );

    // The same citizen in another app: another audience, another subject.
    let twin = token_of(&c, "id-probe-twin").await;
    let twin_claims = verify(&twin, &keys, &host.base, "id-probe-twin").unwrap();
    assert_ne!(twin_claims.sub, claims.sub);
    assert_eq!(twin_claims.scope, "auth_base");
    // A level-1 citizen's token says so.
    let fresh = host.new_citizen("13900000301").await;
    let token = token_of(&fresh, "id-probe").await;
    assert_eq!(
        verify(&token, &keys, &host.base, "id-probe").unwrap().acr,
        "L1"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_and_misused_tokens_are_refused() {
    let host = TestHost::start().await;
    let c = host.demo_citizen("13800000001").await;
    let token = token_of(&c, "id-probe").await;
    let keys = jwks(&host).await;
    let good = verify(&token, &keys, &host.base, "id-probe").unwrap();
    let (kid, key) = host_key(&host);
    let claims = serde_json::to_value(&good).unwrap();
    let parts: Vec<&str> = token.split('.').collect();

    // alg: none, no signature.
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT", "kid": kid})),
        parts[1]
    );
    assert!(matches!(
        verify(&none, &keys, &host.base, "id-probe"),
        Err(VerifyError::Algorithm)
    ));

    // HS256 with the public key as the HMAC secret.
    let jwk = keys.find(&kid).unwrap();
    let public = match &jwk.algorithm {
        jsonwebtoken::jwk::AlgorithmParameters::OctetKeyPair(p) => {
            URL_SAFE_NO_PAD.decode(&p.x).unwrap()
        }
        other => panic!("not an OKP key: {other:?}"),
    };
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.clone());
    let hs256 = jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_secret(&public).unwrap(),
    )
    .unwrap();
    assert!(matches!(
        verify(&hs256, &keys, &host.base, "id-probe"),
        Err(VerifyError::Algorithm)
    ));

    // Wrong audience (another app's backend) and wrong issuer.
    assert!(matches!(
        verify(&token, &keys, &host.base, "housing-fund"),
        Err(VerifyError::Invalid(_))
    ));
    assert!(matches!(
        verify(&token, &keys, "http://evil.example", "id-probe"),
        Err(VerifyError::Invalid(_))
    ));

    // Expired, and not yet valid (beyond the 30 s leeway), signed with the
    // host's own key.
    let mut expired = claims.clone();
    expired["iat"] = json!(now() - 1200);
    expired["nbf"] = json!(now() - 1200);
    expired["exp"] = json!(now() - 600);
    assert!(matches!(
        verify(&sign(&kid, &key, &expired), &keys, &host.base, "id-probe"),
        Err(VerifyError::Invalid(_))
    ));
    let mut early = claims.clone();
    early["nbf"] = json!(now() + 300);
    early["exp"] = json!(now() + 600);
    assert!(matches!(
        verify(&sign(&kid, &key, &early), &keys, &host.base, "id-probe"),
        Err(VerifyError::Invalid(_))
    ));
    // The same claims with sane times pass: the refusals above are the times.
    assert!(verify(&sign(&kid, &key, &claims), &keys, &host.base, "id-probe").is_ok());

    // Unknown kid: a key the host never published, and the host's key
    // under a made-up id.
    let mut seed = [7u8; 32];
    seed[0] = 1;
    let mut der = PKCS8_ED25519_PREFIX.to_vec();
    der.extend_from_slice(&seed);
    let stranger = EncodingKey::from_ed_der(&der);
    assert!(matches!(
        verify(
            &sign("stranger", &stranger, &claims),
            &keys,
            &host.base,
            "id-probe"
        ),
        Err(VerifyError::UnknownKey)
    ));
    assert!(matches!(
        verify(
            &sign("0000000000000000", &key, &claims),
            &keys,
            &host.base,
            "id-probe"
        ),
        Err(VerifyError::UnknownKey)
    ));
    // A stranger's key under the host's kid fails the signature.
    assert!(matches!(
        verify(
            &sign(&kid, &stranger, &claims),
            &keys,
            &host.base,
            "id-probe"
        ),
        Err(VerifyError::Invalid(_))
    ));

    // Tampered payload: another subject, the host's signature kept.
    let mut tampered = claims.clone();
    tampered["sub"] = json!("ffffffffffffffffffffffffffffffff");
    let forged = format!("{}.{}.{}", parts[0], b64(&tampered), parts[2]);
    assert!(matches!(
        verify(&forged, &keys, &host.base, "id-probe"),
        Err(VerifyError::Invalid(_))
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn rotation_keeps_old_tokens_verifiable() {
    let host = TestHost::start().await;
    let c = host.demo_citizen("13800000001").await;
    let old = token_of(&c, "id-probe").await;
    let old_kid = jsonwebtoken::decode_header(&old).unwrap().kid.unwrap();

    let rotate = |token: Option<&str>| {
        let mut request =
            reqwest::Client::new().post(format!("{}/api/operator/id-keys/rotate", host.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    assert_eq!(rotate(None).await.unwrap().status(), 401);
    let r = rotate(Some(&host.platform.operator_token)).await.unwrap();
    assert_eq!(r.status(), 200);
    let rotation: Value = r.json().await.unwrap();
    assert_eq!(rotation["retired_kid"], old_kid);
    let new_kid = rotation["new_kid"].as_str().unwrap().to_string();

    let keys = jwks(&host).await;
    assert_eq!(keys.keys.len(), 2);
    assert!(keys.find(&old_kid).is_some() && keys.find(&new_kid).is_some());
    assert!(verify(&old, &keys, &host.base, "id-probe").is_ok());
    let new = token_of(&c, "id-probe").await;
    assert_eq!(
        jsonwebtoken::decode_header(&new).unwrap().kid.as_deref(),
        Some(new_kid.as_str())
    );
    assert!(verify(&new, &keys, &host.base, "id-probe").is_ok());
    let r = reqwest::get(format!("{}/.well-known/jwks.json", host.base))
        .await
        .unwrap();
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
}
