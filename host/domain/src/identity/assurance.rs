//! Assurance levels and what a manifest asks of identity.
//!
//! - L1: an account with a phone number (every registered citizen).
//! - L2: full name and resident identity number matched by the identity
//!   authority (real-name verification, `identity::verification`).
//! - L3: reserved for a biometric check; not offered, and a manifest that
//!   asks for it is refused.
//!
//! A manifest may require a minimum level per route (`[identity.min-level]`,
//! path prefix → level). The host checks it before the app runs; a citizen
//! below it gets `403 assurance_required` naming the level, which the shell
//! turns into the real-name page and then back to the app.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::consent::UserField;

/// The highest level the host can establish today.
pub const MAX_OFFERED_LEVEL: u8 = 2;

/// The `acr` value of a level in ID tokens (`L1`, `L2`).
pub fn acr(level: u8) -> String {
    format!("L{level}")
}

/// The manifest's `[identity]` table.
///
/// ```toml
/// [identity]
/// user-fields = ["gender", "birth-year"]   # extra auth_user fields
/// [identity.min-level]
/// "/" = 2                                  # every route needs L2
/// ```
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct IdentitySettings {
    /// Optional `auth_user` fields the app asks for (shown on the consent
    /// sheet and returned by `identity.profile`).
    #[serde(default)]
    pub user_fields: Vec<UserField>,
    /// Minimum assurance level per route: app path prefix (starting with
    /// `/`, matching whole segments) → level 1 or 2. The longest matching
    /// prefix wins; routes matching none need level 1.
    #[serde(default)]
    pub min_level: BTreeMap<String, u8>,
}

impl IdentitySettings {
    /// Checks the values; the error names the manifest field and the fix.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        for (prefix, level) in &self.min_level {
            if !prefix.starts_with('/') {
                return Err((
                    "identity.min-level",
                    format!("route `{prefix}` must start with /"),
                ));
            }
            match level {
                1 | 2 => {}
                3 => {
                    return Err((
                        "identity.min-level",
                        "level 3 (biometric) is reserved and not offered; use 1 or 2".into(),
                    ));
                }
                _ => {
                    return Err((
                        "identity.min-level",
                        format!("route `{prefix}`: use level 1 or 2"),
                    ));
                }
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        if !self.user_fields.iter().all(|f| seen.insert(*f)) {
            return Err(("identity.user-fields", "a field is listed twice".into()));
        }
        Ok(())
    }

    /// The level a request to app path `path` needs (1 if no prefix matches).
    pub fn required_level(&self, path: &str) -> u8 {
        self.min_level
            .iter()
            .filter(|(prefix, _)| matches_prefix(path, prefix))
            .max_by_key(|(prefix, _)| prefix.len())
            .map_or(1, |(_, level)| *level)
    }
}

/// Whether `prefix` covers `path` on a segment boundary (`/a` covers `/a`,
/// `/a/b` and `/a?x`, not `/ab`).
fn matches_prefix(path: &str, prefix: &str) -> bool {
    if prefix == "/" {
        return true;
    }
    let prefix = prefix.trim_end_matches('/');
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, u8)]) -> IdentitySettings {
        IdentitySettings {
            user_fields: vec![],
            min_level: pairs.iter().map(|(p, l)| (p.to_string(), *l)).collect(),
        }
    }

    #[test]
    fn longest_whole_segment_prefix_wins() {
        let s = settings(&[("/", 1), ("/account", 2), ("/account/help", 1)]);
        assert_eq!(s.required_level("/"), 1);
        assert_eq!(s.required_level("/account"), 2);
        assert_eq!(s.required_level("/account/loans"), 2);
        assert_eq!(s.required_level("/accounts"), 1);
        assert_eq!(s.required_level("/account/help"), 1);
        assert_eq!(settings(&[]).required_level("/x"), 1);
        assert_eq!(settings(&[("/", 2)]).required_level("/x"), 2);
    }

    #[test]
    fn refuses_reserved_and_unknown_levels() {
        assert!(settings(&[("/", 3)]).validate().is_err());
        assert!(settings(&[("/", 0)]).validate().is_err());
        assert!(settings(&[("x", 2)]).validate().is_err());
        assert!(settings(&[("/", 2)]).validate().is_ok());
    }
}
