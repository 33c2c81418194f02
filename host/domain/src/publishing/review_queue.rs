//! What an operator reviews: each version waiting, with its department's
//! name, what it may reach and its limits, the release it would replace
//! and the change to that release's manifest as a unified diff.

use serde::Serialize;

use super::Publishing;
use super::reach::Reach;
use super::versions::VersionRecord;
use crate::error::ServiceResult;
use crate::manifest::{Limits, Manifest};

/// Lines of context around each change of [`ReviewItem::manifest_diff`].
pub const DIFF_CONTEXT: usize = 3;

/// A version waiting for review, with what the reviewer weighs.
#[derive(Debug, Serialize)]
pub struct ReviewItem {
    /// The version (app, version, department's USCC, manifest, component
    /// hash and size, signing key, times).
    #[serde(flatten)]
    pub version: VersionRecord,
    /// The department's official name, if it still has an account.
    pub department_name: Option<String>,
    /// What the version may reach; `None` if its manifest no longer parses
    /// under this host's rules.
    pub reach: Option<Reach>,
    /// Its `[limits]` (empty: the host's defaults).
    pub limits: Option<Limits>,
    /// The release citizens are served now, if any.
    pub running: Option<RunningRelease>,
    /// The manifest's change from the running release's, as a unified diff
    /// (`--- {app}@{running}`, `+++ {app}@{version}`, [`DIFF_CONTEXT`]
    /// lines of context); `None` for a first version.
    pub manifest_diff: Option<String>,
}

/// The stable release a reviewed version would replace.
#[derive(Debug, Serialize)]
pub struct RunningRelease {
    /// Its version.
    pub version: String,
    /// What it may reach.
    pub reach: Option<Reach>,
}

impl Publishing {
    /// The review queue, oldest submission first, each version with what
    /// the reviewer weighs ([`ReviewItem`]). Errors: the store cannot be
    /// read.
    pub async fn review_items(&self) -> ServiceResult<Vec<ReviewItem>> {
        let queue = self.versions.review_queue().await?;
        let mut items = Vec::with_capacity(queue.len());
        for version in queue {
            let department = self.departments.get(&version.department).await?;
            let manifest = Manifest::parse(&version.manifest).ok();
            let plan = self.versions.plan(&version.app_id).await?;
            let running = match plan.stable {
                Some(stable) => self.versions.get(&version.app_id, &stable).await?,
                None => None,
            };
            let manifest_diff = running.as_ref().map(|running| {
                similar::TextDiff::from_lines(&running.manifest, &version.manifest)
                    .unified_diff()
                    .context_radius(DIFF_CONTEXT)
                    .header(
                        &format!("{}@{}", running.app_id, running.version),
                        &format!("{}@{}", version.app_id, version.version),
                    )
                    .to_string()
            });
            items.push(ReviewItem {
                department_name: department.map(|d| d.name),
                reach: manifest.as_ref().map(Reach::of),
                limits: manifest.map(|m| m.limits),
                running: running.map(|r| RunningRelease {
                    reach: Manifest::parse(&r.manifest).ok().as_ref().map(Reach::of),
                    version: r.version,
                }),
                manifest_diff,
                version,
            });
        }
        Ok(items)
    }
}
