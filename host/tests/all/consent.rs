//! Consent through the real shell API and a real mini-app: the sheet, deny
//! (the app keeps working), grant, the grant list, revocation with
//! immediate effect, and scopes without a declared purpose.

use serde_json::{Value, json};

use crate::support::{TestHost, actions};

async fn decide(c: &crate::support::Citizen, app: &str, scope: &str, decision: &str) -> u16 {
    c.post_json(
        "/api/consents",
        &json!({"app_id": app, "scope": scope, "decision": decision}),
    )
    .await
    .status()
    .as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn grant_deny_and_revoke_auth_user() {
    let host = TestHost::start().await;
    let c = host.demo_citizen("13800000001").await;

    // Without a grant the app answers its consent view naming the scope.
    let r = c.get("/apps/id-probe/profile").await;
    assert_eq!(r.status(), 403);
    let asking: Value = r.json().await.unwrap();
    let consent = actions(&asking, "consent");
    assert_eq!(consent[0]["scope"], "auth_user", "{asking}");

    // The host's sheet: app, department, division, purpose, fields (with
    // the extra fields the manifest asks for).
    let sheet = c.get_json("/api/consents/id-probe/auth_user", 200).await;
    assert_eq!(sheet["app_name"], "身份探针");
    assert_eq!(sheet["department"], "杭州住房公积金管理中心");
    assert_eq!(sheet["division"], "杭州市");
    assert_eq!(sheet["division_path"], json!(["浙江省", "杭州市"]));
    assert_eq!(sheet["purpose"], "测试：核对身份");
    assert_eq!(
        sheet["fields"],
        json!([
            "姓名（脱敏）",
            "身份证号（脱敏）",
            "实名认证等级",
            "性别",
            "出生年份"
        ])
    );
    assert_eq!(sheet["granted"], false);

    // Deny: nothing recorded, the app still works with what it has.
    assert_eq!(decide(&c, "id-probe", "auth_user", "deny").await, 204);
    assert_eq!(c.get_json("/api/consents", 200).await, json!([]));
    assert_eq!(c.get("/apps/id-probe/profile").await.status(), 403);
    assert_eq!(c.get("/apps/id-probe/ids").await.status(), 200);
    // A decision other than grant or deny names the field.
    let r = c
        .post_json(
            "/api/consents",
            &json!({"app_id": "id-probe", "scope": "auth_user", "decision": "maybe"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["field"],
        "decision"
    );

    // Grant: the masked profile with the asked-for fields.
    assert_eq!(decide(&c, "id-probe", "auth_user", "grant").await, 204);
    let profile = c.get_json("/apps/id-probe/profile", 200).await;
    assert_eq!(
        profile,
        json!({
            "name_masked": "*三",
            "id_number_masked": "3****************X",
            "assurance_level": 2,
            "gender": "male",
            "birth_year": 1990,
        })
    );
    // auth_user does not open auth_id_number.
    let r = c.get("/apps/id-probe/real").await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("auth_id_number"));
    assert_eq!(decide(&c, "id-probe", "auth_id_number", "grant").await, 204);
    let real = c.get_json("/apps/id-probe/real", 200).await;
    assert_eq!(real, json!({"name_masked": "*三", "id_number_length": 18}));

    // The grants, listed with time, app, department, scope and purpose.
    let grants = c.get_json("/api/consents", 200).await;
    let grants = grants.as_array().unwrap();
    assert_eq!(grants.len(), 2, "{grants:?}");
    let user = grants.iter().find(|g| g["scope"] == "auth_user").unwrap();
    assert_eq!(user["app_id"], "id-probe");
    assert_eq!(user["app_name"], "身份探针");
    assert_eq!(user["department"], "杭州住房公积金管理中心");
    assert_eq!(user["purpose"], "测试：核对身份");
    assert!(user["granted_at"].as_u64().unwrap() > 1_700_000_000_000);
    // Another citizen's grants are theirs alone.
    let li = host.demo_citizen("13800000002").await;
    assert_eq!(li.get_json("/api/consents", 200).await, json!([]));
    assert_eq!(li.get("/apps/id-probe/profile").await.status(), 403);

    // Revocation takes effect on the next call.
    assert_eq!(
        c.delete("/api/consents/id-probe/auth_user").await.status(),
        204
    );
    assert_eq!(c.get("/apps/id-probe/profile").await.status(), 403);
    assert_eq!(c.get("/apps/id-probe/real").await.status(), 200);
    assert_eq!(
        c.delete("/api/consents/id-probe/auth_user").await.status(),
        404
    );
    assert_eq!(
        c.get_json("/api/consents", 200)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn scopes_need_a_declared_purpose_and_a_verified_citizen() {
    let host = TestHost::start().await;
    let c = host.demo_citizen("13800000001").await;
    // hello declares no purpose for either scope.
    for scope in ["auth_user", "auth_id_number"] {
        let r = c.get(&format!("/api/consents/hello/{scope}")).await;
        assert_eq!(r.status(), 403, "{scope}");
        assert_eq!(decide(&c, "hello", scope, "grant").await, 403);
    }
    let r = c.get("/api/consents/id-probe/auth_everything").await;
    assert_eq!(r.status(), 400);
    // auth_base needs no grant: the sheet says so.
    let sheet = c.get_json("/api/consents/id-probe/auth_base", 200).await;
    assert_eq!(sheet["granted"], true);

    // A level-1 citizen may grant, but the app learns only that the
    // identity is unavailable.
    let fresh = host.new_citizen("13900000201").await;
    assert_eq!(decide(&fresh, "id-probe", "auth_user", "grant").await, 204);
    let r = fresh.get("/apps/id-probe/profile").await;
    assert_eq!(r.status(), 503);
}
