//! 小客车摇号 (plate-lottery) through real parts: the host, the mini-app
//! component, the quota office's lottery system started from the app's
//! `[dev.backend]`, and the `verify-lottery` program anyone runs on the
//! published files.

use std::process::Command;

use serde_json::{Value, json};

use crate::support::{Citizen, TestHost, actions, eventually, package_binary};

const APP: &str = "plate-lottery";
/// 杭州市小客车总量调控管理办公室.
const OFFICE: &str = "11330100002501933H";
const VIEW: &str = "application/vnd.cityhost.view+json";

async fn view(r: reqwest::Response, status: u16) -> Value {
    let got = r.status().as_u16();
    let content_type = r.headers()["content-type"].to_str().unwrap().to_string();
    let body: Value = r.json().await.unwrap();
    assert_eq!(got, status, "{body}");
    assert!(
        content_type.starts_with(VIEW),
        "content type {content_type}"
    );
    body
}

/// Runs `verify-lottery` on the two files: exit code and standard output.
fn recompute(commitment: &Value, draw: &Value) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("commitment.json");
    let d = dir.path().join("draw.json");
    std::fs::write(&c, commitment.to_string()).unwrap();
    std::fs::write(&d, draw.to_string()).unwrap();
    let out = Command::new(package_binary("verify-lottery"))
        .arg(&c)
        .arg(&d)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// A signed-in demo citizen who granted the app the full identity number.
async fn consenting(host: &TestHost, phone: &str) -> Citizen {
    let c = host.demo_citizen(phone).await;
    let r = c
        .post_json(
            "/api/consents",
            &json!({"app_id": APP, "scope": "auth_id_number", "decision": "grant"}),
        )
        .await;
    assert_eq!(r.status(), 204);
    c
}

async fn backend_json(url: &str) -> (u16, Value) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// A code shown in a view's key-value block labelled 申请编码.
fn code_in(view: &Value) -> String {
    let text = view.to_string();
    let at = text.find("申请编码").expect("a code in the view");
    text[at..]
        .split(|c: char| !c.is_ascii_digit())
        .find(|s| s.len() == 13)
        .unwrap_or_else(|| panic!("no 13-digit code after 申请编码: {text}"))
        .to_string()
}

