//! The identity area's tables in the state seam (`cityhost_store`). Keys
//! are typed (tuples where a record has a compound key); values are JSON
//! unless noted. Identity numbers are never a key or a value in clear: the
//! tables that find a number use its blind index (`identity::sealed`).
//! Phone numbers are never a key in clear either (the account record holds
//! the citizen's own number, to show them).

use cityhost_store::Table;

use super::accounts::Citizen;
use super::appeals::Appeal;
use super::authority::PopulationRecord;
use super::consent::Grant;
use super::login_throttle::FailedLogins;
use super::phone_codes::{ClientSends, PhoneCode};
use super::sessions::SessionRecord;
use super::verify_throttle::Mismatches;

/// `citizen_id` → citizen account ([`Citizen`]).
pub(crate) const CITIZENS: Table<String, Citizen> = Table::new("citizens");
/// phone-number blind index (hex, `Vault::phone_index`) → `citizen_id` of
/// the account registered with it.
pub(crate) const PHONES: Table<String, String> = Table::new("phones");
/// phone-number blind index (hex) → wrong passwords for the number from
/// any client, and the delay before the next attempt
/// ([`super::login_throttle`]).
pub(crate) const LOGIN_FAILURES: Table<String, FailedLogins> = Table::new("login_failures");
/// client (address) → wrong passwords from it for any numbers, and its lock.
pub(crate) const LOGIN_FAILURES_BY_CLIENT: Table<String, FailedLogins> =
    Table::new("login_failures_by_client");
/// `(phone-number blind index, client)` → wrong passwords for the number
/// from that client, and that client's lock on it.
pub(crate) const LOGIN_FAILURES_BY_PAIR: Table<(String, String), FailedLogins> =
    Table::new("login_failures_by_pair");
/// phone-number blind index (hex) → the last one-time code sent to the
/// number and when messages went to it ([`super::phone_codes`]).
pub(crate) const PHONE_CODES: Table<String, PhoneCode> = Table::new("phone_codes");
/// client (address) → when it asked for SMS messages in the last hour.
pub(crate) const SMS_SENDS_BY_CLIENT: Table<String, ClientSends> =
    Table::new("sms_sends_by_client");
/// session id (`jti`) → session record (citizen, expiry).
pub(crate) const SESSIONS: Table<String, SessionRecord> = Table::new("sessions");
/// `(app_id, openid)` → `citizen_id`: the openids handed out.
pub(crate) const OPENIDS: Table<(String, String), String> = Table::new("openids");
/// `(citizen_id, app_id, scope name)` → the citizen's grant ([`Grant`]).
pub(crate) const GRANTS: Table<(String, String, String), Grant> = Table::new("grants");
/// identity-number blind index (hex) → `citizen_id` of the account
/// verified with it (one account per identity).
pub(crate) const ID_INDEX: Table<String, String> = Table::new("id_index");
/// identity-number blind index (hex) → population record (name sealed):
/// the host's own identity authority.
pub(crate) const POPULATION: Table<String, PopulationRecord> = Table::new("population");
/// `citizen_id` → real-name mismatches in the current window
/// ([`super::verify_throttle`]).
pub(crate) const VERIFY_FAILURES: Table<String, Mismatches> = Table::new("verify_failures");
/// identity-number blind index (hex) → real-name mismatches on the number
/// from any accounts, and the delay before its next check.
pub(crate) const VERIFY_FAILURES_BY_NUMBER: Table<String, Mismatches> =
    Table::new("verify_failures_by_number");
/// client (address) → real-name mismatches from it in the current window.
pub(crate) const VERIFY_FAILURES_BY_CLIENT: Table<String, Mismatches> =
    Table::new("verify_failures_by_client");
/// appeal id → an appeal to move a verified identity to the account of
/// the person it belongs to ([`super::appeals`]).
pub(crate) const APPEALS: Table<String, Appeal> = Table::new("identity_appeals");

/// `"fingerprint"` → the fingerprint of the host keys the store was first
/// written with ([`super::keys::HostKeys::check_store`]).
pub(crate) const HOST_KEYS: Table<String, String> = Table::new("host_keys");
