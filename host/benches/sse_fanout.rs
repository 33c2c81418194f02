//! Load benchmark of the live inbox: many open `/api/inbox/stream`
//! connections, then one message to each citizen; prints the delivery
//! latency (from the send call to the event arriving at the client socket)
//! at p50, p99 and max.
//!
//! Run with (not part of the test command; raise the open-file limit first,
//! each connection costs two descriptors in this one process):
//!
//! ```sh
//! ulimit -n 20000
//! cargo bench -p cityhost --bench sse_fanout -- --citizens 1000 --per-citizen 5
//! ```
//!
//! The host runs in this process on a real port (real HTTP/1.1, real store
//! in a temporary directory); the clients are plain TCP connections reading
//! the event stream. Citizens and their sessions are created through the
//! services (argon2 per citizen, done in parallel before the clock starts).

use std::time::{Duration, Instant};

use cityhost::manifest::Manifest;
use cityhost::manifest::notify::TemplateKind;
use cityhost::notifications::rate::RateCaps;
use cityhost::notifications::{Basis, Outgoing};
use cityhost::platform::{HostConfig, Platform};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

const MANIFEST: &str = r#"
id = "bench-app"
name = "压测"
version = "1.0.0"
category = "utilities"
permissions = ["notify"]
[department]
name = "压测部门"
division = "3301"
[[notify.templates]]
id = "ping"
title = "压测消息"
kind = "long-term"
body = "第 {{n}} 条"
params.n = { type = "number", max-len = 8 }
"#;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Opens a stream and waits for its `ready` event; then reports the
/// instant its `message` event arrives.
async fn client(
    addr: std::net::SocketAddr,
    token: String,
    citizen: usize,
    ready: mpsc::Sender<()>,
    arrived: mpsc::UnboundedSender<(usize, Instant)>,
) -> std::io::Result<()> {
    let mut socket = TcpStream::connect(addr).await?;
    socket.set_nodelay(true)?;
    let request = format!(
        "GET /api/inbox/stream HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\nCookie: cityhost_session={token}\r\n\r\n"
    );
    socket.write_all(request.as_bytes()).await?;
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let mut seen_ready = false;
    loop {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if !seen_ready && contains(&buf, b"event: ready") {
            seen_ready = true;
            let _ = ready.send(()).await;
        }
        if contains(&buf, b"event: message") {
            let _ = arrived.send((citizen, Instant::now()));
            return Ok(());
        }
        if buf.len() > 64 * 1024 {
            buf.drain(..buf.len() - 1024);
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let citizens = arg("--citizens", 1000);
    let per_citizen = arg("--per-citizen", 5);
    let connections = citizens * per_citizen;
    let data = tempfile::tempdir()?;
    let platform = Platform::open(&HostConfig {
        notify: RateCaps {
            per_citizen_per_day: 1_000,
            per_app_per_minute: 10_000_000,
        },
        ..HostConfig::new(data.path())
    })
    .await?;
    let manifest = Manifest::parse(MANIFEST)?;

    eprintln!("creating {citizens} citizens (argon2 each)…");
    let mut creators = Vec::new();
    let threads = 4;
    for t in 0..threads {
        let platform = platform.clone();
        // argon2 runs on the blocking pool (see `identity::password`).
        creators.push(tokio::spawn(async move {
            let s = &platform.services;
            let mut made = Vec::new();
            for i in (t..citizens).step_by(threads) {
                let phone = format!("139{:08}", i);
                let c = s.accounts.register(&phone, "bench password").await.unwrap();
                s.notifications
                    .subscriptions
                    .accept(&c.id, "bench-app", "ping", TemplateKind::LongTerm)
                    .await
                    .unwrap();
                let token = s.sessions.issue(&c.id).await.unwrap().token;
                made.push((i, c.id, token));
            }
            made
        }));
    }
    let mut people = Vec::new();
    for c in creators {
        people.extend(c.await?);
    }
    people.sort_by_key(|p| p.0);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(cityhost::http::serve_until(
        listener,
        platform.clone(),
        async {
            let _ = stopped.await;
        },
    ));

    eprintln!("opening {connections} streams…");
    let (ready_tx, mut ready_rx) = mpsc::channel(connections);
    let (arrived_tx, mut arrived_rx) = mpsc::unbounded_channel();
    let opening = Instant::now();
    for (i, _, token) in &people {
        for _ in 0..per_citizen {
            let (token, ready, arrived) = (token.clone(), ready_tx.clone(), arrived_tx.clone());
            let i = *i;
            tokio::spawn(async move {
                if let Err(e) = client(addr, token, i, ready, arrived).await {
                    eprintln!("client {i}: {e}");
                }
            });
        }
    }
    drop(ready_tx);
    for _ in 0..connections {
        ready_rx
            .recv()
            .await
            .ok_or_else(|| anyhow::anyhow!("a stream failed to open (ulimit -n?)"))?;
    }
    let opened_in = opening.elapsed();
    eprintln!(
        "{connections} streams open in {opened_in:?}; {} citizens listening",
        platform.services.notifications.live().citizens_listening()
    );

    // One message to each citizen, as fast as the host stores them.
    let mut sent_at = vec![Instant::now(); citizens];
    let sending = Instant::now();
    let notifications = &platform.services.notifications;
    for (i, citizen_id, _) in &people {
        let params = vec![("n".to_string(), i.to_string())];
        sent_at[*i] = Instant::now();
        notifications
            .send(Outgoing {
                app: &manifest,
                citizen_id,
                template: "ping",
                params: &params,
                link_path: None,
                basis: Basis::Subscription,
            })
            .await
            .map_err(|e| anyhow::anyhow!("send: {e}"))?;
        if i % 64 == 0 {
            tokio::task::yield_now().await;
        }
    }
    let sent_in = sending.elapsed();
    let mut latencies = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (i, at) = tokio::time::timeout(Duration::from_secs(60), arrived_rx.recv())
            .await?
            .ok_or_else(|| anyhow::anyhow!("a stream ended early"))?;
        latencies.push(at - sent_at[i]);
    }
    let all_in = sending.elapsed();
    latencies.sort();
    println!("connections open:      {connections} ({citizens} citizens x {per_citizen})");
    println!("opened in:             {opened_in:.2?}");
    println!(
        "messages sent:         {citizens} in {sent_in:.2?} ({:.0}/s)",
        citizens as f64 / sent_in.as_secs_f64()
    );
    println!("all delivered in:      {all_in:.2?}");
    println!(
        "latency p50:           {:.2?}",
        percentile(&latencies, 0.50)
    );
    println!(
        "latency p99:           {:.2?}",
        percentile(&latencies, 0.99)
    );
    println!(
        "latency max:           {:.2?}",
        latencies[latencies.len() - 1]
    );
    let _ = stop.send(());
    server.await??;
    Ok(())
}
