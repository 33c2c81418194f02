//! `cityhost dev`, as a department's developer runs it: beside a
//! `cityhost demo` that already holds port 8080, it listens at a free port,
//! says so, and serves the app there.

use std::path::Path;
use std::process::Command;

use cityhost::cli::demo::DEMO_PASSWORD;

use crate::child_host::ChildHost;
use crate::support::workspace;

/// What `cityhost dev` prints once it listens.
const LISTENING: &str = "dev host at http://";

#[tokio::test(flavor = "multi_thread")]
async fn dev_listens_at_a_free_port_when_8080_is_taken() {
    // 8080 held: by this test, or already by another program.
    let _held = std::net::TcpListener::bind("127.0.0.1:8080");
    let data = tempfile::tempdir().unwrap();
    // The app's guest build, in a target dir of its own kept between runs.
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cityhost-dev-app");
    let mut dev = Command::new(env!("CARGO_BIN_EXE_cityhost"));
    dev.arg("dev")
        .arg("--dir")
        .arg(workspace().join("examples/hello"))
        .arg("--data")
        .arg(data.path())
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("RUST_LOG", "info");
    let host = ChildHost::spawn(dev, LISTENING).await;
    assert!(!host.base.ends_with(":8080"), "{}", host.base);

    // A demo citizen signs in there and opens the app.
    let citizen = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let r = citizen
        .post(format!("{}/api/login", host.base))
        .json(&serde_json::json!({"phone": "13800000001", "password": DEMO_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = citizen
        .get(format!("{}/apps/hello/", host.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-cityhost-release"], "0.1.0");

    let output = host.stop();
    let output = String::from_utf8_lossy(&output);
    let port = host_port(&output);
    assert!(
        output.contains(&format!(
            "127.0.0.1:8080 is taken; listening at 127.0.0.1:{port} instead"
        )),
        "{output}"
    );
}

/// The port in `cityhost dev`'s first line.
fn host_port(output: &str) -> &str {
    let (_, rest) = output.split_once(LISTENING).expect("the address");
    let address = rest.split_whitespace().next().unwrap();
    address.rsplit_once(':').unwrap().1
}
