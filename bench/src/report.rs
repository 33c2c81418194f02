//! The Markdown report of a suite run (`docs/benchmarks.md`).

use std::fmt::Write as _;

use crate::http_load::{Load, LoadResult};
use crate::suite::{
    CITYHOST, Figures, NATIVE, POSTGRES, Scale, SuiteArgs, WASMTIME_BEST, WASMTIME_DEFAULT,
    WASMTIME_HOST_SETTINGS,
};

/// The `wasmtime-cli` release `bench/run.sh` installs: the host's wasmtime.
const WASMTIME_CLI: &str = "48.0.8";
/// Target: median instantiate + trivial call with pooling, µs.
const IN_PROCESS_TARGET_US: f64 = 10.0;
/// Target: CityHost over the best `wasmtime serve`, requests/s.
const VS_WASMTIME_TARGET: f64 = 1.2;
/// Target: CityHost over the native handler, requests/s.
const VS_NATIVE_TARGET: f64 = 0.3;
/// Target: boot with [`SCALE_TARGET_APPS`] apps on a warm data dir, s.
const BOOT_TARGET_S: f64 = 5.0;
/// The app count the scale targets are for: the government organisations
/// of a province's platform.
const SCALE_TARGET_APPS: usize = 12_000;
/// Target: resident memory with [`SCALE_TARGET_APPS`] apps, bytes.
const MEMORY_TARGET: u64 = 1 << 30;
/// Target: first request to an app untouched since boot, p99, ms.
const FIRST_REQUEST_TARGET_MS: f64 = 10.0;
/// Target: p99 beside a spinning app over quiet p99.
const NOISY_TARGET: f64 = 2.0;

/// Marks the start of the suite's part of `docs/benchmarks.md`.
const BEGIN: &str =
    "<!-- BEGIN bench/run.sh report: everything up to END is rewritten by each run -->";
/// Marks its end; sections after it (their own commands) are kept.
const END: &str = "<!-- END bench/run.sh report -->";

/// `existing` (the current `docs/benchmarks.md`, if any) with the suite's
/// part replaced by `report`; a new file has the title and the report.
pub fn splice(existing: Option<&str>, report: &str) -> String {
    let fresh = format!("# Benchmarks\n\n{BEGIN}\n{report}{END}\n");
    let Some(text) = existing else { return fresh };
    match (text.find(BEGIN), text.find(END)) {
        (Some(begin), Some(end)) if begin < end => {
            format!("{}{BEGIN}\n{report}{}", &text[..begin], &text[end..])
        }
        _ => format!(
            "{}\n{}",
            fresh,
            text.trim_start_matches("# Benchmarks").trim_start()
        ),
    }
}

/// Renders the suite's report (the part between the markers).
pub fn markdown(f: &Figures, args: &SuiteArgs) -> String {
    let mut out = String::new();
    let now = time::OffsetDateTime::now_utc()
        .format(&time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "Reproduce (up to 25 minutes; installs `oha` and `wasmtime-cli` {wasmtime} from crates.io \
         into `~/.cache/cityhost-bench` on first use, builds the host and the guests, \
         starts a throwaway PostgreSQL cluster, runs everything below and rewrites this file):\n\n\
         ```sh\nbench/run.sh\n```\n\n\
         Run {now} on {cores} cores ({cpu}), Linux {kernel}. The load generator runs on \
         the same cores as the server, so absolute figures are lower bounds; ratios \
         compare targets measured in the same run. Every figure is a percentile, a \
         rate or a ratio from this one run, with the number of requests or calls \
         behind it. Settings: {seconds} s per load run, {connections} connections, \
         {rounds} rounds, {iterations} in-process calls, {apps} apps{defaults}.\n",
        seconds = args.seconds,
        connections = args.connections,
        rounds = args.rounds,
        iterations = args.iterations,
        apps = args.apps,
        defaults = if is_default(args) {
            " (the defaults)"
        } else {
            "; not the defaults, so not the figures to compare with a committed report"
        },
        wasmtime = WASMTIME_CLI,
        cores = std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu = cpu_model(),
        kernel = kernel(),
    );
    summary(&mut out, f);
    in_process(&mut out, f, args);
    http(&mut out, f, args);
    scale(&mut out, f);
    noisy(&mut out, f);
    hosts(&mut out, f, args);
    out
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "**not met**" }
}

/// Whether a run used the suite's default settings.
fn is_default(args: &SuiteArgs) -> bool {
    (
        args.seconds,
        args.connections,
        args.rounds,
        args.iterations,
        args.apps,
    ) == (10, 32, 5, 20_000, SCALE_TARGET_APPS)
}

