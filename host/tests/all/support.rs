//! Test host: builds the guests and the department backends once per test
//! run, starts a host (with its backends) per test.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use cityhost::cli::backends::{self, Backends};
use cityhost::cli::{build_apps, demo};
use cityhost::platform::{HostConfig, IdentityConfig, Platform, StoreConfig};
use cityhost::runtime::RuntimeConfig;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::Value;

/// The workspace root.
/// The store the suite runs on: the embedded database in each host's data
/// directory, or with `CITYHOST_TEST_STORE=postgres` a fresh PostgreSQL
/// database per host on the throwaway cluster the test command starts.
pub async fn test_store() -> StoreConfig {
    match std::env::var("CITYHOST_TEST_STORE").as_deref() {
        Ok("postgres") => {
            StoreConfig::Postgres(cityhost_store_postgres::testing::fresh_database().await)
        }
        Ok("sled") | Err(_) => StoreConfig::Embedded,
        Ok(other) => panic!("CITYHOST_TEST_STORE={other}: use postgres or sled"),
    }
}

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Directories of every app the tests load.
pub fn app_dirs() -> Vec<PathBuf> {
    let root = workspace();
    build_apps::find_apps(&[
        root.join("miniapps"),
        root.join("examples"),
        root.join("host/tests/fixtures"),
    ])
    .unwrap()
}

/// Builds the guest components once (cargo, `wasm32-wasip2`, guest profile).
pub fn components() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap();
        let roots = [
            workspace().join("miniapps"),
            workspace().join("examples"),
            workspace().join("host/tests/fixtures"),
        ];
        build_apps::build(&roots, target).expect("building the mini-apps")
    })
}

/// The department backends the apps declare (`[dev.backend]`) and the
/// directory of their binaries, built once per test run as `cityhost demo`
/// builds them (`{target}/backends`).
pub fn built_backends() -> &'static (Vec<backends::Declared>, PathBuf) {
    static BUILT: OnceLock<(Vec<backends::Declared>, PathBuf)> = OnceLock::new();
    BUILT.get_or_init(|| {
        let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap();
        let declared = backends::declared(&app_dirs()).expect("reading [dev.backend]");
        let bin_dir = backends::build(&declared, target).expect("building the backends");
        (declared, bin_dir)
    })
}

/// A running host.
pub struct TestHost {
    /// `http://127.0.0.1:{port}`.
    pub base: String,
    /// The host's state.
    pub platform: Arc<Platform>,
    background: Option<cityhost::background::Background>,
    /// Ends the host's HTTP side (`stop_serving`).
    stop: Arc<tokio::sync::Notify>,
    serving: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// The department backends, started for this host as `cityhost demo`
    /// starts them (data under `{data dir}/backends`); stopped with it.
    pub backends: Backends,
    _data: tempfile::TempDir,
}

/// A finished test's host is never dropped: dropping its sled database
/// flushes it while holding sled's process-wide transaction lock for
/// reading, and with another test's transaction waiting for that lock the
/// flush can wait forever for its own flusher thread (sled 0.34; many hosts
/// share one test process, a deployed host has one database). The data
/// directory is still removed.
impl Drop for TestHost {
    fn drop(&mut self) {
        std::mem::forget(self.platform.services.clone());
    }
}

impl TestHost {
    /// Starts a host with every app loaded and the demo data seeded.
    pub async fn start() -> TestHost {
        Self::start_with(RuntimeConfig::default()).await
    }

    /// Starts a host with these engine settings.
    pub async fn start_with(runtime: RuntimeConfig) -> TestHost {
        Self::start_configured(runtime, IdentityConfig::default()).await
    }

    /// Starts a host with these engine and identity settings (the issuer
    /// URL is always the host's own base).
    pub async fn start_configured(runtime: RuntimeConfig, identity: IdentityConfig) -> TestHost {
        Self::start_at("http", runtime, identity, Vec::new()).await
    }

