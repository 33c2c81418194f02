//! Every capability call is audited, without personal data, and the
//! operator can list the records.

use serde_json::Value;

use crate::support::TestHost;

#[tokio::test(flavor = "multi_thread")]
async fn capability_calls_are_audited_without_personal_data() {
    let host = TestHost::start().await;
    let c = host.demo_citizen("13800000001").await;
    assert_eq!(c.get("/apps/hello/").await.status(), 200);

    let url = format!("{}/api/operator/audit?app=hello", host.base);
    let r = c.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    // The listing with the operator's token, `query` appended to `url`.
    let as_operator = |query: &str| {
        c.http
            .get(format!("{url}{query}"))
            .bearer_auth(&host.platform.operator_token)
            .send()
    };
    let r = as_operator("").await.unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    let records: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert!(
        records
            .iter()
            .any(|r| r["capability"] == "identity.openid" && r["outcome"] == "ok"),
        "{text}"
    );
    assert!(
        records
            .iter()
            .any(|r| r["capability"].as_str().unwrap().starts_with("storage.")),
        "{text}"
    );
    for record in &records {
        assert_eq!(record["app"], "hello");
        assert_eq!(record["openid"].as_str().map(str::len), Some(32));
    }
    for personal in ["13800000001", "张三", "33010619900101123X"] {
        assert!(!text.contains(personal), "audit log holds {personal}");
    }
    // A time range that ends before the calls holds nothing.
    let r = as_operator("&to=1").await.unwrap();
    assert_eq!(r.json::<Vec<Value>>().await.unwrap().len(), 0);
    // A range that ends before it starts, or a limit of nothing, is a
    // mistake named by its field.
    for (query, field) in [("&from=10&to=5", "to"), ("&limit=0", "limit")] {
        let r = as_operator(query).await.unwrap();
        assert_eq!(r.status(), 400, "{query}");
        assert_eq!(
            r.json::<Value>().await.unwrap()["error"]["field"],
            field,
            "{query}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_verifies_and_a_changed_deleted_or_moved_record_is_found() {
    let host = TestHost::start().await;
    let c = host.demo_citizen("13800000001").await;
    for _ in 0..3 {
        assert_eq!(c.get("/apps/hello/").await.status(), 200);
    }
    let export = host.operator_json("/api/operator/audit?app=hello").await;
    let export = export.as_array().unwrap().clone();
    assert!(export.len() >= 6, "{export:?}");
    let dir = tempfile::tempdir().unwrap();
    // The signed head, and the host's keys to check it with.
    let head = host
        .operator_json("/api/operator/audit/head?app=hello")
        .await;
    let last = export.iter().map(|r| r["seq"].as_u64().unwrap()).max();
    assert_eq!(head["seq"].as_u64(), last, "{head}");
    let checkpoint = dir.path().join("head.json");
    std::fs::write(&checkpoint, head.to_string()).unwrap();
    let jwks = dir.path().join("jwks.json");
    let keys = c.get("/.well-known/jwks.json").await.text().await.unwrap();
    std::fs::write(&jwks, keys).unwrap();
    // `cityhost audit verify` on `records`, against the checkpoint:
    // (exit success, output).
    let verify = |records: &[Value]| {
        let file = dir.path().join("export.json");
        std::fs::write(&file, serde_json::to_vec(records).unwrap()).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cityhost"))
            .args(["audit", "verify"])
            .arg(&file)
            .arg("--checkpoint")
            .arg(&checkpoint)
            .arg("--jwks")
            .arg(&jwks)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    };
    let (ok, text) = verify(&export);
    assert!(
        ok && text.contains("unbroken") && text.contains("holds the checkpoint"),
        "{text}"
    );

    // The whole chain recomputed after a change (as someone with the store
    // but not the host's key could): unbroken, but not what was signed.
    let mut recomputed: Vec<cityhost::audit::AuditRecord> =
        serde_json::from_value(Value::Array(export.clone())).unwrap();
    recomputed.sort_by_key(|r| r.seq);
    recomputed[1].outcome = "ok-forged".into();
    let mut prev = cityhost::audit::chain::GENESIS.to_string();
    for record in &mut recomputed {
        record.hash = cityhost::audit::chain::link(&prev, record);
        prev.clone_from(&record.hash);
    }
    let recomputed: Vec<Value> = recomputed
        .iter()
        .map(|r| serde_json::to_value(r).unwrap())
        .collect();
    let (ok, text) = verify(&recomputed);
    assert!(
        !ok && text.contains("not the one the checkpoint signed"),
        "{text}"
    );

    let mut changed = export.clone();
    changed[2]["outcome"] = "ok-forged".into();
    let (ok, text) = verify(&changed);
    assert!(!ok && text.contains("does not link"), "{text}");

    let mut deleted = export.clone();
    deleted.remove(2);
    let (ok, text) = verify(&deleted);
    assert!(!ok && text.contains("missing"), "{text}");

    let mut moved = export.clone();
    let (a, b) = (moved[1]["seq"].clone(), moved[2]["seq"].clone());
    moved[1]["seq"] = b;
    moved[2]["seq"] = a;
    let (ok, text) = verify(&moved);
    assert!(!ok && text.contains("does not link"), "{text}");
}
