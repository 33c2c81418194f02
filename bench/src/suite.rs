//! The whole suite in one run, written as a Markdown report
//! (`docs/benchmarks.md`): in-process costs, capability calls, HTTP load
//! against `wasmtime serve` and a native handler, scale, noisy neighbour,
//! several hosts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use crate::hosts::HostsRun;
use crate::http_load::{self, Load, LoadResult, Server};
use crate::in_process::{CapabilityCost, Fixture};
use crate::stats::{Summary, median_index};
use crate::{gen_apps, report};
use cityhost::runtime::{MEMORY_KEEP_RESIDENT, TABLE_KEEP_RESIDENT};

/// Settings of a suite run.
#[derive(Debug, Clone, clap::Args)]
pub struct SuiteArgs {
    /// Workspace root (apps are read from `examples/hello-http` and
    /// `bench/guests/bench-loop`).
    #[arg(long, default_value = ".")]
    pub workspace: PathBuf,
    /// Built components (`cityhost build-apps` output).
    #[arg(long)]
    pub components: PathBuf,
    /// The `cityhost` binary (release build).
    #[arg(long)]
    pub cityhost: PathBuf,
    /// Where `bench/run.sh` installed `oha` and `wasmtime` (`{tools}/bin`).
    #[arg(long)]
    pub tools: PathBuf,
    /// Seconds per load run (at least 1).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub seconds: u64,
    /// Connections of the fixed-concurrency runs (at least 1).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..))]
    pub connections: u32,
    /// Rounds of the fixed-concurrency comparison: each round runs every
    /// target once, in turn, and each target's figures are its median
    /// round (by requests/s), so a slow spell of a shared machine does not
    /// land on one target alone.
    #[arg(long, default_value_t = 5, value_parser = at_least::<1>)]
    pub rounds: usize,
    /// Iterations of each in-process measurement (at least 100, so that
    /// the percentiles and the CPU time per call mean something).
    #[arg(long, default_value_t = 20_000, value_parser = at_least::<100>)]
    pub iterations: usize,
    /// Apps for the scale measurement (at least 1; the targets are for
    /// 12,000, the count of government organisations a province's
    /// platform serves).
    #[arg(long, default_value_t = 12_000, value_parser = at_least::<1>)]
    pub apps: usize,
    /// An empty PostgreSQL database (`postgres://…`) to measure scale on
    /// the shared store as well (`bench/run.sh` starts a throwaway
    /// cluster); without it, scale is measured on the embedded store only.
    #[arg(long)]
    pub postgres: Option<String>,
    /// The report to write.
    #[arg(long, default_value = "docs/benchmarks.md")]
    pub out: PathBuf,
}

/// Parses a count of at least `MIN` (a clap value parser).
pub fn at_least<const MIN: usize>(text: &str) -> Result<usize, String> {
    let n: usize = text
        .parse()
        .map_err(|e| format!("`{text}` is not a count: {e}"))?;
    if n < MIN {
        return Err(format!("must be at least {MIN}"));
    }
    Ok(n)
}

/// Checks what a run needs before it spends minutes measuring: the load
/// tools, and a folder to write the report in.
fn preflight(args: &SuiteArgs) -> anyhow::Result<()> {
    for name in ["oha", "wasmtime"] {
        let tool = http_load::tool(&args.tools, name);
        let found = std::process::Command::new(&tool)
            .arg("--version")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        anyhow::ensure!(
            found,
            "`{name}` is neither in {} nor on PATH; bench/run.sh installs it",
            args.tools.join("bin").display()
        );
    }
    let folder = match args.out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    anyhow::ensure!(
        folder.is_dir(),
        "the report's folder {} does not exist",
        folder.display()
    );
    Ok(())
}

/// Everything one run measured.
pub struct Figures {
    /// `(label, summary)` of instantiate + trivial call.
    pub in_process: Vec<(String, Summary)>,
    /// Capability call costs.
    pub capabilities: Vec<CapabilityCost>,
    /// Fixed-concurrency runs, in target order.
    pub concurrency: Vec<Repeated>,
    /// Fixed-rate runs, in target order.
    pub rate: Vec<LoadResult>,
    /// Scale figures: the embedded store's, then PostgreSQL's when
    /// measured.
    pub scale: Vec<Scale>,
    /// Noisy neighbour: the well-behaved app alone, one run per round.
    pub quiet: Vec<LoadResult>,
    /// The well-behaved app while another app's requests spin, one run per
    /// round (each right after that round's quiet run).
    pub noisy: Vec<LoadResult>,
    /// The spinning app's own run (the last round's).
    pub spinner: LoadResult,
    /// Requests through one host on each store and through two hosts on
    /// PostgreSQL, when PostgreSQL is measured.
    pub hosts: Vec<HostsRun>,
}

