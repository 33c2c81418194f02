//! The `cityhost` command: run the host, build the bundled mini-apps, run
//! the demo, read the audit log. See `cityhost --help`.

fn main() -> std::process::ExitCode {
    cityhost::cli::main()
}
