//! HTTP load runs: servers started as child processes on loopback, a
//! citizen signed in where the server checks sessions, and `oha` (from
//! crates.io) driving them at a fixed concurrency or a fixed request rate.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;
use serde_json::Value;
use tokio::process::{Child, Command};

use crate::stats::child_cpu;

/// Longest a server may take to answer its ready path: a first boot with
/// 12,000 apps on PostgreSQL publishes each one.
pub const READY_WAIT: Duration = Duration::from_secs(600);

/// A server under load, running as a child process (killed on drop).
pub struct Server {
    /// What it is, for the report.
    pub name: String,
    /// The URL loaded.
    pub url: String,
    /// `Cookie` header sent with every request, if the server checks sessions.
    pub cookie: Option<String>,
    child: Child,
}

impl Server {
    /// Starts `program args…` (which must listen on `port`), waits until
    /// `ready_path` answers (at most [`READY_WAIT`]) and returns it with the time
    /// from spawn to ready.
    pub async fn start(
        name: &str,
        program: &Path,
        args: &[String],
        port: u16,
        ready_path: &str,
        log: &Path,
    ) -> anyhow::Result<(Self, Duration)> {
        let log_file = std::fs::File::create(log)?;
        let started = Instant::now();
        let child = Command::new(program)
            .args(args)
            .stdout(Stdio::from(log_file.try_clone()?))
            .stderr(Stdio::from(log_file))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        loop {
            if let Ok(r) = client.get(format!("{base}{ready_path}")).send().await
                && r.status().is_success()
            {
                break;
            }
            if started.elapsed() > READY_WAIT {
                bail!("{name} did not become ready; see {}", log.display());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let ready = started.elapsed();
        Ok((
            Self {
                name: name.into(),
                url: base,
                cookie: None,
                child,
            },
            ready,
        ))
    }

    /// `http://127.0.0.1:PORT`: the loaded URL without its path (a
    /// CityHost URL's path starts at `/apps/`).
    pub fn base(&self) -> &str {
        let url = self.url.split("/apps/").next().unwrap_or(&self.url);
        url.trim_end_matches('/')
    }

    /// The process id (for its memory figures).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Registers a citizen on a CityHost server (one sending its SMS to the
    /// development page, `--dev-sms`) and keeps its session cookie for the
    /// load runs; `path` becomes the loaded URL.
    pub async fn sign_in(&mut self, phone: &str, path: &str) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let r = http
            .post(format!("{}/api/register/code", self.url))
            .json(&serde_json::json!({ "phone": phone }))
            .send()
            .await?;
        if r.status() != reqwest::StatusCode::ACCEPTED {
            bail!("asking {} for a code answered {}", self.name, r.status());
        }
        let sent: serde_json::Value = http
            .get(format!("{}/dev/sms.json", self.url))
            .send()
            .await?
            .json()
            .await?;
        let code = sent
            .as_array()
            .and_then(|all| all.iter().find(|m| m["phone"] == phone))
            .and_then(|m| m["params"]["code"].as_str())
            .context("no code on the development SMS page")?
            .to_string();
        let r = http
            .post(format!("{}/api/register", self.url))
            .json(&serde_json::json!({"phone": phone, "code": code, "password": "bench-password"}))
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("registering on {} answered {}", self.name, r.status());
        }
        let cookie = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(cityhost::identity::sessions::COOKIE))
            .and_then(|v| v.split(';').next())
            .context("no session cookie")?
            .to_string();
        self.cookie = Some(cookie);
        self.url.push_str(path);
        Ok(())
    }

    /// One GET of the loaded URL's server at `path` with the session; the
    /// time to the full answer and the status.
    pub async fn get_once(&self, path: &str) -> anyhow::Result<(Duration, u16)> {
        let base = self.base();
        let mut request = reqwest::Client::new().get(format!("{base}{path}"));
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        let started = Instant::now();
        let r = request.send().await?;
        let status = r.status().as_u16();
        r.bytes().await?;
        Ok((started.elapsed(), status))
    }
}

/// A free loopback port (bound then released).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// How a load run drives its server.
#[derive(Debug, Clone, Copy, Serialize)]
pub enum Load {
    /// `connections` clients each sending the next request on the answer.
    Concurrency {
        /// Open connections.
        connections: u32,
    },
    /// A fixed rate, with oha's latency correction (no coordinated
    /// omission), over `connections` connections.
    Rate {
        /// Requests per second.
        per_second: u32,
        /// Open connections.
        connections: u32,
    },
}

