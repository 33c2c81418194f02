//! Criterion: a fresh store and instance from the app's pre-instantiated
//! component plus one trivial call (`GET /`), for the platform's own
//! `handler` export (`bench/guests/bench-loop`) and a standard `wasi:http`
//! component (`examples/hello-http`), with the pooling allocator and
//! without. Needs the guests built first:
//!
//! ```sh
//! cargo run --release -p cityhost -- build-apps --apps examples/hello-http --apps bench/guests
//! cargo bench -p cityhost-bench --bench in_process
//! ```
//!
//! `bench/run.sh` reports the same measurement as percentiles in
//! docs/benchmarks.md.

use std::path::{Path, PathBuf};

use cityhost_bench::in_process::Fixture;
use criterion::{Criterion, criterion_group, criterion_main};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Where `cityhost build-apps` put the components (`$CARGO_TARGET_DIR` or
/// the workspace's `target/`).
fn components() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace().join("target"), PathBuf::from)
        .join("guest/wasm32-wasip2/guest")
}

fn instantiate_and_call(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let root = workspace();
    let apps = [
        root.join("examples/hello-http"),
        root.join("bench/guests/bench-loop"),
    ];
    let apps: Vec<&Path> = apps.iter().map(PathBuf::as_path).collect();
    let mut group = c.benchmark_group("instantiate + trivial call");
    for pooling in [true, false] {
        let fixture = runtime
            .block_on(Fixture::open(pooling, &apps, &components()))
            .expect("run cityhost build-apps first (see the file's docs)");
        let allocator = if pooling { "pooling" } else { "on-demand" };
        for (app, export) in [("bench-loop", "SDK handler"), ("hello-http", "wasi:http")] {
            let app = fixture.app(app).expect("app loaded");
            group.bench_function(format!("{export}, {allocator}"), |b| {
                b.to_async(&runtime).iter(|| async {
                    let (_, status) = fixture.once(&app, "/", &[]).await;
                    assert_eq!(status, 200);
                });
            });
        }
    }
    group.finish();
}

criterion_group!(benches, instantiate_and_call);
criterion_main!(benches);
