//! The `config` capability end to end: a department sets an app's variable
//! and secret through its API, a real component reads both over HTTP, a
//! change is seen at once without republishing, other departments are
//! refused, bad input is a 4xx naming the field, and the secret's value is
//! in no log line, audit record, API answer or data-directory file. The
//! host runs as a child process (`cityhost demo`) with debug logging, so
//! its whole output is searched.

use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::child_host::ChildHost;
use crate::support::workspace;

const APP: &str = "config-probe";
/// The department of `config-probe` (and of `probe`).
const OWNER: &str = "11330000002482146U";
/// Another department: hello's, the city's data bureau.
const OTHER: &str = "11330100002501175E";
const SECRET: &str = "sk-live-7Q2f9ZxW4tLmN8pR";
const NEW_SECRET: &str = "sk-live-second-Hq3vB6nY1c";

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Every file under `dir`, read.
fn files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(path) = todo.pop() {
        if path.is_dir() {
            todo.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, bytes));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn departments_configure_apps_and_secrets_stay_sealed() {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().join("data");
    let apps = ["miniapps", "examples", "host/tests/fixtures"].map(|dir| workspace().join(dir));
    let mut args = Vec::new();
    for dir in &apps {
        args.extend(["--apps", dir.to_str().unwrap()]);
    }
    let host = ChildHost::start("demo", &data_dir, &args).await;
    let base = host.base.clone();
    let http = reqwest::Client::new();
    let operator = std::fs::read_to_string(data_dir.join("operator-token")).unwrap();
    let operator = operator.trim().to_string();
    let token_of = |uscc: &'static str| {
        let http = http.clone();
        let base = base.clone();
        let operator = operator.clone();
        async move {
            let r = http
                .post(format!("{base}/api/operator/departments/{uscc}/tokens"))
                .bearer_auth(&operator)
                .json(&json!({"scopes": ["publish"], "lifetime_secs": 3600}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201, "token for {uscc}");
            r.json::<Value>().await.unwrap()["token"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let owner = token_of(OWNER).await;
    let other = token_of(OTHER).await;
    let config = format!("{base}/api/departments/{OWNER}/apps/{APP}/config");
    let put = |token: &str, path: &str, value: Value| {
        http.put(format!("{config}/{path}"))
            .bearer_auth(token)
            .json(&value)
            .send()
    };
    let mut answers = Vec::new();

    // The owner sets a variable and a secret.
    let r = put(
        &owner,
        "variables/BILLING_URL",
        json!({"value": "https://billing.example/v1"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 204);
    let r = put(&owner, "secrets/BILLING_KEY", json!({"value": SECRET}))
        .await
        .unwrap();
    assert_eq!(r.status(), 204);

    // A real component reads both over HTTP.
    let citizen = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let r = crate::support::register(&citizen, &base, "13900000402", "a good password").await;
    assert_eq!(r.status(), 201);
    let app = |path: &str| citizen.get(format!("{base}/apps/{APP}{path}")).send();
    let read = |path: &'static str| async move {
        let r = app(path).await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r.json::<Value>().await.unwrap()["value"].clone()
    };
    assert_eq!(
        read("/variable?name=BILLING_URL").await,
        "https://billing.example/v1"
    );
    assert_eq!(read("/secret?name=BILLING_KEY").await, SECRET);
    assert_eq!(read("/variable?name=UNSET").await, Value::Null);
    // A secret is not a variable.
    assert_eq!(read("/variable?name=BILLING_KEY").await, Value::Null);
    let r = app("/secret?name=bad%20name").await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        r.json::<Value>().await.unwrap()["invalid_argument"]
            .as_str()
            .unwrap()
            .starts_with("name:")
    );

    // A change is seen by the next request, without republishing.
    put(&owner, "secrets/BILLING_KEY", json!({"value": NEW_SECRET}))
        .await
        .unwrap();
    put(
        &owner,
        "variables/BILLING_URL",
        json!({"value": "https://billing.example/v2"}),
    )
    .await
    .unwrap();
    assert_eq!(read("/secret?name=BILLING_KEY").await, NEW_SECRET);
    assert_eq!(
        read("/variable?name=BILLING_URL").await,
        "https://billing.example/v2"
    );

    // The list shows variables' values, secrets' names only.
    let r = http.get(&config).bearer_auth(&owner).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body = r.bytes().await.unwrap();
    answers.extend_from_slice(&body);
    let list: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(list["variables"][0]["name"], "BILLING_URL");
    assert_eq!(list["variables"][0]["value"], "https://billing.example/v2");
    assert_eq!(list["secrets"][0]["name"], "BILLING_KEY");
    assert!(list["secrets"][0]["updated_at"].is_u64());
    assert!(list["secrets"][0].get("value").is_none());

    // The CLI over the same API: list, and a secret set from stdin.
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_cityhost"))
            .arg("config")
            .args(args)
            .args(["--host", base.as_str()])
            .env("CITYHOST_TOKEN", &owner)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let out = cli(&["list", APP]).wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    answers.extend_from_slice(&out.stdout);
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap(), list);
    let mut set = cli(&["set", "--secret", APP, "CLI_KEY"]);
    std::io::Write::write_all(
        &mut set.stdin.take().unwrap(),
        format!("{SECRET}\n").as_bytes(),
    )
    .unwrap();
    let out = set.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    answers.extend_from_slice(&out.stdout);
    answers.extend_from_slice(&out.stderr);
    assert_eq!(read("/secret?name=CLI_KEY").await, SECRET);

    // Another department: 403, whether it names its own code or the owner's.
    let r = http.get(&config).bearer_auth(&other).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r = put(&other, "secrets/BILLING_KEY", json!({"value": "stolen"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http
        .get(format!("{base}/api/departments/{OTHER}/apps/{APP}/config"))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(read("/secret?name=BILLING_KEY").await, NEW_SECRET);
    // No token: 401.
    let r = http.get(&config).send().await.unwrap();
    assert_eq!(r.status(), 401);

    // Bad input: 4xx naming the field, never echoing the value.
    for (path, value, field) in [
        (
            "variables/1starts-with-digit",
            json!({"value": "v"}),
            "name",
        ),
        (
            &*format!("secrets/{}", "N".repeat(65)),
            json!({"value": "v"}),
            "name",
        ),
        (
            "secrets/BIG",
            json!({"value": format!("{SECRET}{}", "x".repeat(4096))}),
            "value",
        ),
    ] {
        let r = put(&owner, path, value).await.unwrap();
        assert_eq!(r.status(), 400, "{path}");
        let body = r.bytes().await.unwrap();
        answers.extend_from_slice(&body);
        let error: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(error["error"]["field"], field, "{path}: {error}");
    }
    let r = put(&owner, "variables/OK", json!({"valu": "typo"}))
        .await
        .unwrap();
    assert!(r.status().is_client_error());

    // Unset: the app sees it gone.
    let r = http
        .delete(format!("{config}/variables/BILLING_URL"))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(read("/variable?name=BILLING_URL").await, Value::Null);

    // The audit export of the app.
    let r = http
        .get(format!("{base}/api/operator/audit?app={APP}"))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let audit = r.bytes().await.unwrap();
    assert!(contains(&audit, "config.secret"), "the reads are audited");

    let logs = host.stop();
    assert!(contains(&logs, "BILLING_KEY"), "the logs were captured");
    for secret in [SECRET, NEW_SECRET] {
        assert!(!contains(&logs, secret), "a secret in the host's output");
        assert!(!contains(&audit, secret), "a secret in the audit records");
        assert!(!contains(&answers, secret), "a secret in an API answer");
        for (path, bytes) in files(&data_dir) {
            assert!(
                !contains(&bytes, secret),
                "a secret in clear in {}",
                path.display()
            );
        }
    }
}
