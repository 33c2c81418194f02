//! The publishing tables (and the host's `meta` table of settings and
//! markers).

use cityhost_store::{Raw, Table};

use super::departments::Department;
use super::operators::{Operator, OperatorAction};
use super::tokens::TokenRecord;
use super::versions::{ReleasePlan, VersionRecord};

/// Unified Social Credit Code → [`Department`].
pub(crate) const DEPARTMENTS: Table<String, Department> = Table::new("departments");
/// app id → the owning department's Unified Social Credit Code.
pub(crate) const APP_OWNERS: Table<String, String> = Table::new("app_owners");
/// `(uscc, app id)` → when the app was given to the department, UTC ms:
/// a department's apps, by prefix.
pub(crate) const DEPARTMENT_APPS: Table<(String, String), u64> = Table::new("department_apps");
/// token id (`jti`) → [`TokenRecord`].
pub(crate) const DEPARTMENT_TOKENS: Table<String, TokenRecord> = Table::new("department_tokens");
/// operator name → [`Operator`] (the token stored as its SHA-256).
pub(crate) const OPERATORS: Table<String, Operator> = Table::new("operators");
/// `(time UTC ms, seq)` → [`OperatorAction`]; `seq` is a store-wide id, so
/// actions of one millisecond keep their order.
pub(crate) const OPERATOR_ACTIONS: Table<(u64, u64), OperatorAction> =
    Table::new("operator_actions");
/// `(app_id, version)` → [`VersionRecord`].
pub(crate) const APP_VERSIONS: Table<(String, String), VersionRecord> = Table::new("app_versions");
/// hex SHA-256 of a component → the component bytes.
pub(crate) const PACKAGES: Table<String, Vec<u8>, Raw> = Table::new("packages");
/// `app_id` → [`ReleasePlan`].
pub(crate) const APP_RELEASES: Table<String, ReleasePlan> = Table::new("app_releases");
/// `app_id` → the operator's cap on the app's concurrent requests
/// ([`super::concurrency`]).
pub(crate) const APP_CONCURRENCY: Table<String, u32> = Table::new("app_concurrency");
