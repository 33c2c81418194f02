//! The `meta` table: the platform's one-off settings and markers, one JSON
//! value per name, each owned by one area: `publishing_caps` (the
//! operator's caps, `crate::publishing::OperatorCaps`),
//! `divisions_edition` (the edition of the divisions in the store,
//! `crate::directory`) and `phone_keys_indexed` (no phone number keys a
//! table in clear, `crate::identity::accounts`) and
//! `department_apps_indexed` (every app has its `department_apps` row,
//! `crate::publishing::departments`).

use cityhost_store::Table;

/// Setting or marker name → JSON value.
pub const META: Table<String, serde_json::Value> = Table::new("meta");
