//! The host on PostgreSQL (`--store`), where it differs from the embedded
//! store: moving a deployment there (`cityhost migrate-store`) and shutting
//! down while writes are in flight. (The whole suite also runs on
//! PostgreSQL with `CITYHOST_TEST_STORE=postgres`.)

use std::process::Command;
use std::time::Duration;

use cityhost::audit::AuditRecord;
use cityhost::payments::Account;
use cityhost::platform::{HostConfig, Platform, StoreConfig};
use cityhost::services::Services;
use cityhost_store_postgres::testing::fresh_database;

const PHONE: &str = "13900000031";

/// Registers the citizen of [`PHONE`] and puts 12,345 fen on their card;
/// returns their id and an id taken afterwards.
async fn citizen_with_money(s: &Services) -> (String, u64) {
    let citizen = s
        .accounts
        .register(PHONE, "a good password")
        .await
        .unwrap()
        .id;
    s.payments.ledger.top_up(&citizen, 12_345).await.unwrap();
    (citizen, s.db.next_id().await.unwrap())
}

/// What a host on a moved or restored store must find of
/// [`citizen_with_money`]'s records: the citizen by phone (an index sealed
/// with the deployment's keys), the money, and new ids above `last_id`.
async fn assert_same_records(s: &Services, citizen: &str, last_id: u64) {
    let found = s.accounts.by_phone(PHONE).await.unwrap().unwrap();
    assert_eq!(found.id, citizen);
    let account = Account::Citizen(citizen.to_string());
    assert_eq!(s.payments.ledger.balance(&account).await.unwrap(), 12_345);
    assert!(s.db.next_id().await.unwrap() > last_id);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_embedded_deployment_moves_to_postgres_whole() {
    let data = tempfile::tempdir().unwrap();
    let (citizen, balance, last_id) = {
        let platform = Platform::open(&HostConfig::new(data.path())).await.unwrap();
        let s = &platform.services;
        let (citizen, last_id) = citizen_with_money(s).await;
        let account = Account::Citizen(citizen.clone());
        let balance = s.payments.ledger.balance(&account).await.unwrap();
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
    assert_same_records(&platform.services, &citizen, last_id).await;
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

/// PostgreSQL's client program `name` (`pg_dump`, `pg_restore`, `psql`):
/// on `PATH`, else Debian's newest, as `scripts/postgres.sh` finds the
/// server's.
fn pg_program(name: &str) -> std::path::PathBuf {
    let on_path = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string());
    if let Some(path) = on_path {
        return path.into();
    }
    let mut dirs: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    dirs.sort_by_key(|d| {
        d.file_name()
            .and_then(|n| n.to_str()?.parse::<u32>().ok())
            .unwrap_or(0)
    });
    let program = dirs.last().map(|d| d.join("bin").join(name));
    program
        .filter(|p| p.exists())
        .unwrap_or_else(|| panic!("{name} is missing: scripts/postgres.sh installs PostgreSQL"))
}

/// A logical backup as docs/deploy.md gives it: `pg_dump -Fc` of a running
/// host's database, `pg_restore` into an empty database, and a host with
/// the deployment's keys started on the copy finds the citizen by phone
/// (an index sealed with those keys), the money, a balanced ledger, and
/// takes ids above every id given before the dump.
#[tokio::test(flavor = "multi_thread")]
async fn a_pg_dump_restored_into_an_empty_database_serves_the_same_records() {
    let url = fresh_database().await;
    let data = tempfile::tempdir().unwrap();
    let config = HostConfig {
        store: StoreConfig::Postgres(url.clone()),
        ..HostConfig::new(data.path())
    };
    let platform = Platform::open(&config).await.unwrap();
    let (citizen, last_id) = citizen_with_money(&platform.services).await;

    // The test database is a schema of the cluster's `postgres` database
    // (`fresh_database`): dump that schema while the host runs.
    let cluster = cityhost_store_postgres::testing::cluster_url();
    let schema = url.rsplit("search_path%3D").next().unwrap().to_string();
    let dump = data.path().join("cityhost.dump");
    let out = Command::new(pg_program("pg_dump"))
        .args(["-Fc", "--no-owner", "-n", &schema, "-f"])
        .arg(&dump)
        .arg(&cluster)
        .output()
        .unwrap();
    assert!(out.status.success(), "pg_dump: {out:?}");

    // Restored into a new, empty database.
    let restored_db = format!("restored_{schema}");
    let psql = |sql: String| {
        let out = Command::new(pg_program("psql"))
            .args(["-v", "ON_ERROR_STOP=1", "-q", "-d", &cluster, "-c", &sql])
            .output()
            .unwrap();
        assert!(out.status.success(), "psql {sql}: {out:?}");
    };
    psql(format!("CREATE DATABASE {restored_db}"));
    let (base, _) = cluster.rsplit_once('/').unwrap();
    let restored = format!("{base}/{restored_db}");
    let out = Command::new(pg_program("pg_restore"))
        .args(["--no-owner", "--exit-on-error", "-d", &restored])
        .arg(&dump)
        .output()
        .unwrap();
    assert!(out.status.success(), "pg_restore: {out:?}");

    // A host with the deployment's keys (keys/ and operator-token copied,
    // as the backup keeps them) on the copy.
    let other = tempfile::tempdir().unwrap();
    crate::support::copy_keys(data.path(), other.path());
    let config = HostConfig {
        store: StoreConfig::Postgres(format!("{restored}?options=-c%20search_path%3D{schema}")),
        ..HostConfig::new(other.path())
    };
    let copy = Platform::open(&config).await.unwrap();
    let c = &copy.services;
    assert_same_records(c, &citizen, last_id).await;
    let verification = c.payments.ledger.verify().await.unwrap();
    assert!(
        verification.problems.is_empty(),
        "{:?}",
        verification.problems
    );
    drop(copy);
    drop(platform);
    psql(format!("DROP DATABASE {restored_db} WITH (FORCE)"));
}