async fn inbox_of_app(c: &Citizen) -> Vec<Value> {
    let inbox = c.get_json("/api/inbox?limit=100", 200).await;
    inbox["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["app_id"] == APP)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_citizen_applies_once_and_the_published_draw_recomputes() {
    let host = TestHost::start().await;
    let office = host.backend_url(APP);
    let token =
        std::fs::read_to_string(host.data_dir().join("backends/plate-lottery/office-token"))
            .unwrap();

    // The home page shows the commitment the office published.
    let zhang = host.demo_citizen("13800000001").await;
    let home = view(zhang.get("/apps/plate-lottery/").await, 200).await;
    let (status, periods) = backend_json(&format!("{office}/public/periods")).await;
    assert_eq!(status, 200);
    let period = periods["current"].as_str().unwrap().to_string();
    let (_, commitment) =
        backend_json(&format!("{office}/public/periods/{period}/commitment.json")).await;
    let committed = commitment["commitment"].as_str().unwrap();
    assert!(home.to_string().contains(committed), "{home}");

    // Applying needs the full identity number, after consent.
    let asking = view(zhang.get("/apps/plate-lottery/apply").await, 403).await;
    assert_eq!(actions(&asking, "consent")[0]["scope"], "auth_id_number");
    let zhang = consenting(&host, "13800000001").await;
    let checks = view(zhang.get("/apps/plate-lottery/apply").await, 200).await;
    assert!(
        checks.to_string().contains("名下无本市登记的小客车"),
        "{checks}"
    );
    let apply: Vec<&Value> = actions(&checks, "post")
        .into_iter()
        .filter(|a| a["path"] == "/apply")
        .collect();
    assert_eq!(apply.len(), 1, "{checks}");

    let filed = view(zhang.post_form("/apps/plate-lottery/apply", &[]).await, 200).await;
    let code = code_in(&filed);
    let subscribe = actions(&filed, "subscribe");
    assert_eq!(subscribe[0]["templates"], json!(["draw-result"]), "{filed}");
    let r = zhang
        .post_json(
            "/api/subscriptions",
            &json!({"app_id": APP, "decisions": [{"template": "draw-result", "decision": "accept"}]}),
        )
        .await;
    assert_eq!(r.status(), 200);
    // The office has it; the app's answer carries no personal data.
    let (status, application) = backend_json(&format!("{office}/applications/{code}")).await;
    assert_eq!((status, &application["status"]), (200, &json!("pending")));
    assert!(!filed.to_string().contains("33010619900101123X"));

    // One application per person per period.
    let again = view(zhang.post_form("/apps/plate-lottery/apply", &[]).await, 409).await;
    assert_eq!(code_in(&again), code);

    // 李四 owns a Hangzhou car: the office refuses, naming it.
    let li = consenting(&host, "13800000002").await;
    let refused = view(li.post_form("/apps/plate-lottery/apply", &[]).await, 422).await;
    assert!(refused.to_string().contains("浙A12345"), "{refused}");
    let mine = view(li.get("/apps/plate-lottery/mine").await, 200).await;
    assert!(mine.to_string().contains("还没有"), "{mine}");

    let mine = view(zhang.get("/apps/plate-lottery/mine").await, 200).await;
    assert!(mine.to_string().contains(&code) && mine.to_string().contains("待摇号"));
    // Nothing to recompute before the draw.
    let (status, _) = backend_json(&format!("{office}/public/periods/{period}/draw.json")).await;
    assert_eq!(status, 409);

    // The office closes and draws (its scheduled draw does the same at
    // 10:00 on the 26th), and its system announces it to the app.
    let client = reqwest::Client::new();
    for action in ["close", "draw"] {
        let r = client
            .post(format!("{office}/office/periods/{period}/{action}"))
            .bearer_auth(token.trim())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{action}");
    }
    let events = host.department_token(OFFICE, &["events"]).await;
    let announce = || async {
        let r = client
            .post(format!(
                "{}/api/departments/{OFFICE}/apps/{APP}/events",
                host.base
            ))
            .bearer_auth(&events)
            .json(&json!({"event": "draw-published", "payload": {"period": period}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
    };
    announce().await;

    let (_, draw) = backend_json(&format!("{office}/public/periods/{period}/draw.json")).await;
    let winners: Vec<String> = serde_json::from_value(draw["winners"].clone()).unwrap();
    assert_eq!(winners.len(), 5);
    let won = winners.contains(&code);
    let result = if won { "中签" } else { "未中签" };
    eventually("the result message", || async {
        !inbox_of_app(&zhang).await.is_empty()
    })
    .await;
    let messages = inbox_of_app(&zhang).await;
    let body = messages[0]["body"].as_str().unwrap();
    assert!(body.contains(&code), "{body}");
    assert!(body.contains(&format!("结果：{result}")), "{body}");
    // Announced again: nobody is messaged twice; 李四 never applied.
    announce().await;
    host.events_delivered().await;
    assert_eq!(inbox_of_app(&zhang).await.len(), 1);
    assert!(inbox_of_app(&li).await.is_empty());

    let mine = view(zhang.get("/apps/plate-lottery/mine").await, 200).await;
    assert!(mine.to_string().contains(result), "{mine}");
    let page = view(
        zhang
            .get(&format!("/apps/plate-lottery/draw?period={period}"))
            .await,
        200,
    )
    .await;
    assert!(page.to_string().contains(draw["seed"].as_str().unwrap()));
    assert!(page.to_string().contains(&winners[0]));

    // Anyone recomputes the draw from the published files.
    let (exit, out) = recompute(&commitment, &draw);
    assert_eq!(exit, 0, "{out}");
    assert!(
        out.starts_with(&format!("match: period {period}, 25 codes, 5 winners")),
        "{out}"
    );
    // A tampered file: one winner swapped for a code that lost.
    let mut tampered = draw.clone();
    let loser = draw["codes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| !winners.contains(&c.as_str().unwrap().to_string()))
        .unwrap()
        .clone();
    tampered["winners"][0] = loser;
    let (exit, out) = recompute(&commitment, &tampered);
    assert_eq!(exit, 1, "{out}");
    assert!(out.starts_with("mismatch:"), "{out}");
    // A seed other than the one committed to before applications closed.
    let mut tampered = draw.clone();
    tampered["seed"] = json!("11".repeat(32));
    let (exit, out) = recompute(&commitment, &tampered);
    assert_eq!(exit, 1, "{out}");
    assert!(out.contains("not the commitment"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn applying_needs_real_name_verification() {
    let host = TestHost::start().await;
    let c = host.new_citizen("13900000077").await;
    view(c.get("/apps/plate-lottery/").await, 200).await;
    let r = c.post_form("/apps/plate-lottery/apply", &[]).await;
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "assurance_required", "{body}");
    assert_eq!(body["error"]["field"], "assurance_level");
    // Nothing was filed: the period has only the counter's applications.
    let (_, periods) = backend_json(&format!("{}/public/periods", host.backend_url(APP))).await;
    assert_eq!(periods["periods"][0]["applications"], 24, "{periods}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_a_4xx_naming_the_field() {
    let host = TestHost::start().await;
    let c = host.demo_citizen("13800000001").await;
    for bad in ["2026-13", "abc", "2026-1", "%E4%BA%8C"] {
        let body = view(
            c.get(&format!("/apps/plate-lottery/draw?period={bad}"))
                .await,
            400,
        )
        .await;
        assert!(body.to_string().contains("period"), "{bad}: {body}");
    }
    view(c.get("/apps/plate-lottery/draw").await, 400).await;
    view(c.get("/apps/plate-lottery/draw?period=2031-01").await, 404).await;
    // The office's system, directly.
    let office = host.backend_url(APP);
    let r = reqwest::Client::new()
        .post(format!("{office}/applications"))
        .json(&json!({"id_number": "33010619900101123Y", "name": "张三"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "id_number");
    // The office's system sends only the events the manifest lists.
    let events = host.department_token(OFFICE, &["events"]).await;
    let r = reqwest::Client::new()
        .post(format!(
            "{}/api/departments/{OFFICE}/apps/{APP}/events",
            host.base
        ))
        .bearer_auth(&events)
        .json(&json!({"event": "draw-results", "payload": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        400,
        "only draw-published is the office's to send"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_lottery_is_hangzhous_city_level_service() {
    let host = TestHost::start().await;
    let c = host.demo_citizen("13800000001").await;
    let ids = |apps: &Value| -> Vec<String> {
        apps.as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect()
    };
    let all = c.get_json("/api/apps", 200).await;
    let lottery = all
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == APP)
        .expect("listed");
    assert_eq!(
        lottery["department"]["name"],
        "杭州市小客车总量调控管理办公室"
    );
    assert_eq!(lottery["department"]["level"], "city");
    assert_eq!(
        lottery["department"]["division_path"],
        json!(["浙江省", "杭州市"])
    );
    assert_eq!(lottery["category"], "transport");
    for place in ["3301", "330102", "330122109"] {
        let listed = ids(&c
            .get_json(&format!("/api/apps?division={place}"), 200)
            .await);
        assert!(listed.contains(&APP.to_string()), "{place}: {listed:?}");
    }
    let ningbo = ids(&c.get_json("/api/apps?division=3302", 200).await);
    assert!(!ningbo.contains(&APP.to_string()), "{ningbo:?}");
}