    /// Starts a host that trusts `X-Forwarded-For` from 127.0.0.1, as behind
    /// a reverse proxy on the same machine: a test names each request's
    /// client with that header.
    pub async fn start_behind_proxy() -> TestHost {
        let loopback = std::net::IpAddr::from([127, 0, 0, 1]);
        Self::start_at(
            "http",
            RuntimeConfig::default(),
            IdentityConfig::default(),
            vec![loopback],
        )
        .await
    }

    /// Starts a host whose public URL is `https://` (as behind a TLS
    /// proxy), though the test still talks plain HTTP to it at `base`.
    pub async fn start_behind_tls() -> TestHost {
        Self::start_at(
            "https",
            RuntimeConfig::default(),
            IdentityConfig::default(),
            Vec::new(),
        )
        .await
    }

    /// Starts a host whose mini-apps may reach these loopback origins
    /// (as `serve --http-local-origin`, `ORIGIN[=IP:PORT]`).
    pub async fn start_with_local_origins(origins: &[&str]) -> TestHost {
        let local_origins: Vec<_> = origins
            .iter()
            .map(|o| cityhost::outbound::LocalOrigin::parse(o).unwrap())
            .collect();
        Self::start_host(
            "http",
            RuntimeConfig::default(),
            IdentityConfig::default(),
            |config| {
                // These replace a backend's pin of the same origin.
                let pins = &mut config.outbound.local_origins;
                pins.retain(|pin| !local_origins.iter().any(|l| l.origin == pin.origin));
                pins.extend(local_origins);
            },
        )
        .await
    }

    /// Starts a host on the PostgreSQL database at `url`, sharing it with
    /// the hosts already there: it takes the keys and operator token of
    /// `keys_from`'s data directory (every host of one deployment holds
    /// the same), or makes its own for the first host.
    pub async fn start_sharing(url: &str, keys_from: Option<&TestHost>) -> TestHost {
        Self::start_sharing_with(url, keys_from, |_| {}).await
    }

    /// Starts a host as [`TestHost::start_sharing`] does, its settings
    /// then changed by `configure` (e.g. the public URL of a load balancer
    /// in front, and that balancer as a trusted proxy).
    pub async fn start_sharing_with(
        url: &str,
        keys_from: Option<&TestHost>,
        configure: impl FnOnce(&mut HostConfig),
    ) -> TestHost {
        let url = url.to_string();
        let keys_from = keys_from.map(|host| host.data_dir().to_path_buf());
        Self::start_host(
            "http",
            RuntimeConfig::default(),
            IdentityConfig::default(),
            move |config| {
                config.store = StoreConfig::Postgres(url);
                if let Some(from) = keys_from {
                    copy_keys(&from, &config.data_dir);
                }
                configure(config);
            },
        )
        .await
    }

    async fn start_at(
        scheme: &str,
        runtime: RuntimeConfig,
        identity: IdentityConfig,
        trusted_proxies: Vec<std::net::IpAddr>,
    ) -> TestHost {
        Self::start_host(scheme, runtime, identity, |config| {
            config.trusted_proxies = trusted_proxies;
        })
        .await
    }

