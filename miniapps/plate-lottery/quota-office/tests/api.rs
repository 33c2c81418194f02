//! The quota office as its callers see it: the binary started on a free
//! port with a temporary data directory, spoken to over real HTTP.

use std::path::Path;

use cityhost_backend::testing::Running;
use serde_json::{Value, json};

/// A running `hz-quota-office`, killed when dropped.
struct Service {
    _running: Running,
    base: String,
    token: String,
}

const ZHANG: (&str, &str) = ("33010619900101123X", "张三");
const LI: (&str, &str) = ("330102198506152345", "李四");

impl Service {
    /// Starts the binary on `127.0.0.1:0` with `data` and reads the port
    /// from its one line on standard output.
    fn start(data: &Path) -> Service {
        let running = Running::start(env!("CARGO_BIN_EXE_hz-quota-office"), data);
        let base = running.base.clone();
        let token = std::fs::read_to_string(data.join("office-token")).unwrap();
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

    async fn text(&self, path: &str) -> (u16, String) {
        let r = reqwest::get(format!("{}{path}", self.base)).await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn post(&self, path: &str, body: &str, token: Option<&str>) -> (u16, Value) {
        let mut r = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(token) = token {
            r = r.bearer_auth(token);
        }
        let r = r.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn apply(&self, (id_number, name): (&str, &str)) -> (u16, Value) {
        let body = json!({"id_number": id_number, "name": name}).to_string();
        self.post("/applications", &body, None).await
    }

    async fn office(&self, period: &str, action: &str) -> (u16, Value) {
        let path = format!("/office/periods/{period}/{action}");
        self.post(&path, "", Some(&self.token)).await
    }
}

#[tokio::test]
async fn apply_close_draw_and_publish_a_verifiable_draw() {
    let data = tempfile::tempdir().unwrap();
    let service = Service::start(data.path());
    let (status, periods) = service.get("/public/periods").await;
    assert_eq!(status, 200, "{periods}");
    let period = periods["current"].as_str().unwrap().to_string();
    let (status, commitment) = service
        .get(&format!("/public/periods/{period}/commitment.json"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(commitment["algorithm"], verify_lottery_name());
    assert_eq!(commitment["commitment"].as_str().unwrap().len(), 64);
    // Before the draw the seed and codes stay unpublished.
    let (status, early) = service
        .get(&format!("/public/periods/{period}/draw.json"))
        .await;
    assert_eq!(
        (status, early["field"].as_str()),
        (409, Some("period")),
        "{early}"
    );

    let (status, eligibility) = service
        .post(
            "/eligibility",
            &json!({"id_number": LI.0, "name": LI.1}).to_string(),
            None,
        )
        .await;
    assert_eq!(status, 200, "{eligibility}");
    assert_eq!(eligibility["eligible"], false);
    let (status, refused) = service.apply(LI).await;
    assert_eq!(
        (status, refused["field"].as_str()),
        (422, Some("id_number"))
    );
    assert!(
        refused["checks"].to_string().contains("浙A12345"),
        "{refused}"
    );

    let (status, mine) = service.apply(ZHANG).await;
    assert_eq!(status, 201, "{mine}");
    assert_eq!(mine["period"], period.as_str());
    assert_eq!(mine["status"], "pending");
    let code = mine["code"].as_str().unwrap().to_string();
    assert!(mine.get("id_number").is_none(), "no personal data: {mine}");
    let (status, again) = service.apply(ZHANG).await;
    assert_eq!(status, 409, "{again}");
    assert_eq!(again["code"], code.as_str());

    // The office: nothing without its token; no draw while open.
    let (status, _) = service
        .post(&format!("/office/periods/{period}/draw"), "", Some("wrong"))
        .await;
    assert_eq!(status, 401);
    let (status, open) = service.office(&period, "draw").await;
    assert_eq!((status, open["field"].as_str()), (409, Some("period")));
    let (status, closed) = service.office(&period, "close").await;
    assert_eq!(
        (status, &closed["status"]),
        (200, &json!("closed")),
        "{closed}"
    );
    let (status, drawn) = service.office(&period, "draw").await;
    assert_eq!(
        (status, &drawn["status"]),
        (200, &json!("drawn")),
        "{drawn}"
    );

    let (status, draw) = service
        .get(&format!("/public/periods/{period}/draw.json"))
        .await;
    assert_eq!(status, 200);
    let commitment: verify_lottery::CommitmentFile = serde_json::from_value(commitment).unwrap();
    let draw: verify_lottery::DrawFile = serde_json::from_value(draw).unwrap();
    assert_eq!(draw.codes.len(), 25, "24 counter applications and ours");
    assert!(draw.codes.contains(&code));
    assert_eq!(
        verify_lottery::verify(&commitment, &draw).unwrap(),
        draw.winners
    );
    let (_, winners) = service
        .text(&format!("/public/periods/{period}/winners.txt"))
        .await;
    assert_eq!(winners.lines().collect::<Vec<_>>(), draw.winners);
    let (_, codes) = service
        .text(&format!("/public/periods/{period}/codes.txt"))
        .await;
    assert_eq!(codes.lines().count(), 25);
    let (status, result) = service.get(&format!("/applications/{code}")).await;
    assert_eq!(status, 200);
    let won = draw.winners.contains(&code);
    assert_eq!(result["status"], if won { "won" } else { "lost" });

    // Restarted: the same draw is published.
    drop(service);
    let service = Service::start(data.path());
    let (_, again) = service
        .get(&format!("/public/periods/{period}/draw.json"))
        .await;
    assert_eq!(again["winners"], json!(draw.winners));
    assert_eq!(again["seed"], draw.seed.as_str());
}

fn verify_lottery_name() -> &'static str {
    verify_lottery::ALGORITHM
}

#[tokio::test]
async fn bad_input_is_a_4xx_naming_the_field() {
    let data = tempfile::tempdir().unwrap();
    let service = Service::start(data.path());
    for (path, status, field) in [
        ("/public/periods/2026-13", 400, "period"),
        ("/public/periods/abc/commitment.json", 400, "period"),
        ("/public/periods/2031-01", 404, "period"),
        ("/applications/123", 400, "code"),
        ("/applications/0000000000000", 404, "code"),
    ] {
        let (got, error) = service.get(path).await;
        assert_eq!(
            (got, error["field"].as_str()),
            (status, Some(field)),
            "{path}: {error}"
        );
        assert!(error["error"].is_string());
    }
    let (_, periods) = service.get("/public/periods").await;
    let period = periods["current"].as_str().unwrap();
    let (got, error) = service
        .get(&format!("/public/periods/{period}/secrets.json"))
        .await;
    assert_eq!((got, error["field"].as_str()), (404, Some("file")));
    for (body, field) in [
        ("", "body"),
        ("{", "body"),
        (r#"{"name": "张三"}"#, "id_number"),
        (
            r#"{"id_number": "330106199001011231", "name": "张三"}"#,
            "id_number",
        ),
        (
            r#"{"id_number": 33010619900101123, "name": "张三"}"#,
            "id_number",
        ),
        (r#"{"id_number": "33010619900101123X", "name": ""}"#, "name"),
        (
            r#"{"id_number": "33010619900101123X", "name": "张三", "x": 1}"#,
            "x",
        ),
    ] {
        for path in ["/applications", "/eligibility"] {
            let (got, error) = service.post(path, body, None).await;
            assert_eq!(
                (got, error["field"].as_str()),
                (400, Some(field)),
                "{path} {body}: {error}"
            );
        }
    }
    let (got, error) = service.office(period, "shuffle").await;
    assert_eq!((got, error["field"].as_str()), (404, Some("action")));
    let (got, error) = service.office("2031-01", "draw").await;
    assert_eq!((got, error["field"].as_str()), (404, Some("period")));
    let (got, error) = service
        .post(&format!("/office/periods/{period}/close"), "", None)
        .await;
    assert_eq!((got, error["field"].as_str()), (401, Some("authorization")));
    let (got, _) = service.get("/nowhere").await;
    assert_eq!(got, 404);
    // None of it filed an application: only the counter's.
    let (_, summary) = service.get(&format!("/public/periods/{period}")).await;
    assert_eq!(summary["applications"], 24);
}

#[test]
fn it_stops_when_its_standard_input_closes() {
    let data = tempfile::tempdir().unwrap();
    cityhost_backend::testing::assert_stops_when_stdin_closes(
        env!("CARGO_BIN_EXE_hz-quota-office"),
        data.path(),
    );
}
