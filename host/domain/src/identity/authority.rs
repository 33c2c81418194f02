//! The identity authority: who says whether a full name and a resident
//! identity number belong together (the last step of real-name
//! verification, after the structural checks of `identity::idcard`).
//!
//! Two implementations of [`IdentityAuthority`]:
//! - [`PopulationRegistry`]: records held in the host's own store (the
//!   `population` table), keyed by the number's blind index with the name
//!   sealed; filled
//!   by `cityhost import-population FILE.csv` (and, for development, by
//!   `cityhost demo`).
//! - the host's `HttpAuthority` (crate `cityhost`): a real authority endpoint configured by URL, asked
//!   with one JSON POST per check (request and response in
//!   `docs/identity.md`).

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;

use cityhost_store::{Db, Scan, now_ms};
use serde::{Deserialize, Serialize};

use super::idcard;
use super::sealed::Vault;
use super::tables::POPULATION;
use crate::error::{ServiceError, ServiceResult};

/// The authority's answer about a (name, number) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The number exists and is registered to this name.
    Match,
    /// The number is unknown, or registered to another name. (An authority
    /// does not say which, so that it cannot be used to look names up.)
    Mismatch,
}

/// The authority could not answer.
#[derive(Debug, thiserror::Error)]
pub enum AuthorityError {
    /// Network failure, timeout, an unexpected status or body. The message
    /// never holds the name or number asked about.
    #[error("the identity authority is unavailable: {0}")]
    Unavailable(String),
    /// The host's own registry could not be read.
    #[error(transparent)]
    Store(#[from] crate::error::ServiceError),
}

/// A boxed future, so that authorities can be used as trait objects.
pub type CheckFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Verdict, AuthorityError>> + Send + 'a>>;

/// Checks whether a name and an identity number belong together. Called
/// with a name that passed `idcard::validate_name` and a number that passed
/// `idcard::validate` (normalised, upper-case `X`).
pub trait IdentityAuthority: Send + Sync {
    /// A short name for logs (`population-registry`, `http`).
    fn kind(&self) -> &'static str;
    /// Asks the authority.
    fn check<'a>(&'a self, name: &'a str, id_number: &'a str) -> CheckFuture<'a>;
}

/// One person in the population registry ([`POPULATION`], keyed by the
/// number's blind index).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct PopulationRecord {
    /// Full name, sealed with the blind index as associated data.
    name_sealed: String,
    /// When the record was imported, UTC ms.
    imported_at: u64,
}

/// A row of an import that was not taken: its 1-based line and why. Never
/// holds the row's values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectedRow {
    /// Line in the file (the header is line 1).
    pub line: u64,
    /// `name`, `id_number` or `row`.
    pub field: &'static str,
    /// The reason (for example `check_character`).
    pub reason: &'static str,
}

/// What an import did.
#[derive(Debug, Default, Serialize)]
pub struct ImportReport {
    /// Records written (new or replacing an earlier name).
    pub imported: u64,
    /// Rows refused, with line and reason.
    pub rejected: Vec<RejectedRow>,
}

/// Rows written per transaction during an import.
const IMPORT_CHUNK: usize = 1_000;
/// Records counted per read by [`PopulationRegistry::len`].
const COUNT_PAGE: usize = 10_000;

/// The host's own population registry: a development and small-deployment
/// authority held in the host's store, with no number stored in clear.
#[derive(Clone)]
pub struct PopulationRegistry {
    db: Db,
    vault: Vault,
}

impl PopulationRegistry {
    /// The registry in `db`; names are sealed in `vault`.
    pub fn new(db: Db, vault: Vault) -> Self {
        Self { db, vault }
    }

    /// Adds or replaces one person. The caller validated both fields.
    pub async fn insert(&self, name: &str, id_number: &str) -> ServiceResult<()> {
        let (index, record) = sealed_record(&self.vault, name, id_number);
        self.db.put(&POPULATION, &index, &record).await?;
        Ok(())
    }

