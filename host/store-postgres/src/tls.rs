//! TLS to PostgreSQL, set in the connection URL with libpq's names:
//! `sslmode` and `sslrootcert`, over rustls (ring).
//!
//! | `sslmode` | connection |
//! | --- | --- |
//! | absent, `disable` | plain TCP or Unix socket (as before TLS was supported) |
//! | `prefer` | TLS if the server offers it, plain otherwise |
//! | `require`, `verify-ca`, `verify-full` | TLS or no connection |
//!
//! Whenever TLS is used, the server's certificate chain is verified against
//! `sslrootcert` (a PEM file of CA certificates) or, without it, the
//! system's roots, and its name against the host in the URL. libpq checks
//! nothing under `prefer` and `require`; CityHost always checks, so a
//! server with a self-signed certificate needs its CA in `sslrootcert`.
//! tokio-postgres knows neither `sslrootcert` nor the `verify-*` modes, so
//! they are taken out of the URL before it is parsed ([`split`]).

use std::path::PathBuf;
use std::sync::Arc;

use cityhost_store::StoreError;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// What the URL asks of TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsSettings {
    /// `sslmode` as tokio-postgres takes it (`verify-*` become `Require`).
    pub(crate) mode: SslMode,
    /// `sslrootcert`: the CA certificates to trust instead of the system's.
    pub(crate) root_cert: Option<PathBuf>,
}

/// Takes `sslmode` and `sslrootcert` out of `url` (URL form
/// `postgres://…?sslmode=…&sslrootcert=…` or libpq's `key=value` form) and
/// returns the rest for tokio-postgres with the settings. Errors
/// ([`StoreError::Backend`]): an `sslmode` libpq does not know (`allow`
/// is refused: it would fall back to plain TCP after a failed TLS try).
pub(crate) fn split(url: &str) -> Result<(String, TlsSettings), StoreError> {
    let (rest, mode, root_cert) =
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            split_url(url)
        } else {
            split_key_values(url)
        };
    let mode = match mode.as_deref() {
        None | Some("disable") => SslMode::Disable,
        Some("prefer") => SslMode::Prefer,
        Some("require" | "verify-ca" | "verify-full") => SslMode::Require,
        Some(other) => {
            return Err(StoreError::Backend(format!(
                "the PostgreSQL URL's sslmode `{other}` is not one of disable, prefer, require, \
                 verify-ca, verify-full"
            )));
        }
    };
    let root_cert = root_cert.filter(|p| !p.is_empty()).map(PathBuf::from);
    Ok((rest, TlsSettings { mode, root_cert }))
}

/// [`split`] for the URL form: the two parameters leave the query string,
/// every other parameter stays as written.
fn split_url(url: &str) -> (String, Option<String>, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), None, None);
    };
    let (mut mode, mut root_cert, mut kept) = (None, None, Vec::new());
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decoded = || {
            form_urlencoded::parse(format!("v={value}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        match key {
            "sslmode" => mode = Some(decoded()),
            "sslrootcert" => root_cert = Some(decoded()),
            _ => kept.push(pair),
        }
    }
    let rest = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (rest, mode, root_cert)
}

/// [`split`] for libpq's `key=value` form (values may be single-quoted,
/// with `\'` and `\\` escapes inside).
fn split_key_values(text: &str) -> (String, Option<String>, Option<String>) {
    let (mut mode, mut root_cert, mut kept) = (None, None, Vec::new());
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut raw = String::new();
        let mut key = String::new();
        while let Some(c) = chars.next_if(|&c| c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        if key.is_empty() && chars.peek().is_none() {
            break;
        }
        raw.push_str(&key);
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'=').is_some() {
            raw.push('=');
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            if chars.next_if_eq(&'\'').is_some() {
                raw.push('\'');
                while let Some(c) = chars.next() {
                    raw.push(c);
                    match c {
                        '\'' => break,
                        '\\' => {
                            if let Some(escaped) = chars.next() {
                                raw.push(escaped);
                                value.push(escaped);
                            }
                        }
                        c => value.push(c),
                    }
                }
            } else {
                while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                    raw.push(c);
                    value.push(c);
                }
            }
        }
        match key.as_str() {
            "sslmode" => mode = Some(value),
            "sslrootcert" => root_cert = Some(value),
            _ => kept.push(raw),
        }
    }
    (kept.join(" "), mode, root_cert)
}

impl TlsSettings {
    /// The connector every connection of the backend uses: rustls trusting
    /// `sslrootcert`, or the system's roots without it (it is used only
    /// when [`TlsSettings::mode`] asks for TLS). Errors: the root
    /// certificate file cannot be read or holds no usable certificate.
    pub(crate) fn connector(&self) -> Result<MakeRustlsConnect, StoreError> {
        let mut roots = RootCertStore::empty();
        match &self.root_cert {
            Some(path) => {
                let shown = path.display();
                let certs = CertificateDer::pem_file_iter(path)
                    .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| {
                        StoreError::Backend(format!(
                            "sslrootcert {shown}: not readable as PEM: {e}"
                        ))
                    })?;
                let (added, _) = roots.add_parsable_certificates(certs);
                if added == 0 {
                    return Err(StoreError::Backend(format!(
                        "sslrootcert {shown}: no usable CA certificate in it"
                    )));
                }
            }
            None if self.mode != SslMode::Disable => {
                let native = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(native.certs);
            }
            None => {}
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| StoreError::Backend(format!("TLS to PostgreSQL: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(MakeRustlsConnect::new(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> (String, SslMode, Option<PathBuf>) {
        let (rest, s) = split(url).unwrap();
        (rest, s.mode, s.root_cert)
    }

    #[test]
    fn the_url_form_loses_only_the_tls_parameters() {
        assert_eq!(
            settings(
                "postgres://u:p@db:5432/x?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=a"
            ),
            (
                "postgres://u:p@db:5432/x?application_name=a".into(),
                SslMode::Require,
                Some("/etc/ca.pem".into())
            )
        );
        assert_eq!(
            settings("postgres://db/x"),
            ("postgres://db/x".into(), SslMode::Disable, None)
        );
        assert_eq!(
            settings("postgresql://db/x?sslmode=prefer").1,
            SslMode::Prefer
        );
    }

    #[test]
    fn the_key_value_form_loses_only_the_tls_parameters() {
        assert_eq!(
            settings(
                "host=db user=u sslmode = require sslrootcert='/a b/c\\'s.pem' password='x y'"
            ),
            (
                "host=db user=u password='x y'".into(),
                SslMode::Require,
                Some("/a b/c's.pem".into())
            )
        );
        assert_eq!(
            settings("host=/run/pg dbname=x"),
            ("host=/run/pg dbname=x".into(), SslMode::Disable, None)
        );
    }

    #[test]
    fn an_unknown_sslmode_is_refused() {
        for url in ["postgres://db/x?sslmode=allow", "host=db sslmode=always"] {
            let e = split(url).unwrap_err().to_string();
            assert!(e.contains("sslmode"), "{e}");
        }
    }

    #[test]
    fn a_root_cert_file_that_is_missing_or_empty_is_an_error() {
        let dir = std::env::temp_dir().join(format!("cityhost-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        for path in [dir.join("missing.pem"), empty] {
            let s = TlsSettings {
                mode: SslMode::Require,
                root_cert: Some(path.clone()),
            };
            let e = s.connector().err().expect("an error").to_string();
            assert!(e.contains("sslrootcert"), "{e}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