/// One target's fixed-concurrency runs over the rounds.
pub struct Repeated {
    /// The median round (by requests/s).
    pub median: LoadResult,
    /// Requests/s of every round, in order.
    pub rounds: Vec<f64>,
}

impl Figures {
    /// Noisy neighbour: the median p99 beside the spinner over the median
    /// quiet p99.
    pub fn noisy_ratio(&self) -> f64 {
        median_p99(&self.noisy) / median_p99(&self.quiet)
    }

    /// The fixed-concurrency median of `target`.
    pub fn concurrency(&self, target: &str) -> &LoadResult {
        &self
            .concurrency
            .iter()
            .find(|r| r.median.target == target)
            .expect("every target is measured")
            .median
    }
}

/// The median p99 of `runs`, ms.
pub fn median_p99(runs: &[LoadResult]) -> f64 {
    let p99: Vec<f64> = runs.iter().map(|r| r.p99_ms).collect();
    median_index(&p99).map_or(f64::NAN, |i| p99[i])
}

/// Boot and memory with many apps.
pub struct Scale {
    /// The store: [`EMBEDDED`] or [`POSTGRES`].
    pub store: &'static str,
    /// Apps loaded.
    pub apps: usize,
    /// Spawn to ready on an empty data directory.
    pub cold_boot: Duration,
    /// Spawn to ready again on the same data directory.
    pub warm_boot: Duration,
    /// Resident memory after the warm boot, bytes.
    pub rss: u64,
    /// Resident memory after the first requests, bytes.
    pub rss_after: u64,
    /// Peak resident memory, bytes.
    pub peak: u64,
    /// First request to apps not touched since boot.
    pub first_request: Summary,
}

/// Target (a).
pub const CITYHOST: &str = "a. CityHost";
/// Target (b) at its defaults.
pub const WASMTIME_DEFAULT: &str = "b. wasmtime serve (defaults)";
/// Target (b) with the pooling allocator and keep-resident memory and
/// tables: the configuration the a/b target names.
pub const WASMTIME_BEST: &str = "b. wasmtime serve (pooling, keep-resident)";
/// Target (b) with every runtime setting the host uses, `PAGEMAP_SCAN`
/// memory reset included.
pub const WASMTIME_HOST_SETTINGS: &str =
    "b′. wasmtime serve (pooling, keep-resident, pagemap-scan)";
/// Target (c).
pub const NATIVE: &str = "c. native axum handler";
/// The scale measurement on the data directory's embedded database.
pub const EMBEDDED: &str = "embedded (sled)";
/// The scale measurement on PostgreSQL.
pub const POSTGRES: &str = "PostgreSQL";

