//! The citizen shell in a real browser: `node --test` runs the scenarios in
//! `host/tests/browser/*.test.mjs`, which drive Debian's Chromium through
//! playwright-core against a host started here. The README's test command
//! (`scripts/test.sh`) installs Chromium and the npm packages first.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{TestHost, workspace};

/// Where the browser binary is: `$CHROMIUM` or Debian's `/usr/bin/chromium`.
fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Where the screenshots go: `$CITYHOST_SCREENSHOTS`, or `screenshots/`
/// beside the test binaries in the cargo target dir.
fn screenshots() -> PathBuf {
    std::env::var_os("CITYHOST_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_TARGET_TMPDIR"))
                .parent()
                .unwrap()
                .join("screenshots")
        })
}

#[tokio::test(flavor = "multi_thread")]
async fn the_shell_works_in_chromium() {
    let scenarios = workspace().join("host/tests/browser");
    let browser = chromium();
    assert!(
        browser.exists(),
        "{} is missing: run the README's test command (scripts/test.sh), which installs Debian's chromium",
        browser.display()
    );
    assert!(
        scenarios.join("node_modules/playwright-core").exists(),
        "playwright-core is not installed in {}: run the README's test command (scripts/test.sh)",
        scenarios.display()
    );
    let host = TestHost::start().await;
    let shots = screenshots();
    // The plate lottery's journey plays the quota office too: it closes and
    // draws the period with the office's token and announces the draw
    // with a department token, as the office's system does.
    let office = host.backend_url("plate-lottery");
    let office_token =
        std::fs::read_to_string(host.data_dir().join("backends/plate-lottery/office-token"))
            .unwrap();
    let events_token = host
        .department_token("11330100002501933H", &["events"])
        .await;
    // The exam-scores journey plays the examinations authority: it moves
    // the release time with the authority's token.
    let exam_authority = host.backend_url("exam-scores");
    let exam_token =
        std::fs::read_to_string(host.data_dir().join("backends/exam-scores/authority-token"))
            .unwrap();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .args(["--test", "--test-concurrency=1", "--test-reporter=spec"])
            .current_dir(&scenarios)
            .env("CITYHOST_BASE", &host.base)
            .env("CITYHOST_SCREENSHOTS", &shots)
            .env("CHROMIUM", &browser)
            .env("CITYHOST_LOTTERY_OFFICE", &office)
            .env("CITYHOST_LOTTERY_OFFICE_TOKEN", office_token.trim())
            .env("CITYHOST_LOTTERY_EVENTS_TOKEN", &events_token)
            .env("CITYHOST_EXAM_AUTHORITY", &exam_authority)
            .env("CITYHOST_EXAM_AUTHORITY_TOKEN", exam_token.trim())
            .output()
            .expect("running node (Node.js 20 or newer is needed)")
    })
    .await
    .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "browser scenarios failed:\n{report}"
    );
    println!("{report}");
}
