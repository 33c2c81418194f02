//! The versions of each app and what citizens are shown.
//!
//! Tables: `app_versions` (`(app_id, version)` → [`VersionRecord`]),
//! `packages` (hex SHA-256 → component bytes) and `app_releases`
//! (`app_id` → [`ReleasePlan`]). The steps that change them are in
//! [`super::lifecycle`], each one transaction.
//!
//! A version's way: `uploaded` → `in_review` → `approved` or `rejected`
//! (with the reviewer's reason) → `released` (to a gray percentage, then to
//! everyone) → `superseded` by a later release, or `rolled_back`.

use cityhost_store::{Db, Scan};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::tables::{APP_RELEASES, APP_VERSIONS, PACKAGES};
use crate::error::{ServiceError, ServiceResult};

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
    /// Hex SHA-256 of the component bytes (key of the `packages` table).
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
    let digest = Sha256::digest([app_id.as_bytes(), b"\0", openid.as_bytes()].concat());
    let head = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    (head % 100) as u8
}

/// The versions, packages and release plans (read side; the changes are
/// the steps of [`super::lifecycle`]).
#[derive(Clone)]
pub struct Versions {
    db: Db,
}

impl Versions {
    /// The records in `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Every version of `app_id`, lowest semver first.
    pub async fn list(&self, app_id: &str) -> ServiceResult<Vec<VersionRecord>> {
        let versions = self.db.scan(&APP_VERSIONS, Scan::prefix((app_id,))).await?;
        Ok(by_semver(versions.into_iter().map(|(_, v)| v).collect()))
    }

    /// Every version in review, oldest upload first.
    pub async fn review_queue(&self) -> ServiceResult<Vec<VersionRecord>> {
        let mut out: Vec<VersionRecord> = self
            .db
            .scan(&APP_VERSIONS, Scan::all())
            .await?
            .into_iter()
            .map(|(_, record)| record)
            .filter(|record| record.state == VersionState::InReview)
            .collect();
        out.sort_by_key(|r| r.updated_at);
        Ok(out)
    }

    /// One version.
    pub async fn get(&self, app_id: &str, version: &str) -> ServiceResult<Option<VersionRecord>> {
        Ok(self.db.get(&APP_VERSIONS, (app_id, version)).await?)
    }

    /// The version, or not found.
    pub async fn require(&self, app_id: &str, version: &str) -> ServiceResult<VersionRecord> {
        self.get(app_id, version)
            .await?
            .ok_or(ServiceError::NotFound("version"))
    }

    /// The component bytes with this SHA-256.
    pub async fn package(&self, sha256: &str) -> ServiceResult<Option<Vec<u8>>> {
        Ok(self.db.get(&PACKAGES, sha256).await?)
    }

    /// The app's release plan (empty if nothing was released).
    pub async fn plan(&self, app_id: &str) -> ServiceResult<ReleasePlan> {
        Ok(self
            .db
            .get(&APP_RELEASES, app_id)
            .await?
            .unwrap_or_default())
    }

    /// Every app with a release plan, with the plan.
    pub async fn plans(&self) -> ServiceResult<Vec<(String, ReleasePlan)>> {
        Ok(self.db.scan(&APP_RELEASES, Scan::all()).await?)
    }
}

/// `versions` sorted lowest semver first (unparsable versions first).
pub(crate) fn by_semver(mut versions: Vec<VersionRecord>) -> Vec<VersionRecord> {
    versions.sort_by_key(|v| semver::Version::parse(&v.version).ok());
    versions
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