    async fn start_host(
        scheme: &str,
        runtime: RuntimeConfig,
        identity: IdentityConfig,
        configure: impl FnOnce(&mut HostConfig),
    ) -> TestHost {
        let data = tempfile::tempdir().unwrap();
        let components = tokio::task::spawn_blocking(components).await.unwrap();
        let (declared, bin_dir) = tokio::task::spawn_blocking(built_backends).await.unwrap();
        let backends = Backends::start(declared, bin_dir, data.path(), true)
            .await
            .expect("starting the department backends");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let base = format!("http://{address}");
        let mut config = HostConfig {
            runtime,
            identity: IdentityConfig {
                public_url: Some(format!("{scheme}://{address}")),
                ..identity
            },
            ..HostConfig::new(data.path())
        };
        config.outbound.local_origins = backends.local_origins();
        // Every test citizen comes from 127.0.0.1: as many citizens behind
        // one address.
        config.identity.sms_per_client_hour.get_or_insert(10_000);
        config.store = test_store().await;
        configure(&mut config);
        let platform = Platform::open(&config).await.unwrap();
        let failures = platform.load_apps(&app_dirs(), components).await;
        assert!(failures.is_empty(), "apps failed to load: {failures:?}");
        demo::seed(&platform).await.unwrap();
        let stop = Arc::new(tokio::sync::Notify::new());
        let shutdown = {
            let stop = stop.clone();
            async move {
                tokio::select! {
                    () = cityhost::http::shutdown_signal() => {}
                    () = stop.notified() => {}
                }
            }
        };
        let serving = tokio::spawn(cityhost::http::serve_until(
            listener,
            platform.clone(),
            shutdown,
        ));
        let background = cityhost::background::Background::start(&platform);
        TestHost {
            base,
            platform,
            background: Some(background),
            stop,
            serving: Some(serving),
            backends,
            _data: data,
        }
    }

    /// Stops the host's background tasks (event delivery, cron, signals),
    /// as if the host had died while its HTTP side answers on.
    pub fn stop_background(&mut self) {
        self.background = None;
    }

    /// Takes the host away: stops its background tasks and its HTTP side
    /// as a SIGTERM does (no new connections, open inbox streams ended,
    /// open requests finished), and returns once it has stopped.
    pub async fn stop(&mut self) {
        self.stop_background();
        self.stop.notify_one();
        if let Some(serving) = self.serving.take() {
            serving.await.unwrap().unwrap();
        }
    }

    /// The version of `app`'s stable release on this host.
    pub fn stable_version(&self, app: &str) -> String {
        let app = self.platform.registry.get(app).expect("the app is loaded");
        app.manifest.version.clone()
    }