/// The outcome of one load run.
#[derive(Debug, Clone, Serialize)]
pub struct LoadResult {
    /// The server.
    pub target: String,
    /// How it was driven.
    pub load: Load,
    /// Requests answered (any status).
    pub requests: u64,
    /// Requests per second.
    pub rps: f64,
    /// Latency percentiles, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// 99.9th percentile, ms.
    pub p999_ms: f64,
    /// Answers with a status other than 200, plus connection errors.
    pub errors: u64,
    /// The server process's CPU time (all threads, user and system) over
    /// the run ÷ requests, µs; `None` when not measured.
    pub cpu_us: Option<f64>,
}

/// Runs `oha` against `server` for `seconds` with `load`, and measures the
/// server's CPU time per request.
pub async fn run(
    oha: &Path,
    server: &Server,
    load: Load,
    seconds: u64,
) -> anyhow::Result<LoadResult> {
    run_at(oha, server, &server.url, load, seconds).await
}

/// [`run`] at `url` of `server` (another path than the one it loads).
pub async fn run_at(
    oha: &Path,
    server: &Server,
    url: &str,
    load: Load,
    seconds: u64,
) -> anyhow::Result<LoadResult> {
    let cpu = || server.pid().and_then(child_cpu);
    let before = cpu();
    let mut result = run_url(
        oha,
        &server.name,
        url,
        server.cookie.as_deref(),
        load,
        seconds,
    )
    .await?;
    if let (Some(before), Some(after)) = (before, cpu())
        && result.requests > 0
    {
        result.cpu_us = Some((after - before).as_secs_f64() * 1e6 / result.requests as f64);
    }
    Ok(result)
}

/// Runs `oha` against `url` (with `cookie`) for `seconds` with `load`.
pub async fn run_url(
    oha: &Path,
    name: &str,
    url: &str,
    cookie: Option<&str>,
    load: Load,
    seconds: u64,
) -> anyhow::Result<LoadResult> {
    let mut cmd = Command::new(oha);
    // `-w`: requests in flight at the deadline are waited for, so they
    // are not counted as errors.
    cmd.args(["--no-tui", "--output-format", "json", "-w", "-z"])
        .arg(format!("{seconds}s"));
    match load {
        Load::Concurrency { connections } => {
            cmd.arg("-c").arg(connections.to_string());
        }
        Load::Rate {
            per_second,
            connections,
        } => {
            cmd.arg("-c")
                .arg(connections.to_string())
                .arg("-q")
                .arg(per_second.to_string())
                .arg("--latency-correction");
        }
    }
    if let Some(cookie) = cookie {
        cmd.arg("-H").arg(format!("cookie: {cookie}"));
    }
    cmd.arg(url).kill_on_drop(true).stderr(Stdio::inherit());
    let output = cmd
        .output()
        .await
        .with_context(|| format!("running {}", oha.display()))?;
    if !output.status.success() {
        bail!(
            "oha failed on {name}: {}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
    let report: Value = serde_json::from_slice(&output.stdout).context("oha's JSON report")?;
    parse(name, load, &report)
}

fn parse(name: &str, load: Load, report: &Value) -> anyhow::Result<LoadResult> {
    let ms = |key: &str| -> anyhow::Result<f64> {
        report["latencyPercentiles"][key]
            .as_f64()
            .map(|s| s * 1_000.0)
            .with_context(|| format!("latency percentile {key} in oha's report"))
    };
    let statuses = report["statusCodeDistribution"]
        .as_object()
        .context("status codes in oha's report")?;
    let mut requests = 0;
    let mut errors = 0;
    for (status, count) in statuses {
        let count = count.as_u64().unwrap_or(0);
        requests += count;
        if status != "200" {
            errors += count;
        }
    }
    if let Some(failures) = report["errorDistribution"].as_object() {
        errors += failures.values().filter_map(Value::as_u64).sum::<u64>();
    }
    Ok(LoadResult {
        target: name.into(),
        load,
        requests,
        rps: report["summary"]["requestsPerSec"]
            .as_f64()
            .context("requests/s in oha's report")?,
        p50_ms: ms("p50")?,
        p99_ms: ms("p99")?,
        p999_ms: ms("p99.9")?,
        errors,
        cpu_us: None,
    })
}

/// Resident and peak resident memory of process `pid`, bytes, from
/// `/proc/{pid}/status` (`VmRSS`, `VmHWM`).
pub fn memory(pid: u32) -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .with_context(|| format!("{name} in /proc/{pid}/status"))?;
        let kib: u64 = line
            .split_whitespace()
            .nth(1)
            .context("a number")?
            .parse()?;
        Ok(kib * 1024)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// Path of a program installed by `bench/run.sh` under `tools`, or found
/// on `PATH`.
pub fn tool(tools: &Path, name: &str) -> PathBuf {
    let installed = tools.join("bin").join(name);
    if installed.exists() {
        installed
    } else {
        PathBuf::from(name)
    }
}
