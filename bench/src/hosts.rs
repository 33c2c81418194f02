//! Several hosts: requests per second and host CPU per request through
//! one host on each store and through two hosts sharing one PostgreSQL
//! database, for a read (a signed-in page of `hello-http`, which the
//! session cache answers without the store) and a write (`bench-loop`'s
//! `GET /write`: one storage write replacing a value of the same size, a
//! transaction that reads the app's storage usage, the one record every
//! write of the app touches, and leaves it as it is).
//!
//! The two hosts are two `cityhost serve` processes with the same keys; the
//! load is split between them (half the connections each, run at once),
//! as a load balancer would split it. Their figures add up: requests and
//! CPU time are summed, latency is the worse host's.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::http_load::{self, Load, LoadResult, Server};
use crate::suite::{SuiteArgs, cityhost_args};

/// One setup under one kind of request.
pub struct HostsRun {
    /// `1 host, sled`, `1 host, PostgreSQL` or `2 hosts, PostgreSQL`.
    pub setup: &'static str,
    /// `read` or `write`.
    pub request: &'static str,
    /// The load run, summed over the setup's hosts.
    pub result: LoadResult,
}

/// The database the runs share, made beside the one `postgres` names.
const DATABASE: &str = "cityhost_bench_hosts";

/// Runs the three setups, each under a read and then a write load of
/// `args.seconds` at `args.connections`. `postgres` names a database of
/// the cluster to use (`postgres://…/postgres`, no query string).
pub async fn measure(
    args: &SuiteArgs,
    postgres: &str,
    scratch: &Path,
) -> anyhow::Result<Vec<HostsRun>> {
    let store = fresh_database(postgres).await?;
    let oha = http_load::tool(&args.tools, "oha");
    let mut runs = Vec::new();

    eprintln!("several hosts: 1 host, sled");
    let sled = start(args, scratch, "hosts-sled", None, None).await?;
    runs.extend(load(args, &oha, "1 host, sled", &[sled]).await?);

    eprintln!("several hosts: 1 host, PostgreSQL");
    let first = start(args, scratch, "hosts-pg-1", Some(&store), None).await?;
    let mut hosts = vec![first];
    runs.extend(load(args, &oha, "1 host, PostgreSQL", &hosts).await?);

    eprintln!("several hosts: 2 hosts, PostgreSQL");
    let keys_from = scratch.join("hosts-pg-1");
    let mut second = start(args, scratch, "hosts-pg-2", Some(&store), Some(&keys_from)).await?;
    // A session is the platform's: signed in on one host, valid on all.
    second.cookie.clone_from(&hosts[0].cookie);
    second.url = format!("{}/apps/hello-http/", second.base());
    hosts.push(second);
    runs.extend(load(args, &oha, "2 hosts, PostgreSQL", &hosts).await?);
    Ok(runs)
}

/// Makes [`DATABASE`] afresh on the cluster `postgres` names and returns
/// its URL.
async fn fresh_database(postgres: &str) -> anyhow::Result<String> {
    let (client, connection) = tokio_postgres::connect(postgres, tokio_postgres::NoTls)
        .await
        .context("connecting to --postgres")?;
    tokio::spawn(connection);
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {DATABASE}"))
        .await?;
    client
        .batch_execute(&format!("CREATE DATABASE {DATABASE}"))
        .await?;
    let (cluster, _db) = postgres
        .rsplit_once('/')
        .filter(|(_, db)| !db.contains('?'))
        .context("--postgres must be postgres://…/DATABASE without a query string")?;
    Ok(format!("{cluster}/{DATABASE}"))
}

/// Starts a host named `name` (its data directory and log in `scratch`)
/// with `hello-http` and `bench-loop`, on `store` if given, with the keys
/// of the data directory `keys_from` if given; signed in unless it shares
/// keys (its caller then gives it the first host's session).
async fn start(
    args: &SuiteArgs,
    scratch: &Path,
    name: &str,
    store: Option<&str>,
    keys_from: Option<&Path>,
) -> anyhow::Result<Server> {
    let data = scratch.join(name);
    if let Some(from) = keys_from {
        copy_keys(from, &data)?;
    }
    let apps = [
        args.workspace.join("examples/hello-http"),
        args.workspace.join("bench/guests/bench-loop"),
    ];
    let apps: Vec<&Path> = apps.iter().map(PathBuf::as_path).collect();
    let port = http_load::free_port()?;
    let mut cli = cityhost_args(port, &data, &args.components, &apps);
    if let Some(url) = store {
        cli.extend(["--store".into(), url.to_string()]);
    }
    let log = scratch.join(format!("{name}.log"));
    let (mut server, _) = Server::start(name, &args.cityhost, &cli, port, "/healthz", &log).await?;
    if keys_from.is_none() {
        server.sign_in("13900000004", "/apps/hello-http/").await?;
    }
    Ok(server)
}

/// What a host copies from the first before it starts (deploy.md, "Several
/// hosts on one database"): `keys/` and `operator-token`.
fn copy_keys(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to.join("keys"))?;
    for entry in std::fs::read_dir(from.join("keys"))? {
        let entry = entry?;
        std::fs::copy(entry.path(), to.join("keys").join(entry.file_name()))?;
    }
    std::fs::copy(from.join("operator-token"), to.join("operator-token"))?;
    Ok(())
}

/// The read and then the write load through `hosts`, the connections split
/// among them.
async fn load(
    args: &SuiteArgs,
    oha: &Path,
    setup: &'static str,
    hosts: &[Server],
) -> anyhow::Result<Vec<HostsRun>> {
    let connections = (args.connections / hosts.len() as u32).max(1);
    let load = Load::Concurrency { connections };
    let mut out = Vec::new();
    for (request, path) in [
        ("read", "/apps/hello-http/"),
        ("write", "/apps/bench-loop/write"),
    ] {
        let urls: Vec<String> = hosts
            .iter()
            .map(|host| format!("{}{path}", host.base()))
            .collect();
        let runs = hosts
            .iter()
            .zip(&urls)
            .map(|(host, url)| http_load::run_at(oha, host, url, load, args.seconds));
        let results = futures_util::future::try_join_all(runs).await?;
        out.push(HostsRun {
            setup,
            request,
            result: sum(
                setup,
                Load::Concurrency {
                    connections: args.connections,
                },
                &results,
            ),
        });
    }
    Ok(out)
}

/// One result for runs made at once on several hosts: requests, errors
/// and CPU time summed, latency the worse host's.
fn sum(target: &str, load: Load, results: &[LoadResult]) -> LoadResult {
    let requests: u64 = results.iter().map(|r| r.requests).sum();
    let cpu_seconds: Option<f64> = results
        .iter()
        .map(|r| r.cpu_us.map(|c| c * r.requests as f64 / 1e6))
        .sum();
    let worst = |f: fn(&LoadResult) -> f64| results.iter().map(f).fold(0.0, f64::max);
    LoadResult {
        target: target.to_string(),
        load,
        requests,
        rps: results.iter().map(|r| r.rps).sum(),
        p50_ms: worst(|r| r.p50_ms),
        p99_ms: worst(|r| r.p99_ms),
        p999_ms: worst(|r| r.p999_ms),
        errors: results.iter().map(|r| r.errors).sum(),
        cpu_us: cpu_seconds
            .filter(|_| requests > 0)
            .map(|s| s * 1e6 / requests as f64),
    }
}
