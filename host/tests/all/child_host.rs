//! A host run as a child process (`cityhost serve` or `cityhost demo`), as
//! an operator runs it, with debug logging and its whole output kept: for
//! the tests that search the host's output or check its log lines.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::support::{Reaped, components};

/// What the host prints once it listens: `… mini-app(s) at http://ADDR`.
const LISTENING: &str = "mini-app(s) at http://";

/// A running host process; killed if the test ends without [`stop`].
///
/// [`stop`]: ChildHost::stop
pub struct ChildHost {
    /// `http://127.0.0.1:{port}`.
    pub base: String,
    child: Reaped,
    output: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

impl ChildHost {
    /// Runs `cityhost {command} --data {data_dir} --bind 127.0.0.1:0
    /// --components {the test components} {args…}` with `RUST_LOG=debug`
    /// and waits for its address.
    pub async fn start(command: &str, data_dir: &Path, args: &[&str]) -> ChildHost {
        let components = tokio::task::spawn_blocking(components).await.unwrap();
        let mut cityhost = Command::new(env!("CARGO_BIN_EXE_cityhost"));
        cityhost
            .arg(command)
            .arg("--data")
            .arg(data_dir)
            .args(["--bind", "127.0.0.1:0", "--components"])
            .arg(components)
            .args(args)
            .env("RUST_LOG", "debug");
        Self::spawn(cityhost, LISTENING).await
    }

    /// Runs `command` (a `cityhost` command line), keeping what it prints,
    /// and waits for its address: the first word after `listening`
    /// (`…http://`) in its output.
    pub async fn spawn(mut command: Command, listening: &'static str) -> ChildHost {
        let mut child = Reaped(
            command
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let output = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let streams = [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ];
        let readers = streams
            .into_iter()
            .map(|mut stream| {
                let (sink, tx) = (output.clone(), tx.clone());
                std::thread::spawn(move || {
                    let mut buf = [0u8; 8192];
                    let mut found = false;
                    while let Ok(n) = stream.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        let mut sink = sink.lock().unwrap();
                        sink.extend_from_slice(&buf[..n]);
                        if found {
                            continue;
                        }
                        let text = String::from_utf8_lossy(&sink);
                        if let Some(at) = text.split(listening).nth(1)
                            && let Some(address) = at.split_whitespace().next()
                            && at.contains('\n')
                        {
                            found = true;
                            let _ = tx.send(format!("http://{address}"));
                        }
                    }
                })
            })
            .collect();
        let base = tokio::task::spawn_blocking(move || {
            // A fresh data directory: every component is compiled before
            // the host listens, minutes on 2 cores busy with other tests.
            rx.recv_timeout(Duration::from_secs(300))
        })
        .await
        .unwrap()
        .expect("the host prints its address");
        ChildHost {
            base,
            child,
            output,
            readers,
        }
    }

    /// Stops the host gracefully (SIGTERM, so the store is flushed),
    /// asserts it exits 0, and returns everything it printed.
    pub fn stop(mut self) -> Vec<u8> {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "{exit:?}");
        for reader in std::mem::take(&mut self.readers) {
            reader.join().unwrap();
        }
        self.output.lock().unwrap().clone()
    }
}
