//! The identity authority: who says whether a full name and a resident
//! identity number belong together (the last step of real-name
//! verification, after the structural checks of `identity::idcard`).
//!
//! Two implementations of [`IdentityAuthority`]:
//! - [`PopulationRegistry`]: records held in the host's own store (`population`
//!   tree), keyed by the number's blind index with the name sealed; filled
//!   by `cityhost import-population FILE.csv` (and, for development, by
//!   `cityhost demo`).
//! - [`HttpAuthority`]: a real authority endpoint configured by URL, asked
//!   with one JSON POST per check (request and response in
//!   `docs/identity.md`).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::idcard;
use super::sealed::Vault;
use crate::error::ServiceResult;
use crate::store::{self, Store, now_ms, trees};

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

/// One person in the population registry (`population` tree, keyed by the
/// number's blind index).
#[derive(Debug, Serialize, Deserialize)]
struct PopulationRecord {
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

/// The host's own population registry: a development and small-deployment
/// authority held in sled, with no number stored in clear.
#[derive(Clone)]
pub struct PopulationRegistry {
    tree: sled::Tree,
    vault: Vault,
}

impl PopulationRegistry {
    /// Opens the `population` tree.
    pub fn open(store: &Store, vault: Vault) -> ServiceResult<Self> {
        Ok(Self {
            tree: store.tree(trees::POPULATION)?,
            vault,
        })
    }

    /// Adds or replaces one person. The caller validated both fields.
    pub fn insert(&self, name: &str, id_number: &str) -> ServiceResult<()> {
        let index = self.vault.blind_index(id_number);
        let record = PopulationRecord {
            name_sealed: self.vault.seal(name, &index),
            imported_at: now_ms(),
        };
        store::put_json(&self.tree, &index, &record)?;
        Ok(())
    }

    /// Imports a CSV of `name,id_number` records (UTF-8, header line
    /// `name,id_number`; columns found by header name). Each row is checked
    /// like a citizen's own input (`idcard::validate_name`,
    /// `idcard::validate` with `is_province` and today's UTC date); bad
    /// rows are reported by line and skipped. Errors: a file that is not
    /// CSV or lacks either column (`invalid-argument("file")`).
    pub fn import_csv(
        &self,
        reader: impl std::io::Read,
        is_province: impl Fn(&str) -> bool,
    ) -> ServiceResult<ImportReport> {
        use crate::error::ServiceError;
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
        let mut report = ImportReport::default();
        for (i, row) in csv.records().enumerate() {
            let line = i as u64 + 2;
            let reject = |field, reason| RejectedRow {
                line,
                field,
                reason,
            };
            let Ok(row) = row else {
                report
                    .rejected
                    .push(reject("row", "not valid CSV or UTF-8"));
                continue;
            };
            let (Some(name), Some(number)) = (row.get(name_at), row.get(number_at)) else {
                report.rejected.push(reject("row", "missing column"));
                continue;
            };
            let name = match idcard::validate_name(name) {
                Ok(name) => name,
                Err(e) => {
                    report.rejected.push(reject("name", e.reason()));
                    continue;
                }
            };
            let number = match idcard::validate(number, today, &is_province) {
                Ok(number) => number,
                Err(e) => {
                    report.rejected.push(reject("id_number", e.reason()));
                    continue;
                }
            };
            self.insert(&name, &number)?;
            report.imported += 1;
        }
        Ok(report)
    }

    /// Records held.
    pub fn len(&self) -> usize {
        self.tree.len()
    }

    /// Whether the registry holds no record.
    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    fn lookup(&self, name: &str, id_number: &str) -> ServiceResult<Verdict> {
        let index = self.vault.blind_index(id_number);
        let Some(record) = store::get_json::<PopulationRecord>(&self.tree, &index)? else {
            return Ok(Verdict::Mismatch);
        };
        let registered = self
            .vault
            .open(&record.name_sealed, &index)
            .map_err(|_| crate::store::StoreError::Sealed)?;
        Ok(if registered == name {
            Verdict::Match
        } else {
            Verdict::Mismatch
        })
    }
}

impl IdentityAuthority for PopulationRegistry {
    fn kind(&self) -> &'static str {
        "population-registry"
    }

