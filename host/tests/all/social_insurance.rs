//! 社保查询 (social-insurance) through real parts: the host, the mini-app
//! component, the provincial records service started from the app's
//! `[dev.backend]` (`zj-social-insurance`), and the offline verifier
//! (`examples/verify-signature`, library and binary) on the certificate.

use std::path::Path;
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use verify_signature::{Refused, load_jwks, verify};

use crate::support::{Citizen, TestHost, actions, package_binary};

const APP: &str = "social-insurance";
const VIEW: &str = "application/vnd.cityhost.view+json";
const ZHANG: &str = "13800000001";
const LI: &str = "13800000002";

/// The view answered to GET `path` of the app, asserting the status and
/// the content type.
async fn page(c: &Citizen, path: &str, status: u16) -> Value {
    let r = c.get(&format!("/apps/{APP}{path}")).await;
    let got = r.status().as_u16();
    let content_type = r.headers()["content-type"].to_str().unwrap().to_string();
    let body: Value = r.json().await.unwrap();
    assert_eq!(got, status, "GET {path}: {body}");
    assert!(
        content_type.starts_with(VIEW),
        "content type {content_type}"
    );
    body
}

async fn decide(c: &Citizen, decision: &str) {
    let r = c
        .post_json(
            "/api/consents",
            &json!({"app_id": APP, "scope": "auth_id_number", "decision": decision}),
        )
        .await;
    assert_eq!(r.status(), 204, "{decision}");
}

