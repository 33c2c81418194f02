//! 高考查分 (exam-scores) through real parts: the host, the mini-app
//! component and the examinations authority's score system started from
//! the app's `[dev.backend]`, which the tests play the authority of (its
//! bearer token moves the release time).

use serde_json::{Value, json};

use crate::support::{Citizen, TestHost, actions, eventually};

const APP: &str = "exam-scores";
const VIEW: &str = "application/vnd.cityhost.view+json";
/// 张三's exam number in the authority's seed.
const ZHANG_EXAM: &str = "26330106000118";
/// A number no one registered with.
const UNKNOWN_EXAM: &str = "26330106999999";
/// 2027-06-25 12:00 Beijing time.
const LATER: u64 = 1_813_896_000_000;

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

/// The authority sets the release time (its bearer token).
async fn release_at(host: &TestHost, at: u64) -> Value {
    let token =
        std::fs::read_to_string(host.data_dir().join("backends/exam-scores/authority-token"))
            .unwrap();
    let r = reqwest::Client::new()
        .put(format!("{}/authority/release", host.backend_url(APP)))
        .bearer_auth(token.trim())
        .json(&json!({ "release_at": at }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
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

async fn look_up(c: &Citizen, exam_number: &str) -> reqwest::Response {
    c.post_form("/apps/exam-scores/lookup", &[("exam_number", exam_number)])
        .await
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
async fn scores_come_out_at_the_release_time_with_a_message_to_subscribers() {
    let host = TestHost::start().await;
    release_at(&host, LATER).await;

    // Before the release: when, in Beijing time, and no scores.
    let zhang = host.demo_citizen("13800000001").await;
    let home = view(zhang.get("/apps/exam-scores/").await, 200).await;
    assert!(
        home.to_string().contains("2027-06-25 12:00（北京时间）"),
        "{home}"
    );
    assert!(home.to_string().contains("发布前无法查询"), "{home}");
    assert!(
        !home.to_string().contains("一段线"),
        "no lines before: {home}"
    );

    // Looking up needs the identity number, after consent.
    let asking = view(zhang.get("/apps/exam-scores/lookup").await, 403).await;
    assert_eq!(actions(&asking, "consent")[0]["scope"], "auth_id_number");
    let zhang = consenting(&host, "13800000001").await;
    let form = view(zhang.get("/apps/exam-scores/lookup").await, 200).await;
    assert!(form.to_string().contains("张三"), "{form}");
    let early = view(look_up(&zhang, ZHANG_EXAM).await, 409).await;
    assert!(early.to_string().contains("成绩尚未发布"), "{early}");
    assert!(early.to_string().contains("2027-06-25 12:00"), "{early}");
    assert!(!early.to_string().contains("639"), "{early}");

    // 张三 subscribes to the release message.
    let remind = view(zhang.get("/apps/exam-scores/remind").await, 200).await;
    assert_eq!(
        actions(&remind, "subscribe")[0]["templates"],
        json!(["scores-released"])
    );
    let r = zhang
        .post_json(
            "/api/subscriptions",
            &json!({"app_id": APP, "decisions": [{"template": "scores-released", "decision": "accept"}]}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let remind = view(zhang.get("/apps/exam-scores/remind").await, 200).await;
    assert!(remind.to_string().contains("已订阅"), "{remind}");
    assert!(inbox_of_app(&zhang).await.is_empty(), "nothing before");

    // The authority releases now; the app sees the new time and its timer
    // fires at once.
    let exam = release_at(&host, now_ms() - 1_000).await;
    assert_eq!(exam["released"], true);
    let home = view(zhang.get("/apps/exam-scores/").await, 200).await;
    assert!(home.to_string().contains("普通类一段线"), "{home}");
    eventually("the release message", || async {
        !inbox_of_app(&zhang).await.is_empty()
    })
    .await;
    let messages = inbox_of_app(&zhang).await;
    let body = messages[0]["body"].as_str().unwrap();
    assert!(
        body.contains("2026 年浙江省普通高校招生考试成绩已发布"),
        "{body}"
    );

    // After it: 张三's own scores, each subject, total and lines.
    let scores = view(look_up(&zhang, ZHANG_EXAM).await, 200).await;
    let text = scores.to_string();
    for part in [
        "语文",
        "数学",
        "外语",
        "物理",
        "化学",
        "技术",
        "639",
        "特殊类型招生控制线",
        "已上线",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
    assert!(!text.contains("33010619900101123X"), "{text}");

    // Visits after the release set no new timer: one message only.
    view(zhang.get("/apps/exam-scores/").await, 200).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(inbox_of_app(&zhang).await.len(), 1);

    // 李四 has no record: 张三's number is refused exactly as an unknown one.
    let li = consenting(&host, "13800000002").await;
    let theirs = view(look_up(&li, ZHANG_EXAM).await, 404).await;
    let unknown = view(look_up(&li, UNKNOWN_EXAM).await, 404).await;
    assert_eq!(theirs, unknown);
    assert!(!theirs.to_string().contains("639"), "{theirs}");
    assert!(inbox_of_app(&li).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn looking_up_needs_real_name_verification() {
    let host = TestHost::start().await;
    let c = host.new_citizen("13900000078").await;
    view(c.get("/apps/exam-scores/").await, 200).await;
    for r in [
        c.get("/apps/exam-scores/lookup").await,
        look_up(&c, ZHANG_EXAM).await,
    ] {
        assert_eq!(r.status(), 403);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "assurance_required", "{body}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn lookups_are_rate_limited_per_citizen() {
    let host = TestHost::start().await;
    let zhang = consenting(&host, "13800000001").await;
    view(look_up(&zhang, ZHANG_EXAM).await, 200).await;
    for i in 0..9 {
        let number = format!("263301060090{i:02}");
        view(look_up(&zhang, &number).await, 404).await;
    }
    let refused = view(look_up(&zhang, ZHANG_EXAM).await, 429).await;
    let text = refused.to_string();
    assert!(text.contains("查询过于频繁"), "{text}");
    assert!(text.contains("每小时最多查询 10 次"), "{text}");
    assert!(
        text.contains("后再试") && text.contains("北京时间"),
        "{text}"
    );
    // Another citizen is not held up by 张三's lookups.
    let li = consenting(&host, "13800000002").await;
    view(look_up(&li, UNKNOWN_EXAM).await, 404).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_a_4xx_naming_the_field() {
    let host = TestHost::start().await;
    let zhang = consenting(&host, "13800000001").await;
    for bad in ["abc", "2633010600011", "26310106000118", "263301060001181"] {
        let body = view(look_up(&zhang, bad).await, 400).await;
        assert!(body.to_string().contains("exam_number"), "{bad}: {body}");
    }
    let r = zhang
        .post_form("/apps/exam-scores/lookup", &[("number", ZHANG_EXAM)])
        .await;
    assert_eq!(r.status(), 400);
    // The authority's system, directly.
    let authority = host.backend_url(APP);
    let client = reqwest::Client::new();
    let r = client
        .post(format!("{authority}/lookups"))
        .json(&json!({"exam_number": ZHANG_EXAM, "id_number": "33010619900101123Y"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "id_number");
    let r = client
        .put(format!("{authority}/authority/release"))
        .json(&json!({"release_at": LATER}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "the release time is the authority's");
}

#[tokio::test(flavor = "multi_thread")]
async fn exam_scores_is_a_province_level_service_of_zhejiang() {
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
    let app = all
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == APP)
        .expect("listed");
    assert_eq!(app["department"]["name"], "浙江省教育考试院");
    assert_eq!(app["department"]["level"], "province");
    assert_eq!(app["department"]["division_path"], json!(["浙江省"]));
    assert_eq!(app["category"], "education");
    for place in ["33", "3301", "330106", "3302"] {
        let listed = ids(&c
            .get_json(&format!("/api/apps?division={place}"), 200)
            .await);
        assert!(listed.contains(&APP.to_string()), "{place}: {listed:?}");
    }
}
