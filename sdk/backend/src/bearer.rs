//! A backend's own bearer token for the routes only its department's staff
//! may call (drawing a lottery, adding a clinic slot, moving a release):
//! 32 random bytes, hex, kept in a file of the data directory that only
//! its owner may read, made on first start and read on every later one.

use std::path::Path;

use anyhow::Context;
use axum::http::{HeaderMap, header};

/// Shortest token accepted from an existing file: 32 characters.
pub const MIN_TOKEN_CHARS: usize = 32;

/// The staff's bearer token.
pub struct BearerToken(String);

impl BearerToken {
    /// The token in `{dir}/{file}`, made (32 random bytes from the
    /// operating system, hex; mode 0600 on Unix) when the file does not
    /// exist. Errors: the file cannot be read or written, or holds fewer
    /// than [`MIN_TOKEN_CHARS`] characters (it is never replaced: someone
    /// may hold it).
    pub fn load_or_create(dir: &Path, file: &str) -> anyhow::Result<BearerToken> {
        let path = dir.join(file);
        let token = if path.exists() {
            std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?
                .trim()
                .to_string()
        } else {
            let mut bytes = [0u8; 32];
            getrandom::getrandom(&mut bytes)
                .map_err(|e| anyhow::anyhow!("random bytes for {}: {e}", path.display()))?;
            let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            write_private(&path, &token).with_context(|| format!("writing {}", path.display()))?;
            token
        };
        anyhow::ensure!(
            token.chars().count() >= MIN_TOKEN_CHARS,
            "{} holds too short a token (fewer than {MIN_TOKEN_CHARS} characters)",
            path.display()
        );
        Ok(BearerToken(token))
    }

    /// Whether `headers` carry `Authorization: Bearer {token}`, compared
    /// in constant time (the answer's timing says nothing of the token).
    pub fn admits(&self, headers: &HeaderMap) -> bool {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        given.len() == self.0.len()
            && given
                .bytes()
                .zip(self.0.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    /// The token itself (for a test, or to print once).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn bearer(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn made_once_kept_private_and_checked_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let token = BearerToken::load_or_create(dir.path(), "staff-token").unwrap();
        assert_eq!(token.as_str().len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("staff-token"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = BearerToken::load_or_create(dir.path(), "staff-token").unwrap();
        assert_eq!(again.as_str(), token.as_str());
        assert!(token.admits(&bearer(&format!("Bearer {}", token.as_str()))));
        let mut wrong = token.as_str().to_string();
        wrong.replace_range(..1, if wrong.starts_with('0') { "1" } else { "0" });
        for value in [
            format!("Bearer {wrong}"),
            token.as_str().to_string(),
            "Bearer ".into(),
        ] {
            assert!(!token.admits(&bearer(&value)), "{value}");
        }
        assert!(!token.admits(&HeaderMap::new()));
    }

    #[test]
    fn a_short_token_file_is_refused_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("office-token"), "short\n").unwrap();
        let error = BearerToken::load_or_create(dir.path(), "office-token")
            .err()
            .unwrap();
        assert!(error.to_string().contains("too short"), "{error}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("office-token")).unwrap(),
            "short\n"
        );
    }
}
