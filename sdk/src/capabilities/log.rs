//! `cityhost:miniapp/log`: structured log lines, tagged by the host with the
//! app and request id. Permission `log`.
//!
//! The level helpers ([`info`] and friends) ignore failures: a log line
//! must not fail a request. Use [`write()`] to see them (after 100 lines in
//! one request the host answers `quota-exceeded("log-lines")`).

use crate::bindings::cityhost::miniapp::log as wit;
use crate::error::Result;

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Very detailed tracing.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal operation.
    Info,
    /// Something unexpected that the app handled.
    Warn,
    /// Something failed.
    Error,
}

/// Writes one line with key-value `fields`.
pub fn write(level: Level, message: &str, fields: &[(&str, &str)]) -> Result<()> {
    let level = match level {
        Level::Trace => wit::Level::Trace,
        Level::Debug => wit::Level::Debug,
        Level::Info => wit::Level::Info,
        Level::Warn => wit::Level::Warn,
        Level::Error => wit::Level::Error,
    };
    let fields: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    Ok(wit::write(level, message, &fields)?)
}

/// Writes a `trace` line, ignoring failures.
pub fn trace(message: &str) {
    let _ = write(Level::Trace, message, &[]);
}

/// Writes a `debug` line, ignoring failures.
pub fn debug(message: &str) {
    let _ = write(Level::Debug, message, &[]);
}

/// Writes an `info` line, ignoring failures.
pub fn info(message: &str) {
    let _ = write(Level::Info, message, &[]);
}

/// Writes a `warn` line, ignoring failures.
pub fn warn(message: &str) {
    let _ = write(Level::Warn, message, &[]);
}

/// Writes an `error` line, ignoring failures.
pub fn error(message: &str) {
    let _ = write(Level::Error, message, &[]);
}
