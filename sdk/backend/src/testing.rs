//! A backend's binary started the way the host starts it, for the
//! backend's own tests over real HTTP.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running backend, killed when dropped.
pub struct Running {
    child: Child,
    /// `http://127.0.0.1:PORT`, from its first line.
    pub base: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    /// Starts `binary` (e.g. `env!("CARGO_BIN_EXE_hzwater-billing")`) on
    /// `127.0.0.1:0` with its data in `data`, `RUST_LOG=warn`, and reads
    /// the address from its first line. Panics if it prints anything else.
    pub fn start(binary: &str, data: &Path) -> Running {
        let (child, base) = spawn(binary, data, false);
        Running { child, base }
    }
}

/// Asserts the launch protocol's promise: `binary`, started with
/// `--exit-with-stdin`, prints its line and ends, successfully, within
/// 10 s of its standard input closing.
pub fn assert_stops_when_stdin_closes(binary: &str, data: &Path) {
    let (mut child, _) = spawn(binary, data, true);
    drop(child.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{binary} still runs 10 s after its standard input closed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn spawn(binary: &str, data: &Path, exit_with_stdin: bool) -> (Child, String) {
    let mut command = Command::new(binary);
    command.args(["--bind", "127.0.0.1:0", "--data"]).arg(data);
    if exit_with_stdin {
        command.arg("--exit-with-stdin").stdin(Stdio::piped());
    }
    let mut child = command
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {binary}: {e}"));
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    (child, base)
}