    /// Imports a CSV of `name,id_number` records (UTF-8, header line
    /// `name,id_number`; columns found by header name). Each row is checked
    /// like a citizen's own input (`idcard::validate_name`,
    /// `idcard::validate` with `is_province` and today's UTC date); bad
    /// rows are reported by line and skipped. Rows are read, checked and
    /// sealed on the blocking pool and written [`IMPORT_CHUNK`] to a
    /// transaction (a failed write leaves the chunks before it imported).
    /// `is_province` is asked once about each two-digit code. Errors: a
    /// file that is not CSV or lacks either column
    /// (`invalid-argument("file")`); the store failing.
    pub async fn import_csv(
        &self,
        reader: impl std::io::Read + Send + 'static,
        is_province: impl Fn(&str) -> bool,
    ) -> ServiceResult<ImportReport> {
        // A province code is a number's first two digits (asked about only
        // once the number is 18 well-formed characters).
        let provinces: HashSet<String> = (0..100)
            .map(|n| format!("{n:02}"))
            .filter(|code| is_province(code))
            .collect();
        let (sender, mut chunks) = tokio::sync::mpsc::channel(2);
        let vault = self.vault.clone();
        let reading =
            tokio::task::spawn_blocking(move || read_rows(reader, &provinces, &vault, &sender));
        let mut imported = 0;
        while let Some(chunk) = chunks.recv().await {
            let chunk: &Vec<(String, PopulationRecord)> = &chunk;
            self.db
                .transact(|tx| async move {
                    for (index, record) in chunk {
                        tx.put(&POPULATION, index, record).await?;
                    }
                    Ok::<_, ServiceError>(())
                })
                .await?;
            imported += chunk.len() as u64;
        }
        let rejected = reading.await.map_err(|e| {
            tracing::error!(error = %e, "reading a population file");
            ServiceError::Unavailable("the import stopped; try again".into())
        })??;
        Ok(ImportReport { imported, rejected })
    }

    /// Records held (counted page by page).
    pub async fn len(&self) -> ServiceResult<u64> {
        let mut count = 0;
        let mut scan = Scan::all().limit(COUNT_PAGE);
        loop {
            let page = self.db.scan(&POPULATION, scan).await?;
            count += page.len() as u64;
            match page.last() {
                Some((last, _)) if page.len() == COUNT_PAGE => {
                    scan = Scan::after(last).limit(COUNT_PAGE);
                }
                _ => return Ok(count),
            }
        }
    }

    /// Whether the registry holds no record.
    pub async fn is_empty(&self) -> ServiceResult<bool> {
        let first = self.db.scan(&POPULATION, Scan::all().limit(1)).await?;
        Ok(first.is_empty())
    }

    async fn lookup(&self, name: &str, id_number: &str) -> ServiceResult<Verdict> {
        let index = self.vault.blind_index(id_number);
        let Some(record) = self.db.get(&POPULATION, &index).await? else {
            return Ok(Verdict::Mismatch);
        };
        let registered = self
            .vault
            .open(&record.name_sealed, &index)
            .map_err(ServiceError::Sealed)?;
        Ok(if registered == name {
            Verdict::Match
        } else {
            Verdict::Mismatch
        })
    }
}

/// The blind index of `id_number` and its record with `name` sealed.
fn sealed_record(vault: &Vault, name: &str, id_number: &str) -> (String, PopulationRecord) {
    let index = vault.blind_index(id_number);
    let record = PopulationRecord {
        name_sealed: vault.seal(name, &index),
        imported_at: now_ms(),
    };
    (index, record)
}

/// Reads an import file (see [`PopulationRegistry::import_csv`]), sending
/// the sealed records of good rows in chunks; returns the refused rows.
/// Stops early, without error, once nobody receives the chunks (a write
/// failed and is being reported).
fn read_rows(
    reader: impl std::io::Read,
    provinces: &HashSet<String>,
    vault: &Vault,
    chunks: &tokio::sync::mpsc::Sender<Vec<(String, PopulationRecord)>>,
) -> ServiceResult<Vec<RejectedRow>> {
    let mut csv = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(reader);
    let headers = csv
        .headers()
        .map_err(|_| ServiceError::invalid("file", "not a CSV file"))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}') == name)
    };
    let (Some(name_at), Some(number_at)) = (column("name"), column("id_number")) else {
        return Err(ServiceError::invalid(
            "file",
            "the header line must name the columns `name` and `id_number`",
        ));
    };
    let today = idcard::today_utc();
    let mut rejected = Vec::new();
    let mut chunk = Vec::with_capacity(IMPORT_CHUNK);
    for (i, row) in csv.records().enumerate() {
        let line = i as u64 + 2;
        let reject = |field, reason| RejectedRow {
            line,
            field,
            reason,
        };
        let Ok(row) = row else {
            rejected.push(reject("row", "not valid CSV or UTF-8"));
            continue;
        };
        let (Some(name), Some(number)) = (row.get(name_at), row.get(number_at)) else {
            rejected.push(reject("row", "missing column"));
            continue;
        };
        let name = match idcard::validate_name(name) {
            Ok(name) => name,
            Err(e) => {
                rejected.push(reject("name", e.reason()));
                continue;
            }
        };
        let number = match idcard::validate(number, today, |code| provinces.contains(code)) {
            Ok(number) => number,
            Err(e) => {
                rejected.push(reject("id_number", e.reason()));
                continue;
            }
        };
        chunk.push(sealed_record(vault, &name, &number));
        if chunk.len() == IMPORT_CHUNK
            && chunks
                .blocking_send(std::mem::replace(
                    &mut chunk,
                    Vec::with_capacity(IMPORT_CHUNK),
                ))
                .is_err()
        {
            return Ok(rejected);
        }
    }
    if !chunk.is_empty() {
        // Failing only when nobody receives (see above).
        let _ = chunks.blocking_send(chunk);
    }
    Ok(rejected)
}