fn summary(out: &mut String, f: &Figures) {
    let a = f.concurrency(CITYHOST).rps;
    let best = f.concurrency(WASMTIME_BEST).rps;
    let same_settings = f.concurrency(WASMTIME_HOST_SETTINGS).rps;
    let native = f.concurrency(NATIVE).rps;
    let handler = &f.in_process[0].1;
    let noisy = f.noisy_ratio();
    let _ = writeln!(
        out,
        "## Targets\n\n| figure | target | this run | |\n| --- | --- | --- | --- |"
    );
    let rows = [
        (
            "instantiate + trivial call, median (SDK handler, pooling)".to_string(),
            format!("≤ {IN_PROCESS_TARGET_US} µs"),
            format!("{:.1} µs (n = {})", handler.p50_us, handler.n),
            handler.p50_us <= IN_PROCESS_TARGET_US,
        ),
        (
            "a/b: CityHost ÷ `wasmtime serve` with pooling and keep-resident, requests/s".into(),
            format!("≥ {VS_WASMTIME_TARGET}"),
            format!("{:.2}", a / best),
            a / best >= VS_WASMTIME_TARGET,
        ),
        (
            "a/b′: CityHost ÷ `wasmtime serve` with the host's settings (adds pagemap-scan), requests/s"
                .into(),
            format!("≥ {VS_WASMTIME_TARGET}"),
            format!("{:.2}", a / same_settings),
            a / same_settings >= VS_WASMTIME_TARGET,
        ),
        (
            "a/c: CityHost ÷ native handler, requests/s".into(),
            format!("≥ {VS_NATIVE_TARGET}"),
            format!("{:.2}", a / native),
            a / native >= VS_NATIVE_TARGET,
        ),
        (
            "p99 beside a spinning app ÷ quiet p99 (medians of the rounds)".into(),
            format!("≤ {NOISY_TARGET}×"),
            format!("{noisy:.2}×"),
            noisy <= NOISY_TARGET,
        ),
    ];
    for (figure, target, value, ok) in rows {
        let _ = writeln!(out, "| {figure} | {target} | {value} | {} |", met(ok));
    }
    for scale in &f.scale {
        // The scale targets are for 12,000 apps.
        let status = |ok| {
            if scale.apps >= SCALE_TARGET_APPS {
                met(ok)
            } else {
                "not measured at 12,000 apps"
            }
        };
        let (apps, store) = (scale.apps, scale.store);
        let boot = scale.warm_boot.as_secs_f64();
        let rss = scale.rss_after.max(scale.rss);
        let first = scale.first_request.p99_us / 1_000.0;
        let _ = writeln!(
            out,
            "| boot with {apps} apps, {store} (warm data dir) | ≤ {BOOT_TARGET_S} s | {boot:.2} s | {} |\n\
             | resident memory with {apps} apps, {store} | ≤ 1 GiB | {} | {} |\n\
             | first request to an app untouched since boot, p99, {store} | < {FIRST_REQUEST_TARGET_MS} ms | {first:.2} ms | {} |",
            status(boot <= BOOT_TARGET_S),
            mib(rss),
            status(rss <= MEMORY_TARGET),
            status(first < FIRST_REQUEST_TARGET_MS),
        );
    }
    if !f.scale.iter().any(|s| s.store == POSTGRES) {
        let _ = writeln!(
            out,
            "| scale, {POSTGRES} | | not measured (no `--postgres`) | |"
        );
    }
    out.push('\n');
}

fn in_process(out: &mut String, f: &Figures, args: &SuiteArgs) {
    let _ = writeln!(
        out,
        "## 1. In process: a fresh store and instance, one trivial call\n\n\
         `Runtime::invoke` on the app's pre-instantiated component: the request's \
         state (WASI context that grants nothing, limits), a new `Store`, \
         instantiation, `GET /` answered `200 ok`, the store dropped. \
         {} calls each after {} warm-up calls. CPU is the host process's CPU time \
         (all threads) over the calls ÷ n: it stays put when other processes share \
         the cores, where the percentiles grow.\n\n\
         | export, allocator | n | p50 | p99 | p99.9 | CPU per call |\n| --- | --- | --- | --- | --- | --- |",
        args.iterations,
        args.iterations / 10
    );
    for (label, s) in &f.in_process {
        let _ = writeln!(
            out,
            "| {label} | {} | {:.1} µs | {:.1} µs | {:.1} µs | {} |",
            s.n,
            s.p50_us,
            s.p99_us,
            s.p999_us,
            s.cpu_us.map_or("—".into(), |c| format!("{c:.1} µs"))
        );
    }
    let _ = writeln!(
        out,
        "\n## 2. One capability call, from a loop inside a guest\n\n\
         `bench-loop` makes N calls in one request; the figure is (median request with \
         N calls − median request with none) ÷ N, through the whole capability layer \
         (permission check, the service, one audit record per call).\n\n\
         | capability | calls per request | requests | per call |\n| --- | --- | --- | --- |"
    );
    for c in &f.capabilities {
        let name = match c.op.as_str() {
            "storage-get" => "`storage.get` (missing key)",
            _ => "`identity.openid`",
        };
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {:.2} µs |",
            c.calls_per_request, c.requests, c.per_call_us
        );
    }
    out.push('\n');
}

