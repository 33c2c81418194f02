//! Identity appeals: the person whose identity another account verified
//! first files an appeal; an operator checks the card and moves the
//! verification (or rejects the appeal and nothing changes).

use reqwest::Client;
use serde_json::{Value, json};

use crate::identity::ZHAO_LIU;
use crate::support::{Citizen, TestHost};

async fn post(c: &Citizen, path: &str, name: &str, number: &str) -> (u16, Value) {
    let r = c
        .post_json(path, &json!({"name": name, "id_number": number}))
        .await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// POSTs a decision with `token`; returns status and body.
async fn decide(host: &TestHost, token: &str, id: &str, body: Value) -> (u16, Value) {
    let r = Client::new()
        .post(format!(
            "{}/api/operator/identity-appeals/{id}/decision",
            host.base
        ))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_real_person_gets_their_identity_back_through_an_operator() {
    let host = TestHost::start().await;
    let token = host.platform.operator_token.clone();
    let (name, number) = ZHAO_LIU;
    // Someone who knows 赵六's name and number verifies first.
    let squatter = host.new_citizen("13900000201").await;
    assert_eq!(
        post(&squatter, "/api/me/verification", name, number)
            .await
            .0,
        200
    );

    // 赵六 is told the identity is held, and how to get it back.
    let zhao = host.new_citizen("13900000202").await;
    let (status, body) = post(&zhao, "/api/me/verification", name, number).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "identity_held");
    assert_eq!(body["error"]["field"], "id_number");
    assert_eq!(body["error"]["reason"], "held_by_another_account");
    assert!(!body.to_string().contains(number));

    // An appeal runs the real-name checks again: a wrong name files nothing.
    let appeals = "/api/me/verification/appeals";
    let (status, body) = post(&zhao, appeals, "赵七", number).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(zhao.get_json(appeals, 200).await, json!([]));
    let (status, body) = post(&zhao, appeals, name, number).await;
    assert_eq!(status, 202, "{body}");
    let appeal = &body["appeal"];
    assert_eq!(appeal["status"], "pending");
    assert_eq!(appeal["name_masked"], "*六");
    assert_eq!(appeal["id_number_masked"], "3****************4");
    let id = appeal["id"].as_str().unwrap().to_string();
    // Filing again answers the pending appeal.
    let (status, again) = post(&zhao, appeals, name, number).await;
    assert_eq!((status, again["appeal"]["id"].as_str()), (202, Some(&*id)));
    assert_eq!(
        zhao.get_json(appeals, 200).await.as_array().unwrap().len(),
        1
    );

    // The operator's queue shows who holds the identity now.
    let queue = host
        .operator_json("/api/operator/identity-appeals?status=pending")
        .await;
    let queued = &queue.as_array().unwrap()[0];
    assert_eq!(queued["id"], id.as_str());
    assert_eq!(queued["name"], name);
    assert_eq!(queued["claimant_phone_masked"], "139****0202");
    assert_eq!(queued["holder_phone_masked"], "139****0201");
    assert!(!queue.to_string().contains(number));

    // Approving needs the operator's word and the number on the card.
    let (status, body) = decide(&host, "not-a-token", &id, json!({})).await;
    assert_eq!(status, 401, "{body}");
    let evidence = "窗口核验身份证原件，人证一致";
    let refusals = [
        (
            json!({"decision": "approve", "evidence": evidence}),
            "id_number",
        ),
        (
            json!({"decision": "approve", "evidence": evidence, "id_number": "330106199203041023"}),
            "id_number",
        ),
        (
            json!({"decision": "approve", "evidence": " ", "id_number": number}),
            "evidence",
        ),
    ];
    for (body, field) in refusals {
        let (status, answer) = decide(&host, &token, &id, body).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"]["field"], field, "{answer}");
    }
    let (status, body) = decide(
        &host,
        &token,
        "no-such-appeal",
        json!({"decision": "reject", "evidence": evidence}),
    )
    .await;
    assert_eq!(status, 404, "{body}");

    let (status, body) = decide(
        &host,
        &token,
        &id,
        json!({"decision": "approve", "evidence": evidence, "id_number": number}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "approved");

    // The verification moved: 赵六 is level 2, the squatter level 1 with
    // no name or number left.
    let me = zhao.get_json("/api/me", 200).await;
    assert_eq!(me["assurance_level"], 2);
    assert_eq!(me["name_masked"], "*六");
    let theirs = squatter.get_json("/api/me", 200).await;
    assert_eq!(theirs["assurance_level"], 1, "{theirs}");
    assert!(theirs["name_masked"].is_null(), "{theirs}");
    assert_eq!(zhao.get_json(appeals, 200).await[0]["status"], "approved");

    // Decided once; the decision is in the operator log.
    let (status, body) = decide(
        &host,
        &token,
        &id,
        json!({"decision": "reject", "evidence": evidence}),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["field"], "appeal");
    let log = host.operator_json("/api/operator/actions").await;
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "identity_appeal.approve" && a["target"] == id.as_str()),
        "{log}"
    );

    // The squatter appealing back is rejected, and nothing changes.
    let (status, body) = post(&squatter, appeals, name, number).await;
    assert_eq!(status, 202, "{body}");
    let theirs = body["appeal"]["id"].as_str().unwrap();
    let (status, body) = decide(
        &host,
        &token,
        theirs,
        json!({"decision": "reject", "evidence": "申请人未能出示身份证原件"}),
    )
    .await;
    assert_eq!((status, body["status"].as_str()), (200, Some("rejected")));
    assert_eq!(zhao.get_json("/api/me", 200).await["assurance_level"], 2);
    assert_eq!(
        squatter.get_json("/api/me", 200).await["assurance_level"],
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_appeal_for_a_free_identity_simply_verifies() {
    let host = TestHost::start().await;
    let (name, number) = ZHAO_LIU;
    let c = host.new_citizen("13900000211").await;
    let (status, body) = post(&c, "/api/me/verification/appeals", name, number).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["assurance_level"], 2);
    assert_eq!(
        c.get_json("/api/me/verification/appeals", 200).await,
        json!([])
    );
    let queue = host.operator_json("/api/operator/identity-appeals").await;
    assert_eq!(queue, json!([]));
    // A bad status filter names the field.
    let r = Client::new()
        .get(format!(
            "{}/api/operator/identity-appeals?status=lost",
            host.base
        ))
        .bearer_auth(&host.platform.operator_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["field"], "status");
}
