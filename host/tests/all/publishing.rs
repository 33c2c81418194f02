//! Publishing end to end: a developer creates a mini-app with `cityhost new`
//! and builds it with `cityhost build`; its department uploads the signed
//! package over HTTP, an operator reviews it, releases it to 10% of
//! citizens, widens it to everyone and rolls it back; and every refusal of a
//! bad package.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use cityhost::publishing::package::Package;
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};

use crate::support::{TestHost, components, workspace};

/// The department that publishes `hello` (from its `[dev.publisher]`), and
/// the app made with `cityhost new` (under the template's default
/// department name and division, which are this account's).
const HELLO_DEPARTMENT: &str = "11330100002501175E";

/// An HTTP client for the department or operator API.
struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    fn new(host: &TestHost, token: &str) -> Api {
        Api {
            base: host.base.clone(),
            token: token.to_string(),
            http: reqwest::Client::new(),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    async fn put(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }
}

/// The manifest in `dir` (which says version 0.1.0) at `version`.
fn manifest_at(dir: &Path, version: &str) -> String {
    let text = std::fs::read_to_string(dir.join("cityhost.toml")).unwrap();
    assert!(text.contains("version = \"0.1.0\""), "{text}");
    text.replacen(
        "version = \"0.1.0\"",
        &format!("version = \"{version}\""),
        1,
    )
}

fn hello_manifest(version: &str) -> String {
    manifest_at(&workspace().join("examples/hello"), version)
}

fn component(file: &str) -> Vec<u8> {
    std::fs::read(components().join(file)).unwrap()
}

fn upload_body(
    key: &SigningKey,
    app: &str,
    version: &str,
    manifest: String,
    bytes: Vec<u8>,
) -> Value {
    serde_json::to_value(Package::sign(key, app, version, manifest, bytes).to_upload()).unwrap()
}

/// The operator issues a publish token to hello's department, which
/// registers its signing key.
async fn department(host: &TestHost) -> (Api, Api, SigningKey) {
    department_of(host, HELLO_DEPARTMENT).await
}

/// The operator issues a publish token to the department `uscc`, which
/// registers its signing key.
async fn department_of(host: &TestHost, uscc: &str) -> (Api, Api, SigningKey) {
    let operator = Api::new(host, &host.platform.operator_token);
    let (status, issued) = operator
        .post(
            &format!("/api/operator/departments/{uscc}/tokens"),
            &json!({"scopes": ["publish"], "lifetime_secs": 3600}),
        )
        .await;
    assert_eq!(status, 201, "{issued}");
    let department = Api::new(host, issued["token"].as_str().unwrap());
    let key = SigningKey::from_bytes(&[42; 32]);
    let public = base64::engine::general_purpose::STANDARD.encode(key.verifying_key().to_bytes());
    let (status, record) = department
        .post("/api/publish/keys", &json!({"public_key": public}))
        .await;
    assert_eq!(status, 201, "{record}");
    (operator, department, key)
}

/// The version of `app` the citizen's request was answered by.
async fn seen_version(citizen: &crate::support::Citizen, app: &str) -> String {
    let r = citizen.get(&format!("/apps/{app}/")).await;
    assert_eq!(r.status(), 200, "{app}");
    r.headers()["x-cityhost-release"]
        .to_str()
        .unwrap()
        .to_string()
}

/// A mini-app crate made by `cityhost new` and built by `cityhost build`.
struct NewApp {
    /// The app id (the name given to `cityhost new`).
    id: String,
    /// The crate's directory (kept until the test ends).
    dir: PathBuf,
    /// The built component.
    component: Vec<u8>,
    _parent: tempfile::TempDir,
}

/// Runs the `cityhost` binary in `dir`; returns its stdout.
fn cityhost(dir: &Path, args: &[&str], target_dir: Option<&Path>) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cityhost"));
    command.args(args).current_dir(dir);
    if let Some(target_dir) = target_dir {
        command.env("CARGO_TARGET_DIR", target_dir);
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "cityhost {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// `cityhost new civic-greeter` in a temp dir, then `cityhost build` there
/// (a guest build for `wasm32-wasip2` in a target dir of its own, kept
/// under the test target dir between runs).
fn new_app() -> NewApp {
    let id = "civic-greeter";
    let parent = tempfile::tempdir().unwrap();
    cityhost(parent.path(), &["new", id], None);
    let dir = parent.path().join(id);
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cityhost-new-app");
    let out = cityhost(&dir, &["build"], Some(&target_dir));
    let (_, path) = out
        .split_once("is ready to publish: ")
        .unwrap_or_else(|| panic!("no component in {out:?}"));
    let path = Path::new(path.trim());
    assert!(path.starts_with(&target_dir), "{}", path.display());
    NewApp {
        id: id.to_string(),
        component: std::fs::read(path).unwrap(),
        dir,
        _parent: parent,
    }
}

/// Uploads `version` of `app` (its crate's manifest at that version and its
/// component) and submits it for review.
async fn upload_and_submit(department: &Api, key: &SigningKey, app: &NewApp, version: &str) {
    let body = upload_body(
        key,
        &app.id,
        version,
        manifest_at(&app.dir, version),
        app.component.clone(),
    );
    let (status, record) = department.post("/api/publish/packages", &body).await;
    assert_eq!(status, 201, "{record}");
    assert_eq!(record["state"], "uploaded");
    let (status, record) = department
        .post(
            &format!("/api/publish/apps/{}/versions/{version}/submit", app.id),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(record["state"], "in_review");
}

/// The operator gives the app id `app` to the hello department.
async fn give_app(operator: &Api, app: &str) {
    let (status, record) = operator
        .post(
            &format!("/api/operator/departments/{HELLO_DEPARTMENT}/apps"),
            &json!({"app_id": app}),
        )
        .await;
    assert_eq!(status, 200, "{record}");
}

/// The operator approves `version` of `app`.
async fn approve(operator: &Api, app: &str, version: &str) {
    let (status, record) = operator
        .post(
            &format!("/api/operator/apps/{app}/versions/{version}/approve"),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(record["state"], "approved");
}

/// The operator releases `version` of `app` to `percent` of its citizens.
async fn release(operator: &Api, app: &str, version: &str, percent: u8) -> Value {
    let (status, plan) = operator
        .post(
            &format!("/api/operator/apps/{app}/versions/{version}/release"),
            &json!({"percent": percent}),
        )
        .await;
    assert_eq!(status, 200, "{plan}");
    plan
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_app_goes_from_cityhost_new_through_gray_release_to_rollback() {
    let app = tokio::task::spawn_blocking(new_app).await.unwrap();
    let id = app.id.as_str();
    let host = TestHost::start().await;
    let (operator, department, key) = department(&host).await;

    // Not the department's app yet.
    let body = upload_body(
        &key,
        id,
        "0.1.0",
        manifest_at(&app.dir, "0.1.0"),
        app.component.clone(),
    );
    let (status, error) = department.post("/api/publish/packages", &body).await;
    assert_eq!(status, 403, "{error}");
    give_app(&operator, id).await;

    // Its first version: uploaded, reviewed, released to everyone.
    upload_and_submit(&department, &key, &app, "0.1.0").await;
    approve(&operator, id, "0.1.0").await;
    let plan = release(&operator, id, "0.1.0", 100).await;
    assert_eq!(plan["stable"], "0.1.0");

    // Upload and submit 0.2.0.
    upload_and_submit(&department, &key, &app, "0.2.0").await;

    // One version per app in review: 0.3.0 uploads but cannot be submitted.
    let body = upload_body(
        &key,
        id,
        "0.3.0",
        manifest_at(&app.dir, "0.3.0"),
        app.component.clone(),
    );
    assert_eq!(department.post("/api/publish/packages", &body).await.0, 201);
    let (status, error) = department
        .post(
            &format!("/api/publish/apps/{id}/versions/0.3.0/submit"),
            &json!({}),
        )
        .await;
    assert_eq!(status, 409, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already in review")
    );

    // Not released before approval.
    let (status, _) = operator
        .post(
            &format!("/api/operator/apps/{id}/versions/0.2.0/release"),
            &json!({"percent": 10}),
        )
        .await;
    assert_eq!(status, 409);
    let (_, queue) = operator.get("/api/operator/review").await;
    assert_eq!(queue.as_array().unwrap().len(), 1, "{queue}");
    // The reviewer sees what the release may reach.
    assert_eq!(
        queue[0]["reach"]["permissions"],
        json!(["identity"]),
        "{queue}"
    );
    assert_eq!(queue[0]["reach"]["http_allow"], json!([]), "{queue}");
    // And whose it is, what it replaces and how its manifest changed.
    let departments = &host.platform.services.publishing.departments;
    let owner = departments.get(HELLO_DEPARTMENT).await.unwrap().unwrap();
    assert_eq!(queue[0]["department_name"], owner.name.as_str());
    assert_eq!(queue[0]["running"]["version"], "0.1.0", "{queue}");
    assert_eq!(
        queue[0]["running"]["reach"]["permissions"],
        json!(["identity"])
    );
    let diff = queue[0]["manifest_diff"].as_str().unwrap();
    for line in [
        &format!("--- {id}@0.1.0"),
        &format!("+++ {id}@0.2.0"),
        "-version = \"0.1.0\"",
        "+version = \"0.2.0\"",
    ] {
        assert!(diff.lines().any(|l| l == line), "{line} not in\n{diff}");
    }
    approve(&operator, id, "0.2.0").await;

    // Citizens for the sample: the demo citizens and a few registered ones.
    let mut sample = vec![
        (
            "13800000001".to_string(),
            host.demo_citizen("13800000001").await,
        ),
        (
            "13800000002".to_string(),
            host.demo_citizen("13800000002").await,
        ),
    ];
    for i in 0..8 {
        let c = host.client();
        let phone = format!("1390000{i:04}");
        let r = c.register(&phone, "publishing-test").await;
        assert!(r.status().is_success(), "{}", r.status());
        sample.push((phone, c));
    }
    for (_, c) in &sample {
        assert_eq!(seen_version(c, id).await, "0.1.0");
    }

    // 10% gray release.
    let plan = release(&operator, id, "0.2.0", 10).await;
    assert_eq!(plan["gray"]["percent"], 10);
    // Over 1,000 citizens (ids made directly: the openid derivation and the
    // selection are the host's own), about 10% get the new version.
    let services = &host.platform.services;
    let registry = &host.platform.registry;
    let version_of = async |citizen_id: &str| {
        let openid = services.openids.openid(id, citizen_id).await.unwrap();
        registry
            .select(id, Some(&openid))
            .unwrap()
            .manifest
            .version
            .clone()
    };
    let on_new_version = async || {
        let mut new = 0;
        for i in 0..1000 {
            if version_of(&format!("simulated-citizen-{i}")).await == "0.2.0" {
                new += 1;
            }
        }
        new
    };
    let new = on_new_version().await;
    assert!(
        (60..=140).contains(&new),
        "{new} of 1000 citizens in a 10% gray release"
    );
    // Each citizen sees the same version on every request, the one the
    // selection gives for them.
    for (phone, c) in &sample {
        let citizen_id = services.accounts.by_phone(phone).await.unwrap().unwrap().id;
        let first = seen_version(c, id).await;
        for _ in 0..3 {
            assert_eq!(seen_version(c, id).await, first, "{phone} changed version");
        }
        assert_eq!(first, version_of(&citizen_id).await, "{phone}");
    }

    // Everyone.
    let plan = release(&operator, id, "0.2.0", 100).await;
    assert_eq!(plan["stable"], "0.2.0");
    for (_, c) in &sample {
        assert_eq!(seen_version(c, id).await, "0.2.0");
    }
    assert_eq!(on_new_version().await, 1000);

    // Rollback: the previous release at once, no restart.
    let (status, plan) = operator
        .post(&format!("/api/operator/apps/{id}/rollback"), &json!({}))
        .await;
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["stable"], "0.1.0");
    for (_, c) in &sample {
        assert_eq!(seen_version(c, id).await, "0.1.0");
    }
    let (_, versions) = department.get(&format!("/api/publish/apps/{id}")).await;
    let states: Vec<(String, String)> = versions["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_str().unwrap().into(),
                v["state"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        states,
        vec![
            ("0.1.0".into(), "released".into()),
            ("0.2.0".into(), "rolled_back".into()),
            ("0.3.0".into(), "uploaded".into()),
        ]
    );

    // Every operator step is in the operator log.
    let (_, log) = operator.get("/api/operator/actions").await;
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["operator"] == "operator")
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    for action in [
        "token.issue",
        "department.assign_app",
        "release.approve",
        "release.release",
        "release.rollback",
    ] {
        assert!(
            actions.contains(&action),
            "{action} not logged: {actions:?}"
        );
    }
}

/// The ids of the apps `citizen` sees in the list of services.
async fn listed(citizen: &crate::support::Citizen) -> Vec<String> {
    let apps = citizen.get_json("/api/apps", 200).await;
    let ids = apps.as_array().unwrap().iter();
    ids.map(|a| a["id"].as_str().unwrap().to_string()).collect()
}

/// An app whose first version goes out gray is listed for the citizens
/// in its gray group, who are served it, and for nobody else.
#[tokio::test(flavor = "multi_thread")]
async fn a_first_version_released_gray_is_listed_for_its_gray_group_alone() {
    let app = tokio::task::spawn_blocking(new_app).await.unwrap();
    let id = app.id.as_str();
    let host = TestHost::start().await;
    let (operator, department, key) = department(&host).await;
    give_app(&operator, id).await;
    upload_and_submit(&department, &key, &app, "0.1.0").await;
    approve(&operator, id, "0.1.0").await;

    // Two demo citizens in different gray buckets; the release reaches
    // the lower one's bucket and not the higher one's.
    let mut citizens = Vec::new();
    for phone in ["13800000001", "13800000002"] {
        let citizen = host.demo_citizen(phone).await;
        let openid = host.openid(phone, id).await;
        let bucket = cityhost::publishing::versions::gray_bucket(id, &openid);
        citizens.push((bucket, citizen));
    }
    citizens.sort_by_key(|(bucket, _)| *bucket);
    let [(low, inside), (high, outside)] = <[_; 2]>::try_from(citizens).ok().unwrap();
    assert_ne!(low, high, "the two citizens share a bucket");
    release(&operator, id, "0.1.0", low + 1).await;

    assert!(listed(&inside).await.contains(&app.id));
    assert_eq!(seen_version(&inside, id).await, "0.1.0");
    assert!(!listed(&outside).await.contains(&app.id));
    assert_eq!(outside.get(&format!("/apps/{id}/")).await.status(), 404);
    let anyone = host.client();
    assert!(!listed(&anyone).await.contains(&app.id));
    assert!(listed(&anyone).await.contains(&"hello".to_string()));
}

/// The crate `cityhost new` writes passes its own `cargo test`, natively,
/// as docs/publishing.md says (a native `cdylib` once failed to link:
/// it exported the component's functions under names with `:`).
#[test]
fn a_new_apps_cargo_test_passes_natively() {
    let app = new_app();
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cityhost-new-app");
    let output = Command::new(env!("CARGO"))
        .args(["test", "--quiet"])
        .current_dir(&app.dir)
        .env("CARGO_TARGET_DIR", &target_dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("1 passed"), "{stdout}");
}

/// `cityhost publish` of the crate's own build refuses one older than the
/// crate's sources, naming the source; with the build newer, it goes on
/// (to the signing key, missing here).
#[test]
fn cityhost_publish_refuses_a_build_older_than_its_sources() {
    let app = new_app();
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cityhost-new-app");
    let publish = || {
        let output = Command::new(env!("CARGO_BIN_EXE_cityhost"))
            .args(["publish", "--host", "http://127.0.0.1:9", "--token", "t"])
            .current_dir(&app.dir)
            .env("CARGO_TARGET_DIR", &target_dir)
            .output()
            .unwrap();
        assert!(!output.status.success());
        String::from_utf8(output.stderr).unwrap()
    };
    // The source changes after the build.
    let source = app.dir.join("src/lib.rs");
    let file = std::fs::File::options().write(true).open(&source).unwrap();
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    file.set_modified(later).unwrap();
    let stderr = publish();
    assert!(stderr.contains("is older than its sources"), "{stderr}");
    assert!(
        stderr.contains("src/lib.rs changed after the build"),
        "{stderr}"
    );

    // Sources older than the build again: it goes on.
    let earlier = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    file.set_modified(earlier).unwrap();
    let stderr = publish();
    assert!(!stderr.contains("older than its sources"), "{stderr}");
    assert!(stderr.contains("department.key"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trial_version_is_seen_only_by_its_testers() {
    let host = TestHost::start().await;
    let (_, department, key) = department(&host).await;
    let body = upload_body(
        &key,
        "hello",
        "0.2.0",
        hello_manifest("0.2.0"),
        component("hello.wasm"),
    );
    assert_eq!(department.post("/api/publish/packages", &body).await.0, 201);
    let tester = host.demo_citizen("13800000001").await;
    let other = host.demo_citizen("13800000002").await;
    let openid = host.openid("13800000001", "hello").await;
    // Bad entries are refused, each named: not an openid's shape, one
    // named twice, one this app was never given (another app's).
    let elsewhere = host.openid("13800000002", "move-my-car").await;
    for (testers, says) in [
        (
            json!([openid, "13800000002"]),
            "testers[1] is not an openid",
        ),
        (
            json!([openid.to_uppercase()]),
            "testers[0] is not an openid",
        ),
        (json!([openid, openid]), "testers[1] repeats"),
        (
            json!([openid, elsewhere]),
            "testers[1] is no openid hello has been given",
        ),
    ] {
        let (status, error) = department
            .send(
                reqwest::Method::PUT,
                "/api/publish/apps/hello/versions/0.2.0/trial",
                Some(&json!({ "testers": testers })),
            )
            .await;
        assert_eq!(status, 400, "{testers}: {error}");
        assert_eq!(error["error"]["field"], "testers", "{error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{testers}: {message}");
    }
    let (status, plan) = department
        .send(
            reqwest::Method::PUT,
            "/api/publish/apps/hello/versions/0.2.0/trial",
            Some(&json!({"testers": [openid]})),
        )
        .await;
    assert_eq!(status, 200, "{plan}");
    assert_eq!(seen_version(&tester, "hello").await, "0.2.0");
    assert_eq!(seen_version(&other, "hello").await, "0.1.0");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_packages_are_refused_with_the_reason() {
    let host = TestHost::start().await;
    let (operator, department, key) = department(&host).await;
    let hello = component("hello.wasm");
    let refuse = |body: Value| {
        let department = &department;
        async move {
            let (status, error) = department.post("/api/publish/packages", &body).await;
            (status, error["error"].clone())
        }
    };

    // Bad signature: signed by a key the department never registered.
    let stranger = SigningKey::from_bytes(&[7; 32]);
    let (status, error) = refuse(upload_body(
        &stranger,
        "hello",
        "0.2.0",
        hello_manifest("0.2.0"),
        hello.clone(),
    ))
    .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (400, Some("bad_signature")),
        "{error}"
    );
    assert_eq!(error["field"], "signature");
    // A signature over another version does not carry over.
    let mut body = upload_body(
        &key,
        "hello",
        "0.2.0",
        hello_manifest("0.2.0"),
        hello.clone(),
    );
    body["manifest"] = json!(hello_manifest("0.2.1"));
    assert_eq!(refuse(body).await.1["code"], "bad_signature");

    // Wrong department: utility-bills belongs to the water company.
    let text =
        std::fs::read_to_string(workspace().join("miniapps/utility-bills/cityhost.toml")).unwrap();
    let text = text.replacen("version = \"0.1.0\"", "version = \"0.2.0\"", 1);
    let (status, error) = refuse(upload_body(
        &key,
        "utility-bills",
        "0.2.0",
        text,
        component("utility_bills.wasm"),
    ))
    .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (403, Some("wrong_department")),
        "{error}"
    );

    // Version not increasing.
    let (status, error) = refuse(upload_body(
        &key,
        "hello",
        "0.1.0",
        hello_manifest("0.1.0"),
        hello.clone(),
    ))
    .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (409, Some("version_not_increasing")),
        "{error}"
    );
    assert_eq!(error["field"], "manifest.version");

    // Undeclared import: a component importing payment under hello's
    // manifest (identity, storage), named in the runtime's own words.
    let (status, error) = refuse(upload_body(
        &key,
        "hello",
        "0.2.0",
        hello_manifest("0.2.0"),
        component("utility_bills.wasm"),
    ))
    .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (422, Some("undeclared_import")),
        "{error}"
    );
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("cityhost:miniapp/payment@0.2.0"),
        "{message}"
    );

    // Over 10 MiB.
    let (status, error) = refuse(upload_body(
        &key,
        "hello",
        "0.2.0",
        hello_manifest("0.2.0"),
        vec![0; (10 << 20) + 1],
    ))
    .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (413, Some("package_too_large")),
        "{error}"
    );

    // Not a component.
    let (status, error) = refuse(upload_body(
        &key,
        "hello",
        "0.2.0",
        hello_manifest("0.2.0"),
        b"\0asm garbage".to_vec(),
    ))
    .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (422, Some("not_a_component")),
        "{error}"
    );

    // WebAssembly text: the engine could compile it, but a package carries
    // binary components only.
    let (status, error) = refuse(upload_body(
        &key,
        "hello",
        "0.2.0",
        hello_manifest("0.2.0"),
        b"(component)".to_vec(),
    ))
    .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (422, Some("not_a_component")),
        "{error}"
    );
    assert_eq!(error["field"], "component");
    assert!(
        error["message"].as_str().unwrap().contains("binary"),
        "{error}"
    );

    // Build metadata does not make a version newer (SemVer 2.0.0 §10):
    // a rebuild of the released 0.1.0 is refused.
    let (status, error) = refuse(upload_body(
        &key,
        "hello",
        "0.1.0+rebuild",
        hello_manifest("0.1.0+rebuild"),
        hello.clone(),
    ))
    .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (409, Some("version_not_increasing")),
        "{error}"
    );
    assert_eq!(error["field"], "manifest.version");

    // A limit over the operator's cap.
    let over = hello_manifest("0.2.0") + "\n[limits]\nmemory-mib = 512\n";
    let (status, error) = refuse(upload_body(&key, "hello", "0.2.0", over, hello.clone())).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (400, Some("over_cap")),
        "{error}"
    );
    assert_eq!(error["field"], "manifest.limits.memory-mib");

    // Nothing of it was stored: the app's only version is the bundled one.
    let (_, versions) = department.get("/api/publish/apps/hello").await;
    assert_eq!(
        versions["versions"].as_array().unwrap().len(),
        1,
        "{versions}"
    );

    // Without a token, or with a revoked one: 401.
    let anonymous = Api::new(&host, "not-a-token");
    assert_eq!(anonymous.get("/api/publish/department").await.0, 401);
    let (_, tokens) = operator
        .get(&format!(
            "/api/operator/departments/{HELLO_DEPARTMENT}/tokens"
        ))
        .await;
    for token in tokens.as_array().unwrap() {
        let id = token["id"].as_str().unwrap();
        let (status, _) = operator
            .send(
                reqwest::Method::DELETE,
                &format!("/api/operator/tokens/{id}"),
                None,
            )
            .await;
        assert_eq!(status, 200);
    }
    assert_eq!(department.get("/api/publish/department").await.0, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn departments_need_a_valid_uscc_and_a_zhejiang_division() {
    let host = TestHost::start().await;
    let operator = Api::new(&host, &host.platform.operator_token);
    let department = |uscc: &str, division: &str| {
        json!({
            "name": "杭州市西湖区市场监督管理局",
            "uscc": uscc,
            "division": division,
            "contact_name": "办公室",
            "contact_phone": "0571-87000000",
            "apps": ["westlake-market"],
        })
    };
    // One character off: the GB 32100 check character.
    let (status, error) = operator
        .post(
            "/api/operator/departments",
            &department("91330100MA27XL0E97", "330106"),
        )
        .await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["error"]["field"], "uscc");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("position 18")
    );
    let (status, error) = operator
        .post(
            "/api/operator/departments",
            &department("91330100MA27XL0E96", "110101"),
        )
        .await;
    assert_eq!(
        (status, &error["error"]["field"]),
        (400, &json!("division")),
        "{error}"
    );
    let (status, created) = operator
        .post(
            "/api/operator/departments",
            &department("91330100MA27XL0E96", "330106"),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let (status, _) = operator
        .post(
            "/api/operator/departments",
            &department("91330100MA27XL0E96", "330106"),
        )
        .await;
    assert_eq!(status, 409);
    // Not an operator: 401.
    let stranger = Api::new(&host, "0".repeat(64).as_str());
    assert_eq!(stranger.get("/api/operator/departments").await.0, 401);
}