/// Runs the suite and writes the report.
pub async fn run(args: &SuiteArgs) -> anyhow::Result<()> {
    preflight(args)?;
    let scratch = tempfile::tempdir()?;
    let hello_http = args.workspace.join("examples/hello-http");
    let bench_loop = args.workspace.join("bench/guests/bench-loop");

    eprintln!("in-process: instantiate + trivial call");
    let in_process = in_process(&args.workspace, &args.components, args.iterations).await?;
    eprintln!("in-process: capability calls");
    let fixture = Fixture::open(true, &[&bench_loop], &args.components).await?;
    let mut capabilities = Vec::new();
    for op in ["storage-get", "openid"] {
        capabilities.push(fixture.capability(op, 1_000, 101).await?);
    }
    drop(fixture);

    eprintln!("HTTP: starting the servers");
    let oha = http_load::tool(&args.tools, "oha");
    let wasmtime = http_load::tool(&args.tools, "wasmtime");
    let component = args.components.join("hello_http.wasm");
    let mut servers = Vec::new();
    {
        let port = http_load::free_port()?;
        let (mut host, _) = Server::start(
            CITYHOST,
            &args.cityhost,
            &cityhost_args(
                port,
                &scratch.path().join("host"),
                &args.components,
                &[&hello_http, &bench_loop],
            ),
            port,
            "/healthz",
            &scratch.path().join("host.log"),
        )
        .await?;
        host.sign_in("13900000001", "/apps/hello-http/").await?;
        servers.push(host);
    }
    let pooling = vec![
        "-O".to_string(),
        "pooling-allocator=y".into(),
        "-O".into(),
        format!("pooling-memory-keep-resident={MEMORY_KEEP_RESIDENT}"),
        "-O".into(),
        format!("pooling-table-keep-resident={TABLE_KEEP_RESIDENT}"),
    ];
    let mut host_settings = pooling.clone();
    host_settings.extend(["-O".into(), "pooling-pagemap-scan=y".into()]);
    for (name, options) in [
        (WASMTIME_DEFAULT, vec![]),
        (WASMTIME_BEST, pooling),
        (WASMTIME_HOST_SETTINGS, host_settings),
    ] {
        let port = http_load::free_port()?;
        let mut wargs = vec!["serve".to_string(), "-Scli".into()];
        wargs.extend(options);
        wargs.extend(["--addr".into(), format!("127.0.0.1:{port}")]);
        wargs.push(component.display().to_string());
        let log = scratch.path().join(format!("wasmtime-{port}.log"));
        let (server, _) = Server::start(name, &wasmtime, &wargs, port, "/", &log).await?;
        servers.push(server);
    }
    {
        let port = http_load::free_port()?;
        let bench = std::env::current_exe()?;
        let nargs = vec![
            "native".to_string(),
            "--bind".into(),
            format!("127.0.0.1:{port}"),
            "--data".into(),
            scratch.path().join("native").display().to_string(),
        ];
        let (mut native, _) = Server::start(
            NATIVE,
            &bench,
            &nargs,
            port,
            "/healthz",
            &scratch.path().join("native.log"),
        )
        .await?;
        native.sign_in("13900000002", "/native/hello").await?;
        servers.push(native);
    }

    let mut rounds: Vec<Vec<LoadResult>> = servers.iter().map(|_| Vec::new()).collect();
    for round in 1..=args.rounds {
        for (server, runs) in servers.iter().zip(&mut rounds) {
            eprintln!(
                "HTTP: {} at {} connections, round {round}",
                server.name, args.connections
            );
            let load = Load::Concurrency {
                connections: args.connections,
            };
            runs.push(http_load::run(&oha, server, load, args.seconds).await?);
        }
    }
    let concurrency: Vec<Repeated> = rounds
        .into_iter()
        .map(|runs| {
            let rps: Vec<f64> = runs.iter().map(|r| r.rps).collect();
            let median = median_index(&rps).expect("at least one round");
            Repeated {
                median: runs[median].clone(),
                rounds: rps,
            }
        })
        .collect();
    // One rate every target sustains: half the slowest one's throughput.
    let slowest = concurrency
        .iter()
        .map(|r| r.median.rps)
        .fold(f64::INFINITY, f64::min);
    let per_second = ((slowest / 2.0) as u32).max(50);
    let mut rate = Vec::new();
    for server in &servers {
        eprintln!("HTTP: {} at {per_second} requests/s", server.name);
        let load = Load::Rate {
            per_second,
            connections: args.connections,
        };
        rate.push(http_load::run(&oha, server, load, args.seconds).await?);
    }

    let host = &servers[0];
    let spin_url = host
        .url
        .replace("/apps/hello-http/", "/apps/bench-loop/spin");
    let at_rate = Load::Rate {
        per_second,
        connections: args.connections,
    };
    let (mut quiet, mut noisy, mut spinner) = (Vec::new(), Vec::new(), None);
    for round in 1..=args.rounds {
        eprintln!("noisy neighbour, round {round}: alone, then beside the spinner");
        quiet.push(http_load::run(&oha, host, at_rate, args.seconds).await?);
        let spin = http_load::run_url(
            &oha,
            "bench-loop /spin",
            &spin_url,
            host.cookie.as_deref(),
            Load::Concurrency { connections: 4 },
            args.seconds + 2,
        );
        let well_behaved = async {
            // Let the spinners occupy their instances first.
            tokio::time::sleep(Duration::from_secs(1)).await;
            http_load::run(&oha, host, at_rate, args.seconds).await
        };
        let (spin, beside) = tokio::join!(spin, well_behaved);
        spinner = Some(spin?);
        noisy.push(beside?);
    }
    let spinner = spinner.expect("at least one round");
    drop(servers);

    eprintln!("scale: {} apps, {EMBEDDED}", args.apps);
    let apps = gen_apps::generate(
        &hello_http,
        &component,
        args.apps,
        &scratch.path().join("scale"),
    )?;
    let mut scale_runs = vec![scale(args, &apps, None, scratch.path()).await?];
    let mut hosts = Vec::new();
    if let Some(url) = &args.postgres {
        eprintln!("scale: {} apps, {POSTGRES}", args.apps);
        scale_runs.push(scale(args, &apps, Some(url), scratch.path()).await?);
        hosts = crate::hosts::measure(args, url, scratch.path()).await?;
    }

    let figures = Figures {
        in_process,
        capabilities,
        concurrency,
        rate,
        scale: scale_runs,
        quiet,
        noisy,
        spinner,
        hosts,
    };
    let existing = std::fs::read_to_string(&args.out).ok();
    let text = report::splice(existing.as_deref(), &report::markdown(&figures, args));
    std::fs::write(&args.out, text).with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}

