//! The PostgreSQL backend through the seam, against the real server of the
//! throwaway cluster the test command starts: the checks every backend
//! passes (`cityhost_store::conformance`), then what is PostgreSQL's own
//! (migrations, several backends on one database, conflicts under
//! contention, a dropped transaction).

use cityhost_store::{Db, StoreError, Table};
use cityhost_store_postgres::testing::{cluster_dir, cluster_url, fresh_database};
use cityhost_store_postgres::{PgBackend, schema};

const COUNTER: Table<String, u64> = Table::new("counter");
const NOTES: Table<(String, u64), String> = Table::new("notes");

async fn fresh() -> ((), Db) {
    let url = fresh_database().await;
    ((), Db::new(PgBackend::connect(&url).await.unwrap()))
}

cityhost_store::conformance_tests!(fresh);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hosts_on_one_database_see_each_others_commits_and_share_ids() {
    let url = fresh_database().await;
    let (a, b) = (
        Db::new(PgBackend::connect(&url).await.unwrap()),
        Db::new(PgBackend::connect(&url).await.unwrap()),
    );
    a.put(&COUNTER, "from-a", &1).await.unwrap();
    assert_eq!(b.get(&COUNTER, "from-a").await.unwrap(), Some(1));
    // Increments from both hosts at once: none lost.
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let db = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move {
                db.transact(|tx| async move {
                    let n = tx.get(&COUNTER, "n").await?.unwrap_or(0);
                    tx.put(&COUNTER, "n", &(n + 1)).await
                })
                .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(a.get(&COUNTER, "n").await.unwrap(), Some(40));
    let (x, y, z) = (
        a.next_id().await.unwrap(),
        b.next_id().await.unwrap(),
        a.next_id().await.unwrap(),
    );
    assert!(x < y && y < z, "{x} {y} {z}");
}

/// Transactions of one backend run at once: one commits while another is
/// still open, so concurrent commits share PostgreSQL's WAL flushes
/// (each used to wait for the one before it to end).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_of_one_host_run_at_once() {
    let (_guard, db) = fresh().await;
    let opened = std::sync::Arc::new(tokio::sync::Notify::new());
    let go_on = std::sync::Arc::new(tokio::sync::Notify::new());
    let open = tokio::spawn({
        let (db, opened, go_on) = (db.clone(), opened.clone(), go_on.clone());
        async move {
            db.transact(|tx| {
                let (opened, go_on) = (opened.clone(), go_on.clone());
                async move {
                    tx.put(&COUNTER, "first", &1).await?;
                    opened.notify_one();
                    go_on.notified().await;
                    Ok::<_, StoreError>(())
                }
            })
            .await
        }
    });
    opened.notified().await;
    let beside = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        db.put(&COUNTER, "second", &2),
    )
    .await;
    assert!(
        matches!(beside, Ok(Ok(()))),
        "a transaction waited for another to end: {beside:?}"
    );
    assert_eq!(db.get(&COUNTER, "first").await.unwrap(), None);
    go_on.notify_one();
    open.await.unwrap().unwrap();
    assert_eq!(db.get(&COUNTER, "first").await.unwrap(), Some(1));
    assert_eq!(db.get(&COUNTER, "second").await.unwrap(), Some(2));
}

/// A crowd of read-modify-write transactions on one record from three
/// hosts at once all commit: each host's retries run alone, so at most
/// one retry per host meets the others'.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crowd_on_one_record_from_three_hosts_all_commits() {
    let url = fresh_database().await;
    let mut hosts = Vec::new();
    for _ in 0..3 {
        hosts.push(Db::new(PgBackend::connect(&url).await.unwrap()));
    }
    let tasks: Vec<_> = (0..600)
        .map(|i| {
            let db = hosts[i % 3].clone();
            tokio::spawn(async move {
                db.transact(|tx| async move {
                    let n = tx.get(&COUNTER, "hot").await?.unwrap_or(0);
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                    tx.put(&COUNTER, "hot", &(n + 1)).await
                })
                .await
            })
        })
        .collect();
    let mut failed = 0;
    for task in tasks {
        if task.await.unwrap().is_err() {
            failed += 1;
        }
    }
    let n = hosts[0].get(&COUNTER, "hot").await.unwrap();
    assert_eq!((failed, n), (0, Some(600)));
}

