//! The `cityhost` command: run the host, build the bundled mini-apps, run
//! the demo, read the audit log. See `cityhost --help`.

/// mimalloc rather than the system allocator: a request allocates and frees
/// many small objects (the store, the instance's host state, the HTTP
/// request and response), and glibc malloc was about a tenth of the host's
/// CPU time under load (docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cityhost::cli::main()
}