/// The data of the view's `qr` blocks.
fn qr_data(view: &Value) -> Vec<String> {
    view["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "qr")
        .map(|b| b["data"].as_str().unwrap().to_string())
        .collect()
}

/// `cargo run -p verify-signature -- jwks.json social-insurance TOKEN`:
/// exit code and standard output.
fn verify_offline(jwks: &Path, token: &str) -> (i32, String) {
    let out = Command::new(package_binary("verify-signature"))
        .arg(jwks)
        .arg(APP)
        .arg(token)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_verified_citizen_sees_only_their_own_record_after_consent() {
    let host = TestHost::start().await;
    let zhang = host.demo_citizen(ZHANG).await;

    // A province-level service: listed in Ningbo as in Hangzhou.
    for place in ["3302", "330122"] {
        let apps = zhang
            .get_json(&format!("/api/apps?division={place}"), 200)
            .await;
        let listed = apps
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == APP)
            .unwrap_or_else(|| panic!("{APP} under {place}: {apps}"))
            .clone();
        assert_eq!(listed["department"]["level"], "province");
        assert_eq!(listed["department"]["division_code"], "33");
        assert_eq!(listed["name"], "社保查询");
    }

    // The identity number is asked for on the host's consent sheet, with
    // its purpose.
    let asking = page(&zhang, "/", 403).await;
    assert_eq!(actions(&asking, "consent")[0]["scope"], "auth_id_number");
    let sheet = zhang
        .get_json(&format!("/api/consents/{APP}/auth_id_number"), 200)
        .await;
    assert_eq!(sheet["department"], "浙江省社会保险和就业服务中心");
    assert!(
        sheet["purpose"].as_str().unwrap().contains("参保证明"),
        "{sheet}"
    );

    // Refused: no data, on any page; the app still answers.
    decide(&zhang, "deny").await;
    for path in ["/", "/contributions", "/certificate"] {
        let refused = page(&zhang, path, 403).await;
        let text = refused.to_string();
        assert!(!text.contains("杭州西湖数智科技有限公司"), "{path}: {text}");
        assert!(qr_data(&refused).is_empty());
    }

    decide(&zhang, "grant").await;
    let record = page(&zhang, "/", 200).await;
    let text = record.to_string();
    for expected in [
        "张三",
        "3301**********123X",
        "杭州西湖数智科技有限公司",
        "企业职工基本养老保险",
        "职工基本医疗保险",
        "失业保险",
        "工伤保险",
        "生育保险",
        "正常缴费",
        "养老保险个人账户",
        "医保个人账户",
        "¥12,654.30",
        "2018-03 至 2018-05 断缴 3 个月",
        "领取失业保险金，每月 ¥1,512.00",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
    assert!(!text.contains("33010619900101123X"), "the number is masked");

    // The monthly history, 12 a page, with unit, base and both parts.
    let history = page(&zhang, "/contributions", 200).await;
    let list = history["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "list")
        .unwrap();
    let months = list["items"].as_array().unwrap();
    assert_eq!(months.len(), 12, "{history}");
    assert!(
        months[0]["subtitle"]
            .as_str()
            .unwrap()
            .contains("杭州西湖数智科技有限公司")
    );
    // The first spell, through another unit; the gap has no months.
    let early = page(&zhang, "/contributions?from=2018-01&to=2018-07", 200).await;
    let early_text = early.to_string();
    assert!(
        early_text.contains("杭州滨江云帆网络有限公司")
            && early_text.contains("2018-02")
            && early_text.contains("2018-06")
            && !early_text.contains("\"2018-04\""),
        "{early_text}"
    );
    assert!(early_text.contains("4 个月"), "{early_text}");
    // One month, insurance by insurance: 8 % of ¥9,000.00 for pension.
    let june = page(&zhang, "/month?month=2018-06", 200).await;
    let june_text = june.to_string();
    assert!(
        june_text.contains("¥9,000.00") && june_text.contains("¥720.00"),
        "{june_text}"
    );

    // Bad input: 400 naming the field, before anything is asked.
    for (path, field) in [
        ("/contributions?from=2026-13", "from"),
        ("/contributions?to=2026", "to"),
        ("/contributions?from=2026-02&to=2026-01", "from"),
        ("/contributions?page=0", "page"),
        ("/month?month=201806", "month"),
    ] {
        let refused = page(&zhang, path, 400).await;
        assert!(refused.to_string().contains(field), "{path}: {refused}");
    }

    // 李四 sees hers, and nothing of 张三's.
    let li = host.demo_citizen(LI).await;
    decide(&li, "grant").await;
    let hers = page(&li, "/", 200).await.to_string();
    assert!(
        hers.contains("李四") && hers.contains("杭州余杭未来智造有限公司"),
        "{hers}"
    );
    for his in [
        "张三",
        "杭州西湖数智科技有限公司",
        "杭州滨江云帆网络有限公司",
        "断缴",
    ] {
        assert!(!hers.contains(his), "{his} in {hers}");
    }
    let her_history = page(&li, "/contributions?from=2008-01&to=2016-12&page=9", 200)
        .await
        .to_string();
    assert!(!her_history.contains("杭州西湖数智科技有限公司"));
    assert!(
        her_history.contains("杭州上城商贸集团有限公司"),
        "{her_history}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_certificate_verifies_offline_and_a_tampered_one_is_refused() {
    let host = TestHost::start().await;
    let zhang = host.demo_citizen(ZHANG).await;
    decide(&zhang, "grant").await;
    let before = now_secs();
    let certificate = page(&zhang, "/certificate", 200).await;
    let text = certificate.to_string();
    for expected in [
        "兹证明 张三（证件号码 3301**********123X）自 2012-07 起",
        "现参保单位为杭州西湖数智科技有限公司",
        "有效期至",
        "90 天",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
    let tokens = qr_data(&certificate);
    assert_eq!(tokens.len(), 1, "{text}");
    let token = &tokens[0];
    let qr = certificate["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "qr")
        .unwrap();
    assert!(
        qr["svg"]
            .as_str()
            .unwrap()
            .starts_with("data:image/svg+xml;base64,"),
        "the host drew the code"
    );

    // Online once: the app's JWK Set from the host. Offline from here on.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jwks.json");
    let r = reqwest::get(format!("{}/.well-known/apps/{APP}/jwks.json", host.base))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    std::fs::write(&file, r.bytes().await.unwrap()).unwrap();
    let jwks = load_jwks(&file).unwrap();

    let claims = verify(token, &jwks, APP).unwrap();
    assert_eq!(claims["iss"], APP);
    assert_eq!(claims["doc"], "zj-si-participation");
    assert_eq!(claims["name"], "张三");
    assert_eq!(claims["id_number_masked"], "3301**********123X");
    assert_eq!(claims["unit"], "杭州西湖数智科技有限公司");
    assert_eq!(claims["first_month"], "2012-07");
    let insurances = claims["insurances"].as_array().unwrap();
    assert_eq!(insurances.len(), 5);
    assert!(insurances.iter().all(|i| i["status"] == "paying"));
    let exp = claims["exp"].as_u64().unwrap();
    assert!(
        exp >= before + 90 * 86_400 && exp <= now_secs() + 90 * 86_400,
        "{exp}"
    );
    let paid = claims["paid_months"].as_u64().unwrap();
    assert!(
        text.contains(&format!("{paid} 个月")),
        "the page says what the token says"
    );
    assert!(!token.contains("33010619900101123X"));

    // The binary, as the docs show it.
    let (code, out) = verify_offline(&file, token);
    assert_eq!(code, 0, "{out}");
    let printed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(printed["name"], "张三");

    // Tampered: another name in the payload, header and signature kept.
    let parts: Vec<&str> = token.split('.').collect();
    let mut forged_claims = claims.clone();
    forged_claims.insert("name".into(), json!("李四"));
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged_claims).unwrap()),
        parts[2]
    );
    let refused = verify(&forged, &jwks, APP).unwrap_err();
    assert!(matches!(refused, Refused::BadSignature), "{refused}");
    assert_eq!(verify_offline(&file, &forged).0, 5);
    // Nor is it another app's certificate.
    assert!(matches!(
        verify(token, &jwks, "housing-fund"),
        Err(Refused::WrongIssuer(_))
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn level_one_is_refused_and_no_record_is_a_clear_page() {
    let host = TestHost::start().await;
    let c = host.new_citizen("13900000801").await;
    // Phone-verified only: the host refuses before the app runs.
    let r = c.get(&format!("/apps/{APP}/")).await;
    assert_eq!(r.status(), 403);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "assurance_required", "{e}");

    // Verified as a resident insured nowhere in Zhejiang: 无参保记录, no
    // certificate.
    let r = c
        .post_json(
            "/api/me/verification",
            &json!({"name": "买买提·艾力", "id_number": "440304199511200034"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    decide(&c, "grant").await;
    for path in ["/", "/certificate", "/contributions"] {
        let none = page(&c, path, 200).await;
        let text = none.to_string();
        assert!(text.contains("无参保记录"), "{path}: {text}");
        assert!(qr_data(&none).is_empty());
    }

    // 王五 of the registry: a gap with unemployment benefit, then a new unit.
    let wang = host.new_citizen("13900000802").await;
    let r = wang
        .post_json(
            "/api/me/verification",
            &json!({"name": "王五", "id_number": "330106199203041023"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    decide(&wang, "grant").await;
    let record = page(&wang, "/", 200).await.to_string();
    assert!(
        record.contains("2020-07 至 2021-03 断缴 9 个月")
            && record.contains("失业保险金")
            && record.contains("杭州余杭未来智造有限公司"),
        "{record}"
    );

    // The records service itself refuses a malformed number by name.
    let base = host.backend_url(APP);
    let r = reqwest::get(format!("{base}/persons/33010619900101123/summary"))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "id_number");
}