    fn check<'a>(&'a self, name: &'a str, id_number: &'a str) -> CheckFuture<'a> {
        Box::pin(async move { Ok(self.lookup(name, id_number)?) })
    }
}

/// How long the host waits for a remote authority.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(5);

/// Body the host POSTs to the authority.
#[derive(Debug, Serialize, Deserialize)]
pub struct AuthorityRequest {
    /// Full name, as validated.
    pub name: String,
    /// Resident identity number, 18 characters, upper-case `X`.
    pub id_number: String,
}

/// Body the authority answers with status 200.
#[derive(Debug, Serialize, Deserialize)]
pub struct AuthorityResponse {
    /// `match` or `mismatch`.
    pub result: Verdict,
}

/// A remote identity authority over HTTP: `POST {url}` with an
/// [`AuthorityRequest`] (and `Authorization: Bearer {token}` when a token
/// is configured); a 200 answer carries an [`AuthorityResponse`]. Anything
/// else (other status, malformed body, timeout after [`HTTP_TIMEOUT`]) is
/// [`AuthorityError::Unavailable`]. The URL is plain `http://`: the host
/// carries no TLS stack, so a remote authority is reached through the
/// government network's gateway, which terminates TLS.
pub struct HttpAuthority {
    url: reqwest::Url,
    token: Option<String>,
    client: reqwest::Client,
}

impl HttpAuthority {
    /// A client for `url`. Errors: a URL that is not `http://host[:port]/...`
    /// (`invalid-argument("identity-authority")`).
    pub fn new(url: &str, token: Option<String>) -> ServiceResult<Self> {
        use crate::error::ServiceError;
        let url = reqwest::Url::parse(url)
            .map_err(|e| ServiceError::invalid("identity-authority", format!("not a URL: {e}")))?;
        if url.scheme() != "http" || url.host_str().is_none() {
            return Err(ServiceError::invalid(
                "identity-authority",
                "use an http:// URL (TLS is terminated by the government network's gateway)",
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ServiceError::invalid("identity-authority", e.to_string()))?;
        Ok(Self { url, token, client })
    }

    async fn ask(&self, name: &str, id_number: &str) -> Result<Verdict, AuthorityError> {
        let mut request = self.client.post(self.url.clone()).json(&AuthorityRequest {
            name: name.to_string(),
            id_number: id_number.to_string(),
        });
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        // reqwest's errors may quote the URL but never the body; keep only
        // their kind to be sure.
        let response = request.send().await.map_err(|e| {
            AuthorityError::Unavailable(if e.is_timeout() {
                "timed out".into()
            } else {
                "cannot connect".into()
            })
        })?;
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            return Err(AuthorityError::Unavailable(format!("answered {status}")));
        }
        let body: AuthorityResponse = response
            .json()
            .await
            .map_err(|_| AuthorityError::Unavailable("answered a malformed body".into()))?;
        Ok(body.result)
    }
}

impl IdentityAuthority for HttpAuthority {
    fn kind(&self) -> &'static str {
        "http"
    }

    fn check<'a>(&'a self, name: &'a str, id_number: &'a str) -> CheckFuture<'a> {
        Box::pin(self.ask(name, id_number))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn registry_matches_imported_records_only() {
        let dir = tempfile::tempdir().unwrap();
        let registry = PopulationRegistry::open(
            &Store::open(dir.path()).unwrap(),
            Vault::new(&[1; 32], &[2; 32]),
        )
        .unwrap();
        let csv = "name,id_number\n王五,11010519491231002x\n赵六,110105194912310021\nZhao,330106199203041023\n钱七,99010519491231002X\n";
        let report = registry
            .import_csv(csv.as_bytes(), |p| p == "11" || p == "33")
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
            registry.import_csv("nom,numero\n".as_bytes(), |_| true),
            Err(crate::error::ServiceError::InvalidArgument { field: "file", .. })
        ));
    }

    #[test]
    fn http_authority_wants_an_http_url() {
        assert!(HttpAuthority::new("http://127.0.0.1:9/check", None).is_ok());
        assert!(HttpAuthority::new("https://authority.example/check", None).is_err());
        assert!(HttpAuthority::new("not a url", None).is_err());
    }
}