#[tokio::test]
async fn migrations_run_once_and_a_newer_schema_is_refused() {
    let url = fresh_database().await;
    let first = PgBackend::connect(&url).await.unwrap();
    let db = Db::new(first.clone());
    db.put(&NOTES, ("c", 1u64), &"kept".to_string())
        .await
        .unwrap();
    // A second connect (a restart, another host) applies nothing again and
    // keeps the records.
    let again = Db::new(PgBackend::connect(&url).await.unwrap());
    assert_eq!(
        again.get(&NOTES, ("c", 1u64)).await.unwrap().as_deref(),
        Some("kept")
    );
    assert_eq!(first.table_names().await.unwrap(), ["notes"]);
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let versions: Vec<i32> = client
        .query("SELECT version FROM cityhost_schema ORDER BY version", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(
        versions,
        (1..=schema::current_version()).collect::<Vec<_>>()
    );
    client
        .execute(
            "INSERT INTO cityhost_schema (version) VALUES ($1)",
            &[&(schema::current_version() + 1)],
        )
        .await
        .unwrap();
    match PgBackend::connect(&url).await {
        Err(StoreError::Backend(message)) => {
            assert!(message.contains("newer CityHost"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_transaction_dropped_midway_leaves_nothing_and_frees_its_connection() {
    let url = fresh_database().await;
    // Two connections: the dropped transaction's must come back clean.
    let db = Db::new(PgBackend::connect_with(&url, 2).await.unwrap());
    db.put(&COUNTER, "warm", &0).await.unwrap();
    for _ in 0..5 {
        let stuck = db.transact(|tx| async move {
            tx.put(&COUNTER, "half", &1).await?;
            std::future::pending::<()>().await;
            Ok::<_, StoreError>(())
        });
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(200), stuck)
                .await
                .is_err()
        );
    }
    db.put(&COUNTER, "after", &2).await.unwrap();
    assert_eq!(db.get(&COUNTER, "half").await.unwrap(), None);
    assert_eq!(db.get(&COUNTER, "after").await.unwrap(), Some(2));
}

#[tokio::test]
async fn a_wrong_url_or_server_is_a_clear_error_without_the_password() {
    for url in [
        "postgres://cityhost:s3cret-pass@127.0.0.1:1/none",
        "not a url at all ::",
    ] {
        match PgBackend::connect(url).await {
            Err(StoreError::Backend(message)) => {
                assert!(!message.contains("s3cret-pass"), "{message}");
                assert!(message.contains("PostgreSQL"), "{message}");
            }
            other => panic!("{url}: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn signals_reach_the_other_hosts_of_the_store_only() {
    use cityhost_store::{Heard, Signal};
    use std::time::Duration;
    let url = fresh_database().await;
    let a = Db::new(PgBackend::connect(&url).await.unwrap());
    let b = Db::new(PgBackend::connect(&url).await.unwrap());
    // Another store (schema) of the same database.
    let elsewhere = Db::new(PgBackend::connect(&fresh_database().await).await.unwrap());
    let (mut on_a, mut on_b, mut on_elsewhere) = (a.listen(), b.listen(), elsewhere.listen());

    a.signal("session.revoked", "s-1").await.unwrap();
    let heard = tokio::time::timeout(Duration::from_secs(2), on_b.next())
        .await
        .expect("b hears a's signal");
    assert_eq!(
        heard,
        Heard::Signal(Signal {
            channel: "session.revoked".into(),
            payload: "s-1".into()
        })
    );
    // Neither the sender nor another store hears it.
    let quiet = Duration::from_millis(300);
    assert!(tokio::time::timeout(quiet, on_a.next()).await.is_err());
    assert!(
        tokio::time::timeout(quiet, on_elsewhere.next())
            .await
            .is_err()
    );

    // Payloads keep newlines; too large a signal is refused before sending.
    b.signal("inbox", "line one\nline two").await.unwrap();
    let heard = tokio::time::timeout(Duration::from_secs(2), on_a.next())
        .await
        .unwrap();
    assert!(matches!(heard, Heard::Signal(s) if s.payload == "line one\nline two"));
    let huge = "x".repeat(cityhost_store::MAX_SIGNAL_BYTES);
    assert!(matches!(
        a.signal("inbox", &huge).await,
        Err(StoreError::Encode(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_host_whose_signal_connection_drops_hears_that_it_missed_signals() {
    use cityhost_store::Heard;
    use std::time::Duration;
    let url = fresh_database().await;
    let a = Db::new(PgBackend::connect(&url).await.unwrap());
    let b = Db::new(PgBackend::connect(&url).await.unwrap());
    let mut on_b = b.listen();
    // End every listening connection of the store, as a failover would.
    let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let ended = admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE query = 'LISTEN \"cityhost.' || current_schema() || '\"'",
            &[],
        )
        .await
        .unwrap();
    assert!(!ended.is_empty(), "no listening connection found");
    let heard = tokio::time::timeout(Duration::from_secs(5), on_b.next())
        .await
        .expect("b notices the lost connection");
    assert_eq!(heard, Heard::Missed);
    // Listening again: signals arrive as before.
    a.signal("release", "hello").await.unwrap();
    let heard = tokio::time::timeout(Duration::from_secs(5), on_b.next())
        .await
        .unwrap();
    assert!(matches!(heard, Heard::Signal(s) if s.channel == "release"));
}

/// Writes `text` at `path` for the cluster's server to read: owned by the
/// owner of its data directory (the `postgres` user when the tests run as
/// root), readable by it alone (PostgreSQL refuses a key others can read).
fn write_for_server(path: &std::path::Path, text: &str) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let owner = std::fs::metadata(cluster_dir().join("data")).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::chown(path, Some(owner.uid()), Some(owner.gid())).unwrap();
}

/// A CA (its certificate in PEM, and the issuer to sign with).
fn certificate_authority(name: &str) -> (String, rcgen::Issuer<'static, rcgen::KeyPair>) {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let key = rcgen::KeyPair::generate().unwrap();
    let pem = params.self_signed(&key).unwrap().pem();
    (pem, rcgen::Issuer::new(params, key))
}

/// The cluster made to speak TLS with a certificate for `127.0.0.1` signed
/// by a fresh CA (`ssl` is reloaded, not restarted: other tests go on).
/// Returns the path of the CA's certificate.
async fn cluster_speaking_tls(client: &tokio_postgres::Client) -> std::path::PathBuf {
    let dir = cluster_dir();
    let (ca_pem, ca) = certificate_authority("CityHost test CA");
    let key = rcgen::KeyPair::generate().unwrap();
    let server = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let (cert_path, key_path, ca_path) = (
        dir.join("server.crt"),
        dir.join("server.key"),
        dir.join("ca.crt"),
    );
    write_for_server(&cert_path, &server.pem());
    write_for_server(&key_path, &key.serialize_pem());
    std::fs::write(&ca_path, ca_pem).unwrap();
    for setting in [
        format!("ssl_cert_file = '{}'", cert_path.display()),
        format!("ssl_key_file = '{}'", key_path.display()),
        "ssl = on".to_string(),
    ] {
        // One statement each: ALTER SYSTEM refuses a transaction block.
        client
            .batch_execute(&format!("ALTER SYSTEM SET {setting}"))
            .await
            .unwrap();
    }
    client
        .batch_execute("SELECT pg_reload_conf()")
        .await
        .unwrap();
    for _ in 0..100 {
        let on: String = client.query_one("SHOW ssl", &[]).await.unwrap().get(0);
        if on == "on" {
            return ca_path;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "the cluster did not turn ssl on: see {}/server.log",
        dir.display()
    );
}

/// With `sslmode=verify-full` and the CA in `sslrootcert`, every
/// connection of the backend is encrypted; a CA that did not sign the
/// server's certificate, or a host name it does not name, is refused with
/// a message about the certificate; a URL without `sslmode` still connects
/// in plain text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_the_server_is_verified_against_the_named_ca() {
    let (admin, connection) = tokio_postgres::connect(&cluster_url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let ca = cluster_speaking_tls(&admin).await;
    let url = fresh_database().await;
    let tls_url = format!(
        "{url}&application_name=tls-test&sslmode=verify-full&sslrootcert={}",
        ca.display()
    );
    let db = Db::new(PgBackend::connect(&tls_url).await.unwrap());
    db.put(&COUNTER, "over-tls", &7).await.unwrap();
    assert_eq!(db.get(&COUNTER, "over-tls").await.unwrap(), Some(7));
    let rows = admin
        .query(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.application_name = 'tls-test'",
            &[],
        )
        .await
        .unwrap();
    assert!(
        rows.len() >= 2,
        "pool and signal connections: {}",
        rows.len()
    );
    assert!(
        rows.iter().all(|r| r.get::<_, bool>(0)),
        "a plain connection"
    );

    let other = std::env::temp_dir().join(format!("cityhost-other-ca-{}.crt", std::process::id()));
    std::fs::write(&other, certificate_authority("Another CA").0).unwrap();
    let cluster: tokio_postgres::Config = cluster_url().parse().unwrap();
    let port = cluster.get_ports()[0];
    for bad in [
        format!("{url}&sslmode=verify-full&sslrootcert={}", other.display()),
        format!(
            "host=db.example hostaddr=127.0.0.1 port={port} user=cityhost dbname=postgres \
             sslmode=verify-full sslrootcert='{}'",
            ca.display()
        ),
    ] {
        let e = PgBackend::connect(&bad).await.unwrap_err().to_string();
        assert!(e.contains("certificate"), "{bad}: {e}");
    }
    std::fs::remove_file(&other).unwrap();
    let plain = Db::new(PgBackend::connect(&url).await.unwrap());
    assert_eq!(plain.get(&COUNTER, "over-tls").await.unwrap(), Some(7));
}
