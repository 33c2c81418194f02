//! The versions of each app and what citizens are shown.
//!
//! Trees: `app_versions` (`app_id \0 version` → [`VersionRecord`]),
//! `packages` (hex SHA-256 → component bytes) and `app_releases`
//! (`app_id` → [`ReleasePlan`]).
//!
//! A version's way: `uploaded` → `in_review` → `approved` or `rejected`
//! (with the reviewer's reason) → `released` (to a gray percentage, then to
//! everyone) → `superseded` by a later release, or `rolled_back`.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{ServiceError, ServiceResult};
use crate::store::{self, Store, key, trees};

/// Where a version is in its review and release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionState {
    /// Accepted by the host's checks; not yet submitted for review.
    Uploaded,
    /// Waiting for an operator (one version per app at a time).
    InReview,
    /// Approved by an operator; may be released.
    Approved,
    /// Refused by an operator; `reason` says why.
    Rejected,
    /// Shown to citizens (all, or a gray percentage).
    Released,
    /// Replaced by a later release.
    Superseded,
    /// Withdrawn by a rollback.
    RolledBack,
}

/// One uploaded version of an app.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VersionRecord {
    /// App id.
    pub app_id: String,
    /// Semantic version, from the manifest.
    pub version: String,
    /// The department's Unified Social Credit Code.
    pub department: String,
    /// State.
    pub state: VersionState,
    /// The reviewer's reason, for a rejected version.
    pub reason: Option<String>,
    /// Hex SHA-256 of the component bytes (key of the `packages` tree).
    pub component_sha256: String,
    /// Component size, bytes.
    pub component_bytes: u64,
    /// The manifest text.
    pub manifest: String,
    /// Id of the signing key that signed the package.
    pub signed_by: String,
    /// Upload time, UTC ms.
    pub uploaded_at: u64,
    /// Last state change, UTC ms.
    pub updated_at: u64,
}

/// A gray release: a version shown to a share of citizens.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct GrayRelease {
    /// The version.
    pub version: String,
    /// Share of citizens, percent (1–99), chosen by [`gray_bucket`].
    pub percent: u8,
}

/// A trial version: shown only to the listed testers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TrialRelease {
    /// The version.
    pub version: String,
    /// The testers' openids for this app.
    pub testers: Vec<String>,
}

/// What citizens of one app are shown.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReleasePlan {
    /// The version everyone (outside gray and trial) sees.
    pub stable: Option<String>,
    /// Earlier stable versions, oldest first (rollback returns to the last).
    pub history: Vec<String>,
    /// A gray release, if one is running.
    pub gray: Option<GrayRelease>,
    /// A trial version, if the department set one.
    pub trial: Option<TrialRelease>,
}

/// The bucket (0–99) a citizen falls in for an app's gray release: the
/// first 8 bytes of SHA-256(`app_id \0 openid`) as a big-endian integer,
/// mod 100. A citizen sees a gray release of `p` percent when the bucket is
/// below `p`, so widening a release keeps everyone who already had it.
pub fn gray_bucket(app_id: &str, openid: &str) -> u8 {
    let digest = Sha256::digest(key(&[app_id.as_bytes(), openid.as_bytes()]));
    let head = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    (head % 100) as u8
}

/// The versions, packages and release plans.
#[derive(Clone)]
pub struct Versions {
    versions: sled::Tree,
    packages: sled::Tree,
    plans: sled::Tree,
}

impl Versions {
    /// Opens the trees.
    pub fn open(store: &Store) -> ServiceResult<Self> {
        Ok(Self {
            versions: store.tree(trees::APP_VERSIONS)?,
            packages: store.tree(trees::PACKAGES)?,
            plans: store.tree(trees::APP_RELEASES)?,
        })
    }

    /// Every version of `app_id`, lowest semver first.
    pub fn list(&self, app_id: &str) -> ServiceResult<Vec<VersionRecord>> {
        let prefix = key(&[app_id.as_bytes(), b""]);
        let mut out: Vec<VersionRecord> = self
            .versions
            .scan_prefix(prefix)
            .values()
            .map(|v| Ok(serde_json::from_slice(&v?).map_err(store::StoreError::from)?))
            .collect::<ServiceResult<_>>()?;
        out.sort_by_key(|v| semver::Version::parse(&v.version).ok());
        Ok(out)
    }

    /// Every version in review, oldest upload first.
    pub fn review_queue(&self) -> ServiceResult<Vec<VersionRecord>> {
        let mut out = Vec::new();
        for value in self.versions.iter().values() {
            let record: VersionRecord =
                serde_json::from_slice(&value?).map_err(store::StoreError::from)?;
            if record.state == VersionState::InReview {
                out.push(record);
            }
        }
        out.sort_by_key(|r| r.updated_at);
        Ok(out)
    }

    /// One version.
    pub fn get(&self, app_id: &str, version: &str) -> ServiceResult<Option<VersionRecord>> {
        Ok(store::get_json(
            &self.versions,
            key(&[app_id.as_bytes(), version.as_bytes()]),
        )?)
    }

    /// The version, or not found.
    pub fn require(&self, app_id: &str, version: &str) -> ServiceResult<VersionRecord> {
        self.get(app_id, version)?
            .ok_or(ServiceError::NotFound("version"))
    }

    /// Stores a version record.
    pub fn put(&self, record: &VersionRecord) -> ServiceResult<()> {
        store::put_json(
            &self.versions,
            key(&[record.app_id.as_bytes(), record.version.as_bytes()]),
            record,
        )?;
        Ok(())
    }

    /// Stores component bytes under their SHA-256.
    pub fn put_package(&self, sha256: &str, bytes: &[u8]) -> ServiceResult<()> {
        self.packages.insert(sha256, bytes)?;
        Ok(())
    }

    /// The component bytes with this SHA-256.
    pub fn package(&self, sha256: &str) -> ServiceResult<Option<Vec<u8>>> {
        Ok(self.packages.get(sha256)?.map(|v| v.to_vec()))
    }

    /// The app's release plan (empty if nothing was released).
    pub fn plan(&self, app_id: &str) -> ServiceResult<ReleasePlan> {
        Ok(store::get_json(&self.plans, app_id)?.unwrap_or_default())
    }

    /// Stores the app's release plan.
    pub fn put_plan(&self, app_id: &str, plan: &ReleasePlan) -> ServiceResult<()> {
        store::put_json(&self.plans, app_id, plan)?;
        Ok(())
    }

    /// Every app with a release plan, with the plan.
    pub fn plans(&self) -> ServiceResult<Vec<(String, ReleasePlan)>> {
        self.plans
            .iter()
            .map(|entry| {
                let (k, v) = entry?;
                Ok((
                    String::from_utf8_lossy(&k).into_owned(),
                    serde_json::from_slice(&v).map_err(store::StoreError::from)?,
                ))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gray_bucket_is_stable_and_spread() {
        assert_eq!(gray_bucket("hello", "o1"), gray_bucket("hello", "o1"));
        let in_ten: usize = (0..10_000)
            .filter(|i| gray_bucket("hello", &format!("openid-{i}")) < 10)
            .count();
        assert!(
            (800..1200).contains(&in_ten),
            "{in_ten} of 10000 in a 10% gray release"
        );
    }
}
