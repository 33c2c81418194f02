//! The raw identity number never reaches a log line, an audit record or the
//! store's files: the `cityhost` binary runs as a child process with debug
//! logging, the population is imported with its CLI, and a citizen goes
//! through verification (with mistakes), consent and the housing-fund and
//! ID-token journeys; then its output, the audit records and every file of
//! the data directory are searched for the number.

use std::process::Command;

use serde_json::{Value, json};

use crate::child_host::ChildHost;
use crate::support::{csrf_cookie, workspace};

const NAME: &str = "钱七";
const NUMBER: &str = "330106200506305562";

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cityhost"))
}

fn contains_number(haystack: &[u8]) -> bool {
    haystack
        .windows(NUMBER.len())
        .any(|w| w.eq_ignore_ascii_case(NUMBER.as_bytes()))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_raw_number_is_in_no_log_audit_record_or_store_file() {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().join("data");
    let csv = data.path().join("population.csv");
    std::fs::write(
        &csv,
        format!("name,id_number\n{NAME},{NUMBER}\n无效,{}\n", &NUMBER[..17]),
    )
    .unwrap();

    // Import with the operator CLI.
    let import = bin()
        .arg("import-population")
        .arg("--data")
        .arg(&data_dir)
        .arg(&csv)
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    assert!(import.status.success(), "{import:?}");
    let report: Value = serde_json::from_slice(&import.stdout).unwrap();
    assert_eq!(report["imported"], 1);
    assert_eq!(
        report["rejected"],
        json!([{"line": 3, "field": "id_number", "reason": "format"}])
    );
    let mut output = import.stdout.clone();
    output.extend_from_slice(&import.stderr);

    // Serve with debug logging.
    let apps = [
        workspace().join("miniapps"),
        workspace().join("host/tests/fixtures"),
    ];
    let mut args = vec!["--dev-sms"];
    for dir in &apps {
        args.extend(["--apps", dir.to_str().unwrap()]);
    }
    let host = ChildHost::start("serve", &data_dir, &args).await;
    let base = host.base.clone();

    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let get = |path: &str| http.get(format!("{base}{path}")).send();
    let r = crate::support::register(&http, &base, "13900000401", "a good password").await;
    assert_eq!(r.status(), 201);
    let csrf = csrf_cookie(&r).expect("the CSRF cookie");
    let post = |path: &str, body: Value| {
        http.post(format!("{base}{path}"))
            .header("x-csrf-token", &csrf)
            .json(&body)
            .send()
    };
    // Mistakes first: each error path, then the match.
    let off_by_one = format!("{}3", &NUMBER[..17]);
    for (name, number, status) in [
        (NAME, &NUMBER[..17], 400),
        (NAME, off_by_one.as_str(), 400),
        ("钱八", NUMBER, 422),
        (NAME, NUMBER, 200),
        (NAME, NUMBER, 200),
    ] {
        let r = post(
            "/api/me/verification",
            json!({"name": name, "id_number": number}),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), status, "{number}");
        assert!(!contains_number(&r.bytes().await.unwrap()));
    }
    assert!(!contains_number(
        &get("/api/me").await.unwrap().bytes().await.unwrap()
    ));

    // housing-fund with the full number after consent; the ID-token probe.
    assert_eq!(get("/apps/housing-fund/").await.unwrap().status(), 403);
    for (app, scope) in [
        ("housing-fund", "auth_id_number"),
        ("id-probe", "auth_user"),
        ("id-probe", "auth_id_number"),
    ] {
        let r = post(
            "/api/consents",
            json!({"app_id": app, "scope": scope, "decision": "grant"}),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 204);
    }
    let page = get("/apps/housing-fund/").await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        !contains_number(&page.bytes().await.unwrap()),
        "the page masks it"
    );
    for path in [
        "/apps/id-probe/profile",
        "/apps/id-probe/real",
        "/apps/id-probe/token",
    ] {
        assert_eq!(get(path).await.unwrap().status(), 200, "{path}");
    }
    assert_eq!(
        http.delete(format!("{base}/api/consents/id-probe/auth_id_number"))
            .header("x-csrf-token", &csrf)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(get("/apps/id-probe/real").await.unwrap().status(), 403);

    // The audit records of every app touched, through the operator API.
    let token = std::fs::read_to_string(data_dir.join("operator-token")).unwrap();
    let mut audit = Vec::new();
    for app in ["housing-fund", "id-probe"] {
        let r = reqwest::Client::new()
            .get(format!("{base}/api/operator/audit?app={app}"))
            .bearer_auth(token.trim())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let records: Value = r.json().await.unwrap();
        assert!(records.as_array().unwrap().len() >= 2, "{app}: {records}");
        audit.extend_from_slice(records.to_string().as_bytes());
    }
    assert!(
        String::from_utf8_lossy(&audit).contains("identity.real-identity"),
        "the audit names the call"
    );

    // Stopped gracefully, so that the store is flushed.
    output.extend_from_slice(&host.stop());
    let text = String::from_utf8_lossy(&output);
    assert!(text.contains("real-name check"), "debug logs were captured");
    assert!(text.contains("DEBUG"), "debug logs were captured");
    assert!(
        !contains_number(&output),
        "the number is in the host's output"
    );
    assert!(!contains_number(&audit), "the number is in an audit record");

    // Encrypted at rest: no file of the data directory holds it.
    let mut files = vec![data_dir.clone()];
    let mut checked = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !contains_number(&bytes),
                "{} holds the number",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 3);
}
