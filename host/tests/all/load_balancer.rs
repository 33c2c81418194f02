//! The shipped load-balancer configuration, `deploy/nginx/cityhost.conf`,
//! run by Debian's nginx in front of three hosts that share one PostgreSQL
//! database. The file is used as shipped, with only its ports, addresses
//! and file paths changed (`templated`): every citizen request of the test
//! goes through nginx, from a loopback address of the citizen's own.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cityhost::cli::demo::DEMO_PASSWORD;
use cityhost_store_postgres::testing::fresh_database;
use serde_json::json;

use crate::notifications::{EventStream, ask_to_move, data};
use crate::support::{Citizen, Reaped, TestHost, sms_code, workspace};

/// Where nginx is: `$NGINX`, else Debian's `/usr/sbin/nginx`.
fn nginx_binary() -> PathBuf {
    let nginx = std::env::var_os("NGINX")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/nginx"));
    assert!(
        nginx.exists(),
        "{} is missing: run the README's test command (scripts/test.sh), which installs \
         Debian's nginx, or set NGINX",
        nginx.display()
    );
    nginx
}

/// A free port on 127.0.0.1.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// The ports nginx listens on in the test.
#[derive(Clone, Copy)]
struct Ports {
    /// Plain HTTP, the port the citizens of the test use.
    plain: u16,
    /// HTTPS and HTTP/2 (the shipped `listen 443 ssl http2`).
    tls: u16,
    /// The shipped `listen 80` that redirects to HTTPS.
    redirect: u16,
}

/// `deploy/nginx/cityhost.conf` with the test's hosts as its upstream
/// servers, loopback ports for its listeners (the TLS one kept, a plain
/// one beside it) and `dir` for its certificate and logs. Panics if the
/// shipped file no longer has a line this changes.
fn templated(shipped: &str, hosts: &[&str; 3], ports: Ports, dir: &Path) -> String {
    let dir = dir.display();
    let swaps = [
        ("10.0.0.11:8080", hosts[0].to_string()),
        ("10.0.0.12:8080", hosts[1].to_string()),
        ("10.0.0.13:8080", hosts[2].to_string()),
        (
            "listen 443 ssl http2;",
            format!(
                "listen 127.0.0.1:{} ssl http2;\n    listen 127.0.0.1:{};",
                ports.tls, ports.plain
            ),
        ),
        (
            "listen 80;",
            format!("listen 127.0.0.1:{};", ports.redirect),
        ),
        ("/etc/nginx/tls/", format!("{dir}/")),
        ("/var/log/nginx/", format!("{dir}/")),
    ];
    let mut text = shipped.to_string();
    for (from, to) in swaps {
        assert!(
            text.contains(from),
            "deploy/nginx/cityhost.conf no longer has `{from}`: change the test with it"
        );
        text = text.replace(from, &to);
    }
    text
}

/// nginx serving the shipped configuration, as the user running the tests:
/// one process (`master_process off`) in the foreground, its pid, logs and
/// temporary files in a directory of its own. Killed when dropped.
struct Nginx {
    _process: Reaped,
    dir: tempfile::TempDir,
}

