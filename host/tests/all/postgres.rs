//! The host on PostgreSQL (`--store`), where it differs from the embedded
//! store: moving a deployment there (`cityhost migrate-store`) and shutting
//! down while writes are in flight. (The whole suite also runs on
//! PostgreSQL with `CITYHOST_TEST_STORE=postgres`.)

use std::process::Command;
use std::time::Duration;

use cityhost::audit::AuditRecord;
use cityhost::payments::Account;
use cityhost::platform::{HostConfig, Platform, StoreConfig};
use cityhost_store_postgres::testing::fresh_database;

const PHONE: &str = "13900000031";

#[tokio::test(flavor = "multi_thread")]
async fn an_embedded_deployment_moves_to_postgres_whole() {
    let data = tempfile::tempdir().unwrap();
    let (citizen, balance, last_id) = {
        let platform = Platform::open(&HostConfig::new(data.path())).await.unwrap();
        let s = &platform.services;
        let citizen = s
            .accounts
            .register(PHONE, "a good password")
            .await
            .unwrap()
            .id;
        s.payments.ledger.top_up(&citizen, 12_345).await.unwrap();
        let account = Account::Citizen(citizen.clone());
        let balance = s.payments.ledger.balance(&account).await.unwrap();
        let last_id = s.db.next_id().await.unwrap();
        s.db.sync().await.unwrap();
        (citizen, balance, last_id)
    };
    assert_eq!(balance, 12_345);

    let url = fresh_database().await;
    let migrate = || {
        Command::new(env!("CARGO_BIN_EXE_cityhost"))
            .args(["migrate-store", "--from"])
            .arg(data.path())
            .env("CITYHOST_STORE", &url)
            .output()
            .unwrap()
    };
    let out = migrate();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("\ncitizens: 1 records\n"), "{stdout}");
    assert!(stdout.contains("ledger balanced"), "{stdout}");

    // The host on PostgreSQL, with the same data directory (its keys), finds
    // the citizen by phone (an index sealed with those keys), the money,
    // and takes ids above every id the embedded store gave.
    let config = HostConfig {
        store: StoreConfig::Postgres(url.clone()),
        ..HostConfig::new(data.path())
    };
    let platform = Platform::open(&config).await.unwrap();
    let s = &platform.services;
    let found = s.accounts.by_phone(PHONE).await.unwrap().unwrap();
    assert_eq!(found.id, citizen);
    let account = Account::Citizen(citizen);
    assert_eq!(s.payments.ledger.balance(&account).await.unwrap(), 12_345);
    assert!(s.db.next_id().await.unwrap() > last_id);
    drop(platform);

    // Again into the same database: refused, nothing overwritten.
    let out = migrate();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("already holds CityHost tables"), "{stderr}");
}

/// A host on PostgreSQL whose runtime shuts down while its audit writer is
/// writing comes to an end. (The writer waited for the runtime's I/O while
/// the worker dropping the last log waited for the writer: the host hung.)
#[test]
fn a_host_on_postgres_shuts_down_while_audit_records_are_written() {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let data = tempfile::tempdir().unwrap();
        runtime.block_on(async {
            let config = HostConfig {
                store: StoreConfig::Postgres(fresh_database().await),
                ..HostConfig::new(data.path())
            };
            let platform = Platform::open(&config).await.unwrap();
            for i in 0..50 {
                let record = AuditRecord {
                    time: cityhost_store::now_ms(),
                    app: "probe".into(),
                    release: "1.0.0".into(),
                    openid: None,
                    capability: format!("storage.get-{i}"),
                    outcome: "ok".into(),
                    duration_us: 1,
                    detail: Vec::new(),
                    seq: 0,
                    hash: String::new(),
                };
                platform.services.audit.append(record).unwrap();
            }
            // Held by a task, as the HTTP server holds it: dropped while
            // the runtime shuts down.
            tokio::spawn(async move {
                let _platform = platform;
                std::future::pending::<()>().await
            });
        });
        drop(runtime);
        let _ = done.send(());
    });
    finished
        .recv_timeout(Duration::from_secs(60))
        .expect("the runtime shut down within a minute");
}