    /// GET `path` (under `/api/operator`) with the operator's bearer token,
    /// decoded as JSON.
    pub async fn operator_json(&self, path: &str) -> Value {
        Client::new()
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.platform.operator_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The openid for `app` of the citizen registered with `phone`.
    pub async fn openid(&self, phone: &str, app: &str) -> String {
        let services = &self.platform.services;
        let citizen = services.accounts.by_phone(phone).await.unwrap().unwrap();
        services.openids.openid(app, &citizen.id).await.unwrap()
    }

    /// A bearer token of department `uscc` with `scopes`, issued by the
    /// operator.
    pub async fn department_token(&self, uscc: &str, scopes: &[&str]) -> String {
        let r = Client::new()
            .post(format!(
                "{}/api/operator/departments/{uscc}/tokens",
                self.base
            ))
            .bearer_auth(&self.platform.operator_token)
            .json(&serde_json::json!({"scopes": scopes, "lifetime_secs": 3600}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Waits (as [`eventually`]) until the event outbox is empty: every
    /// host event delivered and accepted.
    pub async fn events_delivered(&self) {
        let events = &self.platform.services.events;
        eventually("every event delivered", || async {
            events.pending().await.unwrap().is_empty()
        })
        .await;
    }

    /// Publishes the fixture `host/tests/fixtures/{fixture}` again at a
    /// new version (0.1.1, 0.1.2, ...), its manifest changed by `edit`
    /// (e.g. to list a test server's origin in `[http] allow`).
    pub async fn republish_fixture(&self, fixture: &str, edit: impl FnOnce(String) -> String) {
        static PATCH: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
        let patch = PATCH.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let manifest = workspace()
            .join("host/tests/fixtures")
            .join(fixture)
            .join("cityhost.toml");
        let text = edit(std::fs::read_to_string(manifest).unwrap())
            .replace("version = \"0.1.0\"", &format!("version = \"0.1.{patch}\""));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cityhost.toml"), text).unwrap();
        self.platform
            .publish_bundled(dir.path(), components())
            .await
            .unwrap();
    }

    /// The base URL of `app_id`'s department backend, as the test reaches
    /// it directly (`http://127.0.0.1:{port}`).
    pub fn backend_url(&self, app_id: &str) -> String {
        let backend = self
            .backends
            .iter()
            .find(|b| b.app_id == app_id)
            .unwrap_or_else(|| panic!("{app_id} declares no [dev.backend]"));
        format!("http://{}", backend.address)
    }

    /// The host's data directory.
    pub fn data_dir(&self) -> &Path {
        self._data.path()
    }

    /// A fresh client registered (and signed in) with this phone number,
    /// at assurance level 1.
    pub async fn new_citizen(&self, phone: &str) -> Citizen {
        let citizen = self.client();
        let r = citizen.register(phone, "a good password").await;
        assert_eq!(r.status(), 201, "register {phone}");
        citizen
    }

    /// A fresh browser-like client (own cookie jar; echoes the CSRF
    /// cookie in `X-CSRF-Token` on state-changing calls, as the shell does).
    pub fn client(&self) -> Citizen {
        let jar = Arc::new(Jar::default());
        Citizen {
            base: self.base.clone(),
            http: Client::builder()
                .cookie_provider(jar.clone())
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            jar,
        }
    }

    /// A client signed in as the demo citizen with this phone number.
    pub async fn demo_citizen(&self, phone: &str) -> Citizen {
        let citizen = self.client();
        let r = citizen
            .post_json(
                "/api/login",
                &serde_json::json!({"phone": phone, "password": demo::DEMO_PASSWORD}),
            )
            .await;
        assert_eq!(r.status(), 200, "demo login");
        citizen
    }
}

/// Copies a host's keys (`keys/`) and operator token to the data
/// directory `to`, as an operator sets up another host of a deployment.
/// Copies the keys and operator token of data directory `from` into `to`,
/// as every host of one deployment holds the same.
pub fn copy_keys(from: &Path, to: &Path) {
    let keys = to.join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    for entry in std::fs::read_dir(from.join("keys")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), keys.join(entry.file_name())).unwrap();
    }
    std::fs::copy(from.join("operator-token"), to.join("operator-token")).unwrap();
}

/// An HTTP client with a cookie jar.
pub struct Citizen {
    base: String,
    /// The underlying client (sends no CSRF token by itself: see
    /// [`Citizen::request`]).
    pub http: Client,
    jar: Arc<Jar>,
}

/// The value a response's `Set-Cookie` gives cookie `name`, if any (empty
/// when it deletes the cookie).
pub fn set_cookie(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.split(';').next()?.strip_prefix(name)?.strip_prefix('='))
        .map(str::to_string)
}

/// The CSRF token a response's `Set-Cookie` hands out, if any.
pub fn csrf_cookie(response: &Response) -> Option<String> {
    set_cookie(response, "cityhost_csrf")
}

impl Citizen {
    /// A fresh browser-like client of `base` (cookie jar, CSRF header as
    /// [`TestHost::client`]) whose connections come from `local_address`
    /// (on Linux any `127.x.y.z` is this machine): a citizen at an address
    /// of their own, as the hosts behind a proxy tell them apart.
    pub fn from_address(base: &str, local_address: std::net::IpAddr) -> Citizen {
        let jar = Arc::new(Jar::default());
        Citizen {
            base: base.to_string(),
            http: Client::builder()
                .cookie_provider(jar.clone())
                .local_address(local_address)
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            jar,
        }
    }

    /// The same client (cookies and all) talking to the host at `base`,
    /// as a citizen's requests reach any host behind a load balancer.
    pub fn at(&self, base: &str) -> Citizen {
        Citizen {
            base: base.to_string(),
            http: self.http.clone(),
            jar: self.jar.clone(),
        }
    }

    /// The absolute URL of `path` on the host.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The CSRF token in this client's cookie jar (the `cityhost_csrf`
    /// cookie), if signed in.
    pub fn csrf_token(&self) -> Option<String> {
        let url = self.base.parse().unwrap();
        let cookies = self.jar.cookies(&url)?;
        cookies
            .to_str()
            .unwrap()
            .split(';')
            .find_map(|pair| pair.trim().strip_prefix("cityhost_csrf="))
            .filter(|token| !token.is_empty())
            .map(str::to_string)
    }