fn http(out: &mut String, f: &Figures, args: &SuiteArgs) {
    let _ = writeln!(
        out,
        "## 3. End to end over HTTP on loopback\n\n\
         The same component file, `examples/hello-http` (a `wasi:http/proxy` component \
         written with wstd), served by (a) CityHost — session cookie checked, routing, a \
         fresh instance, one audit record per request — and (b) `wasmtime serve` with \
         its defaults, with `-O pooling-allocator=y -O \
         pooling-memory-keep-resident={} -O pooling-table-keep-resident={}`, and (b′) \
         with `-O pooling-pagemap-scan=y` as well, which makes it run with every \
         runtime setting the host uses; (c) is a native axum handler in the host \
         process doing the same work without WebAssembly (session, openid, audit, \
         answer). Load: `oha`, {} s per run, sharing the cores with the server. CPU \
         is the server process's CPU time over the run ÷ requests (all threads, \
         10 ms ticks).\n",
        cityhost::runtime::MEMORY_KEEP_RESIDENT,
        cityhost::runtime::TABLE_KEEP_RESIDENT,
        args.seconds
    );
    let _ = writeln!(
        out,
        "### Fixed concurrency ({} connections)\n\n\
         {} rounds; each round runs every target once, in turn. Shown: each target's \
         median round, and every round's requests/s.\n\n\
         | target | requests | requests/s | p50 | p99 | p99.9 | errors | CPU per request | rounds, requests/s |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        args.connections, args.rounds,
    );
    for r in &f.concurrency {
        let rounds: Vec<String> = r.rounds.iter().map(|rps| format!("{rps:.0}")).collect();
        let _ = writeln!(out, "{} {} |", row_cells(&r.median), rounds.join(", "));
    }
    let _ = writeln!(
        out,
        "\n### Fixed rate (half the slowest target's throughput, latency-corrected)\n\n\
         | target | requests | requests/s | p50 | p99 | p99.9 | errors | CPU per request |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for r in &f.rate {
        row(out, r);
    }
    let a = f.concurrency(CITYHOST).rps;
    let _ = writeln!(
        out,
        "\nRatios (fixed concurrency, median rounds, requests/s): a/b = {:.2} against \
         pooling with keep-resident ({:.2} against the defaults), a/b′ = {:.2} against the \
         host's own settings, a/c = {:.2}.\n",
        a / f.concurrency(WASMTIME_BEST).rps,
        a / f.concurrency(WASMTIME_DEFAULT).rps,
        a / f.concurrency(WASMTIME_HOST_SETTINGS).rps,
        a / f.concurrency(NATIVE).rps
    );
}

fn row(out: &mut String, r: &LoadResult) {
    let _ = writeln!(out, "{}", row_cells(r));
}

/// `| target | requests | requests/s | p50 | p99 | p99.9 | errors | CPU |`.
fn row_cells(r: &LoadResult) -> String {
    let rate = match r.load {
        Load::Rate { per_second, .. } => format!(" @ {per_second}/s"),
        Load::Concurrency { .. } => String::new(),
    };
    format!(
        "| {}{rate} | {} | {:.0} | {:.2} ms | {:.2} ms | {:.2} ms | {} | {} |",
        r.target,
        r.requests,
        r.rps,
        r.p50_ms,
        r.p99_ms,
        r.p999_ms,
        r.errors,
        r.cpu_us.map_or("—".into(), |c| format!("{c:.0} µs"))
    )
}

