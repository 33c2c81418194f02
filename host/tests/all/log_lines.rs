//! The host's log as an operator's log collector reads it, line by line:
//! a guest's stderr is one escaped field of the host's own line, so a
//! mini-app cannot write a line that looks like the host's. The host runs
//! as a child process (`cityhost serve`) and its real output is read.

use crate::child_host::ChildHost;
use crate::support::workspace;

/// What the probe's `/forge-log` writes to stderr before it panics: a line
/// shaped like the host's own.
const FORGED: &str = "2026-01-01T00:00:00.000000Z  INFO cityhost: operator token rotated";

#[tokio::test(flavor = "multi_thread")]
async fn guest_stderr_is_one_escaped_field_of_the_hosts_log_line() {
    let data = tempfile::tempdir().unwrap();
    let probe = workspace().join("host/tests/fixtures/probe");
    let args = ["--dev-sms", "--apps", probe.to_str().unwrap()];
    let host = ChildHost::start("serve", &data.path().join("data"), &args).await;
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let r = crate::support::register(&http, &host.base, "13900000501", "a good password").await;
    assert_eq!(r.status(), 201);
    let r = http
        .get(format!("{}/apps/probe/forge-log", host.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    let error_id = r.json::<serde_json::Value>().await.unwrap()["error"]["error_id"]
        .as_str()
        .unwrap()
        .to_string();

    let output = String::from_utf8(host.stop()).unwrap();
    // Without colour codes, as a collector reading a pipe gets it.
    assert!(!output.contains('\u{1b}'), "ANSI escapes in piped output");
    let lines: Vec<&str> = output.lines().collect();
    assert!(
        !lines.iter().any(|line| line.starts_with(FORGED)),
        "the guest started a line of the host's log"
    );
    let failed: Vec<&&str> = lines
        .iter()
        .filter(|line| line.contains("probe: first line"))
        .collect();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    let line = failed[0];
    for part in [
        "ERROR",
        "mini-app request failed",
        "app=probe",
        error_id.as_str(),
        &format!(r#"stderr="probe: first line\n{FORGED}\n"#),
    ] {
        assert!(line.contains(part), "{part} is not in {line}");
    }
}