impl Nginx {
    fn start(hosts: &[&str; 3], ports: Ports) -> Nginx {
        let nginx = nginx_binary();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // A certificate for the shipped TLS listener.
        let out = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
            .args(["-subj", "/CN=city.example.gov.cn"])
            .args(["-addext", "subjectAltName=DNS:city.example.gov.cn"])
            .arg("-keyout")
            .arg(d.join("city.example.gov.cn.key"))
            .arg("-out")
            .arg(d.join("city.example.gov.cn.crt"))
            .output()
            .expect("running openssl");
        assert!(out.status.success(), "{out:?}");
        let shipped =
            std::fs::read_to_string(workspace().join("deploy/nginx/cityhost.conf")).unwrap();
        std::fs::write(
            d.join("cityhost.conf"),
            templated(&shipped, hosts, ports, d),
        )
        .unwrap();
        // The parts of nginx.conf that Debian's package provides, with the
        // paths it would write to moved into the directory.
        let p = d.display();
        let main = format!(
            "daemon off;\nmaster_process off;\npid {p}/nginx.pid;\nerror_log {p}/error.log warn;\n\
             events {{ worker_connections 512; }}\n\
             http {{\n\
             client_body_temp_path {p}/body;\nproxy_temp_path {p}/proxy;\n\
             fastcgi_temp_path {p}/fastcgi;\nuwsgi_temp_path {p}/uwsgi;\nscgi_temp_path {p}/scgi;\n\
             include {p}/cityhost.conf;\n}}\n"
        );
        std::fs::write(d.join("nginx.conf"), main).unwrap();
        let process = Command::new(nginx)
            .arg("-p")
            .arg(d)
            .arg("-c")
            .arg(d.join("nginx.conf"))
            .arg("-e")
            .arg(d.join("error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting nginx");
        Nginx {
            _process: Reaped(process),
            dir,
        }
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    /// Waits until nginx answers at `base`, showing its error log if it
    /// stopped.
    async fn ready(&mut self, base: &str) {
        for _ in 0..250 {
            if let Ok(r) = reqwest::get(format!("{base}/healthz")).await
                && r.status() == 200
            {
                return;
            }
            if let Some(status) = self._process.try_wait().unwrap() {
                panic!("nginx exited ({status}):\n{}", self.read("error.log"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("nginx did not answer:\n{}", self.read("error.log"));
    }

    /// Each logged request from line `from` on: its path and the host
    /// that answered it (the last address of `upstream=`, which lists
    /// every host tried), for the requests nginx passed on.
    fn answered_by(&self, from: usize) -> Vec<(String, String)> {
        let log = self.read("cityhost.access.log");
        log.lines()
            .skip(from)
            .filter_map(|line| {
                let path = line.split('"').nth(1)?.split(' ').nth(1)?;
                let upstreams = line.split(" upstream=").nth(1)?.split(' ').next()?;
                let host = upstreams.split(", ").last()?;
                (host != "-").then(|| (path.to_string(), host.to_string()))
            })
            .collect()
    }

    /// The hosts that answered requests logged from line `from` on.
    fn hosts_answering(&self, from: usize) -> Vec<String> {
        self.answered_by(from)
            .into_iter()
            .map(|(_, host)| host)
            .collect()
    }

    fn log_lines(&self) -> usize {
        self.read("cityhost.access.log").lines().count()
    }
}

/// Registers `phone` through `citizen`'s base (the balancer), as a browser
/// on the public URL does (`Origin` included). The code is read from the
/// development SMS page of whichever host sent it.
async fn register(citizen: &Citizen, origin: &str, hosts: &[&TestHost], phone: &str) {
    let r = citizen
        .http
        .post(citizen.url("/api/register/code"))
        .header("origin", origin)
        .json(&json!({ "phone": phone }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let mut code = None;
    for host in hosts {
        code = code.or(sms_code(&citizen.http, &host.base, phone).await);
    }
    let r = citizen
        .http
        .post(citizen.url("/api/register"))
        .header("origin", origin)
        .json(
            &json!({"phone": phone, "code": code.expect("a code"), "password": "a good password"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "register {phone}");
}

async fn login(citizen: &Citizen, phone: &str, password: &str) -> u16 {
    let r = citizen
        .post_json("/api/login", &json!({"phone": phone, "password": password}))
        .await;
    r.status().as_u16()
}

/// The host an open inbox stream is held on.
fn streaming_host(hosts: &[&TestHost]) -> usize {
    let listening: Vec<usize> = hosts
        .iter()
        .map(|h| {
            h.platform
                .services
                .notifications
                .live()
                .citizens_listening()
        })
        .collect();
    assert_eq!(listening.iter().sum::<usize>(), 1, "{listening:?}");
    listening.iter().position(|n| *n == 1).unwrap()
}

/// Three hosts behind nginx with the shipped configuration: TLS and the
/// redirect answer; a citizen registers, stays signed in on every host and
/// uses an app; a message reaches a live stream held through nginx;
/// requests reach every host; the hosts tell clients apart by nginx's
/// `X-Forwarded-For`; and with the stream's host stopped, the platform
/// answers through the other two and the reopened stream catches up.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nginx_spreads_citizens_over_three_hosts_and_routes_around_a_stopped_one() {
    nginx_binary();
    let started = Instant::now();
    let url = fresh_database().await;
    let ports = Ports {
        plain: free_port(),
        tls: free_port(),
        redirect: free_port(),
    };
    let public = format!("http://127.0.0.1:{}", ports.plain);
    let proxy = IpAddr::from([127, 0, 0, 1]);
    let behind = |config: &mut cityhost::platform::HostConfig| {
        config.identity.public_url = Some(public.clone());
        config.trusted_proxies = vec![proxy];
    };
    let a = TestHost::start_sharing_with(&url, None, behind).await;
    let b = TestHost::start_sharing_with(&url, Some(&a), behind).await;
    let c = TestHost::start_sharing_with(&url, Some(&a), behind).await;
    let mut hosts = [a, b, c];
    let addrs = hosts
        .each_ref()
        .map(|h| h.base.strip_prefix("http://").unwrap().to_string());
    let mut nginx = Nginx::start(&addrs.each_ref().map(String::as_str), ports);
    nginx.ready(&public).await;
    let hosts_up = started.elapsed();

    // TLS and HTTP/2 on the shipped listener; plain HTTP redirects there.
    let tls = Command::new("curl")
        .args([
            "-sS",
            "--http2",
            "-o",
            "/dev/null",
            "-w",
            "%{http_version} %{http_code}",
        ])
        .arg("--cacert")
        .arg(nginx.dir.path().join("city.example.gov.cn.crt"))
        .arg("--resolve")
        .arg(format!("city.example.gov.cn:{}:127.0.0.1", ports.tls))
        .arg(format!("https://city.example.gov.cn:{}/healthz", ports.tls))
        .output()
        .expect("running curl");
    assert_eq!(String::from_utf8_lossy(&tls.stdout), "2 200", "{tls:?}");
    let no_follow = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_follow
        .get(format!("http://127.0.0.1:{}/api/me?x=1", ports.redirect))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 301);
    assert_eq!(r.headers()["location"], "https://127.0.0.1/api/me?x=1");

    // A citizen registers through nginx (the browser's Origin is the
    // public URL, which every host compares it with) and stays signed in
    // whichever host answers.
    let all = hosts.each_ref();
    let newcomer = Citizen::from_address(&public, IpAddr::from([127, 0, 0, 2]));
    register(&newcomer, &public, &all, "13900000071").await;
    for _ in 0..6 {
        assert_eq!(newcomer.get("/api/me").await.status(), 200);
    }
    // A page of another origin is refused, through nginx as on a host.
    let r = newcomer
        .request(reqwest::Method::POST, "/api/logout")
        .header("origin", "http://127.0.0.1:1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // The owner of 浙A12345 holds the live inbox stream through nginx; the
    // newcomer asks them to move the car through the app, also through
    // nginx, and the message arrives on the stream.
    let owner = Citizen::from_address(&public, IpAddr::from([127, 0, 0, 3]));
    assert_eq!(login(&owner, "13800000002", DEMO_PASSWORD).await, 200);
    let mut stream = EventStream::open(&owner, &public, None).await;
    stream.expect("ready", Duration::from_secs(5)).await;
    ask_to_move(&newcomer, "浙A12345").await;
    let pushed = stream.expect("message", Duration::from_secs(2)).await;
    assert_eq!(data(&pushed)["message"]["template"], "move-request");
    let seen = pushed.id.clone().expect("a message id");

    // Requests reached every host.
    let answered = nginx.hosts_answering(0);
    for addr in &addrs {
        assert!(
            answered.contains(addr),
            "{addr} answered none of {answered:?}"
        );
    }

    // The hosts tell clients apart by nginx's X-Forwarded-For: five wrong
    // passwords lock the attacker's address out of the owner's number, an
    // address the attacker writes into the header does not free them, and
    // the owner, from their own address, signs in.
    let attacker = Citizen::from_address(&public, IpAddr::from([127, 0, 0, 4]));
    let attempt = |password: &str, forged: Option<&str>| {
        let mut request = attacker
            .request(reqwest::Method::POST, "/api/login")
            .json(&json!({"phone": "13800000002", "password": password}));
        if let Some(address) = forged {
            request = request.header("x-forwarded-for", address);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    for _ in 0..5 {
        assert_eq!(attempt("not the password", None).await, 401);
    }
    assert_eq!(attempt(DEMO_PASSWORD, None).await, 429);
    assert_eq!(attempt(DEMO_PASSWORD, Some("198.51.100.7")).await, 429);
    assert_eq!(login(&owner, "13800000002", DEMO_PASSWORD).await, 200);

    // The host holding the stream is taken away: the stream ends, and the
    // platform answers through the other two. The browser reconnects with
    // Last-Event-ID and gets a message asked for after the stop.
    let all = hosts.each_ref();
    let gone = streaming_host(&all);
    let gone_addr = addrs[gone].clone();
    let stopping = Instant::now();
    hosts[gone].stop().await;
    let stop_took = stopping.elapsed();
    assert!(
        tokio::time::timeout(Duration::from_secs(2), stream.next())
            .await
            .expect("the stream to end")
            .is_none(),
        "the stream outlived its host"
    );
    // Once nginx has logged the ended stream, every later line is a
    // request made after the stop.
    let stream_logged = || {
        nginx
            .answered_by(0)
            .contains(&("/api/inbox/stream".to_string(), gone_addr.clone()))
    };
    for _ in 0..100 {
        if stream_logged() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(stream_logged(), "the ended stream is not in nginx's log");
    let after = nginx.log_lines();
    let requester = Citizen::from_address(&public, IpAddr::from([127, 0, 0, 5]));
    assert_eq!(login(&requester, "13800000001", DEMO_PASSWORD).await, 200);
    for _ in 0..9 {
        assert_eq!(newcomer.get("/api/me").await.status(), 200);
        assert_eq!(requester.get("/api/me").await.status(), 200);
    }
    ask_to_move(&requester, "浙A12345").await;
    let mut resumed = EventStream::open(&owner, &public, Some(&seen)).await;
    resumed.expect("ready", Duration::from_secs(5)).await;
    let caught_up = resumed.expect("message", Duration::from_secs(2)).await;
    assert_eq!(data(&caught_up)["message"]["template"], "move-request");
    assert_ne!(caught_up.id.as_deref(), Some(seen.as_str()));
    let all = hosts.each_ref();
    assert_ne!(streaming_host(&all), gone);
    let answered = nginx.hosts_answering(after);
    assert!(!answered.contains(&gone_addr), "{answered:?}");
    for (i, addr) in addrs.iter().enumerate() {
        assert!(i == gone || answered.contains(addr), "{addr}: {answered:?}");
    }
    eprintln!(
        "nginx in front of three hosts: up in {hosts_up:?}, a host stopped in {stop_took:?}, \
         {:?} in all",
        started.elapsed()
    );
}