/// The housing-fund centre, department of `housing-fund`, `id-probe` and
/// `id-probe-twin`.
const HOUSING_FUND: &str = "12330100470104496C";
const HOUSING_FUND_NAME: &str = "杭州住房公积金管理中心";

/// The citizen's unionid as `app` sees it (`id-probe`'s `/ids` route).
async fn unionid(citizen: &crate::support::Citizen, app: &str) -> String {
    let ids = citizen.get_json(&format!("/apps/{app}/ids"), 200).await;
    ids["unionid"].as_str().unwrap().to_string()
}

/// `id-probe`'s manifest at `version`.
fn id_probe_manifest(version: &str) -> String {
    manifest_at(&workspace().join("host/tests/fixtures/id-probe"), version)
}

/// Uploads `manifest` (at `version`) with `id-probe`'s component as `app`,
/// submits it, and has the operator approve it and release it to everyone.
async fn publish_id_probe(
    operator: &Api,
    department: &Api,
    key: &SigningKey,
    app: &str,
    version: &str,
    manifest: String,
) {
    let body = upload_body(key, app, version, manifest, component("id_probe.wasm"));
    let (status, record) = department.post("/api/publish/packages", &body).await;
    assert_eq!(status, 201, "{record}");
    let (status, record) = department
        .post(
            &format!("/api/publish/apps/{app}/versions/{version}/submit"),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{record}");
    approve(operator, app, version).await;
    release(operator, app, version, 100).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_renamed_department_keeps_every_citizens_unionid() {
    let host = TestHost::start().await;
    let zhang = host.demo_citizen("13800000001").await;
    let li = host.demo_citizen("13800000002").await;
    let before = (
        unionid(&zhang, "id-probe").await,
        unionid(&li, "id-probe").await,
    );
    assert_ne!(before.0, before.1);
    let (operator, department, key) = department_of(&host, HOUSING_FUND).await;
    let new_name = "杭州市住房公积金管理中心";
    let renamed = id_probe_manifest("0.2.0").replace(
        &format!("name = \"{HOUSING_FUND_NAME}\""),
        &format!("name = \"{new_name}\""),
    );
    assert!(renamed.contains(new_name));

    // The name is the account's: not changed by a manifest alone.
    let body = upload_body(
        &key,
        "id-probe",
        "0.2.0",
        renamed.clone(),
        component("id_probe.wasm"),
    );
    let (status, error) = department.post("/api/publish/packages", &body).await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["error"]["field"], "manifest.department.name");

    // The operator renames the department; its code stays.
    let (status, account) = operator
        .put(
            &format!("/api/operator/departments/{HOUSING_FUND}/name"),
            &json!({"name": new_name}),
        )
        .await;
    assert_eq!(status, 200, "{account}");
    assert_eq!(account["name"], new_name);
    assert_eq!(account["uscc"], HOUSING_FUND);
    let (status, error) = operator
        .put(
            &format!("/api/operator/departments/{HOUSING_FUND}/name"),
            &json!({"name": ""}),
        )
        .await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["error"]["field"], "name");

    // The renamed version reaches citizens under the new name ...
    publish_id_probe(&operator, &department, &key, "id-probe", "0.2.0", renamed).await;
    let r = zhang.get("/apps/id-probe/ids").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-cityhost-release"], "0.2.0");
    let apps = zhang.get_json("/api/apps", 200).await;
    let listed = apps
        .as_array()
        .or_else(|| apps["apps"].as_array())
        .unwrap()
        .iter()
        .find(|a| a["id"] == "id-probe")
        .cloned()
        .unwrap();
    assert_eq!(listed["department"]["name"], new_name, "{listed}");
    // ... and every citizen's unionid is what it was, in the renamed app
    // and in the department's app still under the old name.
    assert_eq!(unionid(&zhang, "id-probe").await, before.0);
    assert_eq!(unionid(&li, "id-probe").await, before.1);
    assert_eq!(unionid(&zhang, "id-probe-twin").await, before.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn another_uscc_is_another_department_even_under_the_same_name() {
    let host = TestHost::start().await;
    let operator = Api::new(&host, &host.platform.operator_token);
    // A second department of the same name and division, with its own code.
    let other = cityhost::uscc::Uscc::complete("1233010047010451")
        .unwrap()
        .to_string();
    assert_ne!(other, HOUSING_FUND);
    let (status, account) = operator
        .post(
            "/api/operator/departments",
            &json!({
                "name": HOUSING_FUND_NAME,
                "uscc": other,
                "division": "3301",
                "contact_name": "办公室",
                "contact_phone": "0571-12329",
                "apps": ["id-probe-copy"],
            }),
        )
        .await;
    assert_eq!(status, 201, "{account}");
    let (operator, department, key) = department_of(&host, &other).await;
    let manifest = id_probe_manifest("0.1.0")
        .replacen("id = \"id-probe\"", "id = \"id-probe-copy\"", 1)
        .replace(HOUSING_FUND, &other);
    publish_id_probe(
        &operator,
        &department,
        &key,
        "id-probe-copy",
        "0.1.0",
        manifest,
    )
    .await;

    let zhang = host.demo_citizen("13800000001").await;
    let li = host.demo_citizen("13800000002").await;
    for citizen in [&zhang, &li] {
        let here = unionid(citizen, "id-probe").await;
        assert_eq!(here, unionid(citizen, "id-probe-twin").await);
        assert_ne!(here, unionid(citizen, "id-probe-copy").await);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_manifest_names_its_own_departments_valid_uscc() {
    let host = TestHost::start().await;
    let (_operator, department, key) = department(&host).await;
    let upload = |manifest: String| {
        let body = upload_body(&key, "hello", "0.2.0", manifest, component("hello.wasm"));
        let department = &department;
        async move {
            let (status, error) = department.post("/api/publish/packages", &body).await;
            (status, error["error"].clone())
        }
    };
    let with_uscc = |code: &str| hello_manifest("0.2.0").replace(HELLO_DEPARTMENT, code);
    assert!(hello_manifest("0.2.0").contains(&format!("uscc = \"{HELLO_DEPARTMENT}\"")));

    // A code with a wrong check character, or a name in its place.
    for code in ["11330100002501175F", "杭州市数据资源管理局"] {
        let (status, error) = upload(with_uscc(code)).await;
        assert_eq!(
            (status, error["code"].as_str()),
            (400, Some("invalid_manifest")),
            "{code}: {error}"
        );
        assert_eq!(error["field"], "manifest.department.uscc", "{error}");
    }
    // No code at all: refused, naming the field to add.
    let without = hello_manifest("0.2.0")
        .lines()
        .filter(|line| !line.starts_with("uscc ="))
        .collect::<Vec<_>>()
        .join("\n");
    let (status, error) = upload(without).await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["field"], "manifest.department.uscc", "{error}");
    // Another department's valid code: a department cannot publish as
    // another.
    let (status, error) = upload(with_uscc(HOUSING_FUND)).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (403, Some("wrong_department")),
        "{error}"
    );
    assert_eq!(error["field"], "manifest.department.uscc", "{error}");
    assert!(
        error["message"].as_str().unwrap().contains(HOUSING_FUND),
        "{error}"
    );
    // Its own code: accepted.
    let (status, error) = upload(with_uscc(HELLO_DEPARTMENT)).await;
    assert_eq!(status, 201, "{error}");
}
