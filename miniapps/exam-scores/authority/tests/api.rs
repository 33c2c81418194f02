//! The score service as its callers see it: the binary started on a free
//! port with a temporary data directory, spoken to over real HTTP.

use std::path::Path;

use cityhost_backend::testing::{Running, assert_stops_when_stdin_closes};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_zj-exam-authority");
const ZHANG: &str = "33010619900101123X";
const ZHANG_EXAM: &str = "26330106000118";
const CHEN: &str = "330106200805120023";
const CHEN_EXAM: &str = "26330106000031";

/// A running `zj-exam-authority`, killed when dropped.
struct Service {
    _running: Running,
    base: String,
    token: String,
}

impl Service {
    fn start(data: &Path) -> Service {
        let running = Running::start(BIN, data);
        let base = running.base.clone();
        let token = std::fs::read_to_string(data.join("authority-token")).unwrap();
        Service {
            _running: running,
            base,
            token,
        }
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let r = reqwest::get(format!("{}{path}", self.base)).await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn lookup(&self, exam_number: &str, id_number: &str) -> (u16, Value) {
        let r = reqwest::Client::new()
            .post(format!("{}/lookups", self.base))
            .json(&json!({"exam_number": exam_number, "id_number": id_number}))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn release_at(&self, release_at: u64, token: &str) -> (u16, Value) {
        let r = reqwest::Client::new()
            .put(format!("{}/authority/release", self.base))
            .bearer_auth(token)
            .json(&json!({ "release_at": release_at }))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Valid GB 11643 numbers of people born in 2008 in 西湖区, none of them a
/// candidate of the seed.
fn strangers(n: usize) -> Vec<String> {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    (0..n)
        .map(|i| {
            let body = format!("33010620080101{:03}", 500 + i);
            let sum: u32 = body
                .bytes()
                .zip(WEIGHTS)
                .map(|(d, w)| u32::from(d - b'0') * w)
                .sum();
            format!("{body}{}", b"10X98765432"[(sum % 11) as usize] as char)
        })
        .collect()
}

#[tokio::test]
async fn before_the_release_no_one_gets_scores_and_after_it_only_their_own() {
    let data = tempfile::tempdir().unwrap();
    let service = Service::start(data.path());
    // The seed's 2026 release (June) is past: released, with its lines.
    let (status, exam) = service.get("/exam").await;
    assert_eq!((status, &exam["released"]), (200, &json!(true)), "{exam}");
    assert_eq!(exam["year"], 2026);
    assert_eq!(exam["lines"][0]["name"], "特殊类型招生控制线");

    // The authority moves the release an hour ahead.
    let later = now_ms() + 3_600_000;
    let (status, _) = service.release_at(later, "not-the-token").await;
    assert_eq!(status, 401);
    let (status, exam) = service.release_at(later, service.token.trim()).await;
    assert_eq!(status, 200, "{exam}");
    assert_eq!(
        (&exam["released"], &exam["lines"]),
        (&json!(false), &Value::Null)
    );
    let (_, exam) = service.get("/exam").await;
    assert_eq!(exam["release_at"], later);

    // Before it: the release time, no scores — for a real record and an
    // unknown number alike.
    for number in [ZHANG_EXAM, "26330106999999"] {
        let (status, e) = service.lookup(number, ZHANG).await;
        assert_eq!(status, 409, "{e}");
        assert_eq!(
            (&e["code"], &e["release_at"]),
            (&json!("not_released"), &json!(later))
        );
        assert!(
            e.get("subjects").is_none() && e.get("total").is_none(),
            "{e}"
        );
    }

    // Released now.
    let (_, exam) = service
        .release_at(now_ms() - 1_000, service.token.trim())
        .await;
    assert_eq!(exam["released"], true);
    let (status, scores) = service.lookup(ZHANG_EXAM, ZHANG).await;
    assert_eq!(status, 200, "{scores}");
    assert_eq!(scores["name"], "张三");
    assert_eq!(
        (&scores["total"], &scores["full_total"]),
        (&json!(639), &json!(750))
    );
    let subjects: Vec<&str> = scores["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["语文", "数学", "外语", "物理", "化学", "技术"]);
    let reached: Vec<bool> = scores["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["reached"].as_bool().unwrap())
        .collect();
    assert_eq!(reached, [true, true, true]);
    // A candidate below the second line.
    let (_, low) = service.lookup("26330122000088", "330122200812080066").await;
    assert_eq!(low["total"], 267);
    assert!(
        low["lines"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["reached"] == false)
    );

    // Someone else's number with my identity number is answered exactly
    // as an unknown number.
    let (status, theirs) = service.lookup(CHEN_EXAM, ZHANG).await;
    let (status2, unknown) = service.lookup("26330106999999", ZHANG).await;
    assert_eq!((status, status2), (404, 404));
    assert_eq!(theirs, unknown);
    assert_eq!(theirs["field"], "exam_number");
    let (status, mine) = service.lookup(CHEN_EXAM, CHEN).await;
    assert_eq!((status, &mine["total"]), (200, &json!(690)));

    // The release time survives a restart.
    drop(service);
    let service = Service::start(data.path());
    let (_, exam) = service.get("/exam").await;
    assert_eq!(exam["released"], true);
}

#[tokio::test]
async fn lookups_are_limited_per_citizen_and_per_exam_number() {
    let data = tempfile::tempdir().unwrap();
    let service = Service::start(data.path());
    // Ten lookups by 张三 an hour, whatever the numbers.
    for i in 0..10 {
        let (status, _) = service.lookup(&format!("263301060090{i:02}"), ZHANG).await;
        assert_eq!(status, 404);
    }
    let (status, e) = service.lookup(ZHANG_EXAM, ZHANG).await;
    assert_eq!(status, 429, "{e}");
    assert_eq!(
        (&e["scope"], &e["field"], &e["limit"]),
        (&json!("citizen"), &json!("id_number"), &json!(10))
    );
    let retry_after = e["retry_after_s"].as_u64().unwrap();
    assert!((3_590..=3_600).contains(&retry_after), "{e}");
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("每小时最多查询 10 次"),
        "{e}"
    );
    // Others are not held up by 张三's count.
    let (status, _) = service.lookup(CHEN_EXAM, CHEN).await;
    assert_eq!(status, 200);

    // Twenty lookups of 陈思远's number an hour, by anyone (19 more).
    let people = strangers(20);
    for id in &people[..19] {
        let (status, _) = service.lookup(CHEN_EXAM, id).await;
        assert_eq!(status, 404);
    }
    let (status, e) = service.lookup(CHEN_EXAM, &people[19]).await;
    assert_eq!(status, 429, "{e}");
    assert_eq!(
        (&e["scope"], &e["field"]),
        (&json!("exam_number"), &json!("exam_number"))
    );
    // Even its own candidate must wait.
    let (status, _) = service.lookup(CHEN_EXAM, CHEN).await;
    assert_eq!(status, 429);
    let (status, _) = service.lookup("26330102000057", &people[19]).await;
    assert_eq!(
        status, 404,
        "the refused lookup was not counted for that person"
    );
}

#[tokio::test]
async fn bad_input_is_a_4xx_naming_the_field() {
    let data = tempfile::tempdir().unwrap();
    let service = Service::start(data.path());
    let (status, e) = service.lookup("2633010600011", ZHANG).await;
    assert_eq!((status, &e["field"]), (400, &json!("exam_number")));
    let (status, e) = service.lookup(ZHANG_EXAM, "33010619900101123Y").await;
    assert_eq!((status, &e["field"]), (400, &json!("id_number")));
    let r = reqwest::Client::new()
        .post(format!("{}/lookups", service.base))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "body");
    let (status, e) = service.release_at(5, service.token.trim()).await;
    assert_eq!((status, &e["field"]), (400, &json!("release_at")));
    let r = reqwest::Client::new()
        .put(format!("{}/authority/release", service.base))
        .bearer_auth(service.token.trim())
        .json(&json!({"release_at": "tomorrow"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "release_at");
    let (status, _) = service.get("/nowhere").await;
    assert_eq!(status, 404);
    let r = reqwest::Client::new()
        .delete(format!("{}/exam", service.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
}

#[test]
fn it_stops_when_its_standard_input_closes() {
    let data = tempfile::tempdir().unwrap();
    assert_stops_when_stdin_closes(BIN, data.path());
}