impl IdentityAuthority for PopulationRegistry {
    fn kind(&self) -> &'static str {
        "population-registry"
    }

    fn check<'a>(&'a self, name: &'a str, id_number: &'a str) -> CheckFuture<'a> {
        Box::pin(async move { Ok(self.lookup(name, id_number).await?) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn registry_matches_imported_records_only() {
        let (_dir, db) = crate::testing::temp_db();
        let registry = PopulationRegistry::new(db, Vault::new(&[1; 32], &[2; 32]));
        assert!(registry.is_empty().await.unwrap());
        let csv = "name,id_number\n王五,11010519491231002x\n赵六,110105194912310021\nZhao,330106199203041023\n钱七,99010519491231002X\n";
        let report = registry
            .import_csv(csv.as_bytes(), |p: &str| p == "11" || p == "33")
            .await
            .unwrap();
        assert_eq!(report.imported, 1);
        assert_eq!(
            report.rejected,
            vec![
                RejectedRow {
                    line: 3,
                    field: "id_number",
                    reason: "check_character"
                },
                RejectedRow {
                    line: 4,
                    field: "name",
                    reason: "characters"
                },
                RejectedRow {
                    line: 5,
                    field: "id_number",
                    reason: "province"
                },
            ]
        );
        let check = |name, number| registry.check(name, number);
        assert_eq!(
            check("王五", "11010519491231002X").await.unwrap(),
            Verdict::Match
        );
        assert_eq!(
            check("王六", "11010519491231002X").await.unwrap(),
            Verdict::Mismatch
        );
        assert_eq!(
            check("王五", "330106199203041023").await.unwrap(),
            Verdict::Mismatch
        );
        assert!(matches!(
            registry
                .import_csv("nom,numero\n".as_bytes(), |_: &str| true)
                .await,
            Err(crate::error::ServiceError::InvalidArgument { field: "file", .. })
        ));
        assert!(!registry.is_empty().await.unwrap());
        assert_eq!(registry.len().await.unwrap(), 1);
    }

    #[tokio::test]
    async fn large_imports_are_written_in_chunks_and_counted() {
        let (_dir, db) = crate::testing::temp_db();
        let registry = PopulationRegistry::new(db, Vault::new(&[1; 32], &[2; 32]));
        // More rows than one chunk and one counting page; distinct numbers
        // (sequence code and birth day vary), every 1000th row malformed.
        let rows = COUNT_PAGE + IMPORT_CHUNK + 7;
        let mut csv = String::from("name,id_number\n");
        for i in 0..rows {
            let first17 = format!("11010519491{:03}{:03}", 201 + i / 1000, i % 1000);
            let check = idcard::check_character(first17.as_bytes()) as char;
            let name = if i % 1000 == 999 { "Zhang" } else { "王五" };
            csv.push_str(&format!("{name},{first17}{check}\n"));
        }
        let report = registry
            .import_csv(std::io::Cursor::new(csv), |p: &str| p == "11")
            .await
            .unwrap();
        let refused = (rows / 1000) as u64;
        assert_eq!(report.imported, rows as u64 - refused);
        assert_eq!(report.rejected.len() as u64, refused);
        assert_eq!(registry.len().await.unwrap(), report.imported);
        assert_eq!(
            registry.check("王五", "110105194912010000").await.unwrap(),
            Verdict::Match
        );
    }
}