/// Instantiate + trivial call for both exports, with the pooling allocator
/// and without: `(label, summary)` in report order.
pub async fn in_process(
    workspace: &Path,
    components: &Path,
    iterations: usize,
) -> anyhow::Result<Vec<(String, Summary)>> {
    let apps = [
        workspace.join("examples/hello-http"),
        workspace.join("bench/guests/bench-loop"),
    ];
    let apps: Vec<&Path> = apps.iter().map(PathBuf::as_path).collect();
    let mut out = Vec::new();
    for pooling in [true, false] {
        let fixture = Fixture::open(pooling, &apps, components).await?;
        let allocator = if pooling { "pooling" } else { "on-demand" };
        for (app, export) in [("bench-loop", "SDK handler"), ("hello-http", "wasi:http")] {
            let summary = fixture.trivial(app, iterations).await?;
            out.push((format!("{export}, {allocator} allocator"), summary));
        }
    }
    Ok(out)
}

/// `cityhost serve` on `127.0.0.1:{port}` with `data`, the built
/// `components` and the apps found under `apps`.
pub fn cityhost_args(port: u16, data: &Path, components: &Path, apps: &[&Path]) -> Vec<String> {
    let mut out = vec![
        "serve".to_string(),
        // Its citizen registers with the code from the development page.
        "--dev-sms".into(),
        "--bind".into(),
        format!("127.0.0.1:{port}"),
        "--data".into(),
        data.display().to_string(),
        "--components".into(),
        components.display().to_string(),
    ];
    for app in apps {
        out.extend(["--apps".into(), app.display().to_string()]);
    }
    out
}

/// Boot, memory and first requests with the generated `(apps,
/// components)` on the embedded store, or on PostgreSQL at `postgres`.
async fn scale(
    args: &SuiteArgs,
    (apps, components): &(PathBuf, PathBuf),
    postgres: Option<&str>,
    scratch: &Path,
) -> anyhow::Result<Scale> {
    let (store, name) = match postgres {
        None => (EMBEDDED, "scale"),
        Some(_) => (POSTGRES, "scale-postgres"),
    };
    let data = scratch.join(format!("{name}-data"));
    let start = async |run: &str| {
        let port = http_load::free_port()?;
        let mut cli = cityhost_args(port, &data, components, &[apps]);
        if let Some(url) = postgres {
            cli.extend(["--store".into(), url.to_string()]);
        }
        Server::start(
            CITYHOST,
            &args.cityhost,
            &cli,
            port,
            "/healthz",
            &scratch.join(format!("{name}-{run}.log")),
        )
        .await
    };
    let (server, cold_boot) = start("cold").await?;
    drop(server);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (mut server, warm_boot) = start("warm").await?;
    let pid = server.pid().context("scale host pid")?;
    let (rss, _) = http_load::memory(pid)?;
    server.sign_in("13900000003", "/").await?;
    let mut first = Vec::new();
    for i in (1..=args.apps).step_by((args.apps / 100).max(1)) {
        let (elapsed, status) = server
            .get_once(&format!("/apps/{}/", gen_apps::app_id(i)))
            .await?;
        anyhow::ensure!(status == 200, "{} answered {status}", gen_apps::app_id(i));
        first.push(elapsed);
    }
    let (rss_after, peak) = http_load::memory(pid)?;
    Ok(Scale {
        store,
        apps: args.apps,
        cold_boot,
        warm_boot,
        rss,
        rss_after,
        peak,
        first_request: Summary::of(first),
    })
}
