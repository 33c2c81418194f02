//! What a release may reach beyond its own sandbox, as its manifest
//! declares it: what an operator approves with the release (the review
//! queue shows it beside each version).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::manifest::Manifest;
use crate::manifest::schedule::CronEntry;

/// A release's reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reach {
    /// The capabilities it may import (`payment`, `http`, …).
    pub permissions: Vec<String>,
    /// The origins it may call (`[http] allow`), normalised.
    pub http_allow: Vec<String>,
    /// The purpose it gives for each consent scope it may ask for.
    pub consent: BTreeMap<String, String>,
    /// Its cron schedules (`[[schedule.cron]]`, Asia/Shanghai time).
    pub cron: Vec<CronEntry>,
    /// The events its department's system may send it.
    pub department_events: Vec<String>,
}

impl Reach {
    /// The reach `manifest` declares (a validated manifest).
    pub fn of(manifest: &Manifest) -> Reach {
        Reach {
            permissions: manifest
                .permissions
                .iter()
                .map(|p| p.name().to_string())
                .collect(),
            http_allow: manifest
                .http_policy()
                .map(|policy| policy.allow.iter().map(ToString::to_string).collect())
                .unwrap_or_default(),
            consent: manifest.consent.clone(),
            cron: manifest.schedule.cron.clone(),
            department_events: manifest.events.from_department.clone(),
        }
    }
}