fn scale(out: &mut String, f: &Figures) {
    let Some(first) = f.scale.first() else {
        return;
    };
    let _ = writeln!(
        out,
        "## 4. Scale: {apps} apps\n\n\
         {apps} copies of `hello-http` under different ids (`cityhost serve --apps` over \
         generated app folders), on the data directory's embedded store and, when the run \
         has a PostgreSQL database (`bench/run.sh` starts a throwaway cluster on this \
         machine), with `--store postgres://…`. Boot is spawn to `/healthz` answering with \
         every app loaded; an empty store publishes each app (signed, reviewed, \
         released), a warm one restores the releases and checks each folder against \
         its published version.\n",
        apps = first.apps,
    );
    let header: String = f.scale.iter().map(|s| format!(" {} |", s.store)).collect();
    let rule = " --- |".repeat(f.scale.len());
    let _ = writeln!(out, "| figure |{header}\n| --- |{rule}");
    let row = |out: &mut String, label: &str, cell: &dyn Fn(&Scale) -> String| {
        let cells: String = f.scale.iter().map(|s| format!(" {} |", cell(s))).collect();
        let _ = writeln!(out, "| {label} |{cells}");
    };
    row(
        out,
        "boot, empty store (components compiled, apps published)",
        &|s| format!("{:.2} s", s.cold_boot.as_secs_f64()),
    );
    row(out, "boot, same store again", &|s| {
        format!("{:.2} s", s.warm_boot.as_secs_f64())
    });
    row(out, "resident memory after boot", &|s| mib(s.rss));
    row(out, "resident memory after the first requests", &|s| {
        mib(s.rss_after)
    });
    row(out, "peak resident memory", &|s| mib(s.peak));
    row(
        out,
        "first request to an app untouched since boot, p50",
        &|s| {
            format!(
                "{:.2} ms (n = {})",
                s.first_request.p50_us / 1_000.0,
                s.first_request.n
            )
        },
    );
    row(
        out,
        "first request to an app untouched since boot, p99",
        &|s| format!("{:.2} ms", s.first_request.p99_us / 1_000.0),
    );
    out.push('\n');
}

fn noisy(out: &mut String, f: &Figures) {
    let _ = writeln!(
        out,
        "## 5. Noisy neighbour\n\n\
         CityHost serving `hello-http` at a fixed rate, alone and then while 4 \
         connections keep `bench-loop /spin` busy (each such request spins until its \
         1 s deadline and is answered 504), in {} rounds.\n\n\
         | run | requests | requests/s | p50 | p99 | p99.9 | errors | CPU per request |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- |",
        f.quiet.len()
    );
    for (i, (quiet, noisy)) in f.quiet.iter().zip(&f.noisy).enumerate() {
        let mut quiet = quiet.clone();
        quiet.target = format!("{}, round {}, alone", quiet.target, i + 1);
        row(out, &quiet);
        let mut noisy = noisy.clone();
        noisy.target = format!("{}, round {}, beside the spinner", noisy.target, i + 1);
        row(out, &noisy);
    }
    row(out, &f.spinner);
    let _ = writeln!(
        out,
        "\nMedian p99 beside the spinner ÷ median quiet p99 = {:.2} / {:.2} ms = {:.2}. \
         (The spinner's \"errors\" are its expected 504 answers; its row is the last \
         round's.)",
        crate::suite::median_p99(&f.noisy),
        crate::suite::median_p99(&f.quiet),
        f.noisy_ratio()
    );
}

fn hosts(out: &mut String, f: &Figures, args: &SuiteArgs) {
    if f.hosts.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n## 6. Several hosts on one PostgreSQL database\n\n\
         {connections} connections in all, split evenly among the hosts (as a load \
         balancer would), one run of {seconds} s each. *read*: CityHost's signed-in \
         `hello-http` page (the session cache answers without the store); *write*: \
         `bench-loop /write`, one storage write per request (one of 100 keys, each \
         replacing a value of its size: a transaction that reads the app's storage \
         usage and leaves it unchanged). For \
         two hosts, requests and CPU are summed and latency is the worse host's; \
         both hosts share these {cores} cores with PostgreSQL and the load generator, \
         so the figure shows what a second host costs, not what a second machine adds.\n\n\
         | setup | request | requests | requests/s | p50 | p99 | p99.9 | errors | host CPU per request |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        connections = args.connections,
        seconds = args.seconds,
        cores = std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    for run in &f.hosts {
        let mut result = run.result.clone();
        result.target = format!("{} | {}", run.setup, run.request);
        row(out, &result);
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1 << 20) as f64)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_replaces_only_the_suite_part() {
        let first = splice(None, "run 1\n");
        assert!(first.starts_with("# Benchmarks\n\n<!-- BEGIN"));
        let with_more = format!("{first}\n## Durable payments\n\nkept\n");
        let second = splice(Some(&with_more), "run 2\n");
        assert!(second.contains("run 2") && !second.contains("run 1"));
        assert!(second.ends_with("## Durable payments\n\nkept\n"));
        // A file without markers keeps its sections after the report.
        let old = "# Benchmarks\n\n## Durable payments\n\nkept\n";
        let third = splice(Some(old), "run 3\n");
        assert!(third.contains("run 3") && third.contains("## Durable payments\n\nkept"));
    }
}