    /// A request to `path` as the shell sends it: with the CSRF token when
    /// the method changes state and the client is signed in.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let changes_state = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = self.csrf_token().filter(|_| changes_state) {
            request = request.header("x-csrf-token", token);
        }
        request
    }

    /// GET `path`.
    pub async fn get(&self, path: &str) -> Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    /// DELETE `path`.
    pub async fn delete(&self, path: &str) -> Response {
        self.request(Method::DELETE, path).send().await.unwrap()
    }

    /// POST JSON to `path`.
    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.request(Method::POST, path)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// POST a form to `path`.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.request(Method::POST, path)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Registers (and signs in) as the shell does; see [`register`].
    pub async fn register(&self, phone: &str, password: &str) -> Response {
        register(&self.http, &self.base, phone, password).await
    }

    /// GET `path` and decode JSON, asserting the status.
    pub async fn get_json(&self, path: &str, status: u16) -> Value {
        let r = self.get(path).await;
        assert_eq!(r.status(), status, "GET {path}");
        r.json().await.unwrap()
    }
}

/// Registers `phone` with `password` on the host at `base` as a citizen
/// does: asks for the one-time code (asserting 202), reads it from the
/// development SMS page (`/dev/sms.json`) and posts the registration.
/// Returns the registration's response.
pub async fn register(http: &Client, base: &str, phone: &str, password: &str) -> Response {
    let r = http
        .post(format!("{base}/api/register/code"))
        .json(&serde_json::json!({ "phone": phone }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "a code for {phone}");
    let code = sms_code(http, base, phone)
        .await
        .unwrap_or_else(|| panic!("no code was sent to {phone}"));
    http.post(format!("{base}/api/register"))
        .json(&serde_json::json!({"phone": phone, "code": code, "password": password}))
        .send()
        .await
        .unwrap()
}

/// The code in the newest development SMS to `phone`, if that message
/// carried one (not a notice).
pub async fn sms_code(http: &Client, base: &str, phone: &str) -> Option<String> {
    let r = http
        .get(format!("{base}/dev/sms.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the development SMS page");
    let messages: Value = r.json().await.unwrap();
    let newest = messages.as_array()?.iter().find(|m| m["phone"] == phone)?;
    newest["params"]["code"].as_str().map(str::to_string)
}

/// Every action of `kind` anywhere in a view.
pub fn actions<'a>(view: &'a Value, kind: &str) -> Vec<&'a Value> {
    let mut out = Vec::new();
    collect(view, kind, &mut out);
    out
}

fn collect<'a>(value: &'a Value, kind: &str, out: &mut Vec<&'a Value>) {
    match value {
        Value::Object(map) => {
            if map.get("kind").and_then(Value::as_str) == Some(kind) {
                out.push(value);
            }
            map.values().for_each(|v| collect(v, kind, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, kind, out)),
        _ => {}
    }
}

/// Polls `check` every 50 ms for up to 10 s.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// The binary of workspace package `package` (an example's verifier),
/// built once per test run as the backends are (`cargo build --release`,
/// into `{target}/backends`, so it never waits on the tests' own build).
pub fn package_binary(package: &str) -> PathBuf {
    static BUILT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap();
    let target = backends::target_dir(target);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if !built.iter().any(|p| p == package) {
        let status =
            std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
                .args(["build", "--release", "-p", package])
                .env("CARGO_TARGET_DIR", &target)
                .status()
                .expect("running cargo");
        assert!(status.success(), "building {package}");
        built.push(package.to_string());
    }
    target.join("release").join(package)
}

/// A child process (a host a test started) killed and reaped when dropped,
/// also when the test panics, so that it never outlives the test.
pub struct Reaped(pub std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl std::ops::Deref for Reaped {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Reaped {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}
