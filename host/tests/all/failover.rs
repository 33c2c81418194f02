//! PostgreSQL failover under running hosts, as docs/deploy.md describes
//! it: a primary with a synchronous streaming replica
//! (`scripts/postgres.sh standby`), two hosts whose URL lists both servers
//! with `target_session_attrs=read-write`, citizens paying through one of
//! them. The primary is killed (`pg_ctl stop -m immediate`, as a crash
//! would); while no server takes writes the hosts answer `503
//! unavailable` at once; the replica is promoted and the same hosts, not
//! restarted, pay again on it — with every payment and refund a client saw
//! succeed there, the ledger balanced, and the signals between the hosts
//! flowing again (a logout on one reaches the other's session cache).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::crash::{CLIENTS, check, drive, more_paid_than, paid, payers, stop};
use crate::several_hosts::{session_cookie, session_live, within};
use crate::support::{TestHost, workspace};

/// A throwaway PostgreSQL cluster of `scripts/postgres.sh`, stopped (at
/// once) and deleted when dropped.
struct Cluster {
    /// `127.0.0.1:PORT`.
    address: String,
    dir: PathBuf,
}

/// Runs `scripts/postgres.sh` with `args`; returns what it prints.
fn postgres_sh(args: &[&str]) -> String {
    let out = Command::new(workspace().join("scripts/postgres.sh"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "scripts/postgres.sh {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

impl Cluster {
    /// A cluster from the `export` lines `start` and `standby` print.
    fn from_exports(exports: &str) -> Cluster {
        let value = |name: &str| {
            exports
                .lines()
                .find_map(|l| l.strip_prefix(&format!("export {name}=")))
                .unwrap_or_else(|| panic!("{name} in {exports}"))
                .to_string()
        };
        let url = value("CITYHOST_TEST_POSTGRES");
        let address = url
            .strip_prefix("postgres://cityhost@")
            .and_then(|rest| rest.split_once('/'))
            .unwrap_or_else(|| panic!("an address in {url}"))
            .0
            .to_string();
        Cluster {
            address,
            dir: value("CITYHOST_TEST_POSTGRES_DIR").into(),
        }
    }

    fn start() -> Cluster {
        Self::from_exports(&postgres_sh(&["start"]))
    }

    /// A synchronous streaming replica of this cluster.
    fn standby(&self) -> Cluster {
        Self::from_exports(&postgres_sh(&["standby", path(&self.dir)]))
    }

    fn promote(&self) {
        postgres_sh(&["promote", path(&self.dir)]);
    }
}

fn path(dir: &Path) -> &str {
    dir.to_str().unwrap()
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(workspace().join("scripts/postgres.sh"))
            .args(["stop", path(&self.dir)])
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hosts_carry_on_paying_on_the_replica_promoted_when_the_primary_is_lost() {
    let primary = Cluster::start();
    let standby = primary.standby();
    let url = format!(
        "postgres://cityhost@{},{}/postgres?target_session_attrs=read-write",
        primary.address, standby.address
    );
    let a = TestHost::start_sharing(&url, None).await;
    let b = TestHost::start_sharing(&url, Some(&a)).await;
    let token = a.platform.operator_token.clone();
    let base = a.base.clone();
    let citizens = payers(&base, &token, "1390000050", CLIENTS).await;

    // Citizens pay and refund through A; the primary dies mid-stream.
    let drivers = |round| -> Vec<_> {
        (citizens.iter().enumerate())
            .map(|(i, payer)| {
                let name = format!("c{i}");
                tokio::spawn(drive(payer.clone(), base.clone(), name, round, stop()))
            })
            .collect()
    };
    let tasks = drivers(0);
    more_paid_than(&citizens, 20).await;
    drop(primary);
    for task in tasks {
        task.await.unwrap(); // each ends at its first failed request
    }
    let before = paid(&citizens);

    // No server takes writes: a read answers 503 `unavailable` at once
    // (the replica refuses the session: it is read-only), never a hang.
    let (http, _, seen) = &citizens[0];
    let order = seen.lock().unwrap().keys().next().cloned().unwrap();
    let asked = Instant::now();
    let r = http
        .get(format!("{base}/api/orders/{order}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    assert!(body["error"]["error_id"].is_string(), "{body}");
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );

    // Promoted, the replica takes the payments of the same host.
    standby.promote();
    let promoted = Instant::now();
    let tasks = drivers(1);
    more_paid_than(&citizens, before).await;
    let back = promoted.elapsed();
    more_paid_than(&citizens, before + 20).await;
    for task in tasks {
        task.abort();
    }
    // Every payment and refund acknowledged before the loss is on the
    // replica (it confirmed each commit), and the ledger balances.
    check(&base, &token, &citizens).await;

    // The hosts' signals run over the new primary: a session B holds in
    // its cache ends there within a second of a logout on A.
    let citizen = a.client();
    let r = citizen.register("13900000059", "a good password").await;
    assert_eq!(r.status(), 201);
    let session = session_cookie(&r).expect("a session cookie");
    assert!(session_live(&b, &session).await);
    let r = citizen.post_json("/api/logout", &json!({})).await;
    assert_eq!(r.status(), 204);
    let logout = within(Duration::from_secs(1), "the logout reaching B", || async {
        !session_live(&b, &session).await
    })
    .await;
    eprintln!(
        "failover: {before} payments before the primary was lost, paying again {back:?} after \
         the promotion, {} in all; a logout reached the other host in {logout:?}",
        paid(&citizens)
    );
}
