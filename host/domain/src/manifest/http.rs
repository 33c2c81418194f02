//! `[http]`: the origins a mini-app may call (its department's own
//! systems) and the limits of those calls.
//!
//! ```toml
//! [http]
//! allow = ["https://billing.hzwater.example:8443"]
//! calls-per-request = 4
//! timeout-ms = 800
//! ```
//!
//! An entry is an origin in the sense of RFC 6454: scheme (`http` or
//! `https`), host and port, nothing else. [`Origin::parse`] normalises it
//! (lower case, IDNA to its ASCII form per UTS #46 through the WHATWG URL
//! parser, the scheme's default port, no trailing slash or dot), so two
//! spellings of one origin are one entry. Every outbound request of the app
//! (the `http` capability and a standard component's
//! `wasi:http/outgoing-handler` alike) must be to one of them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Most origins one manifest may list.
pub const MAX_ORIGINS: usize = 16;
/// Outbound calls per request: default.
pub const DEFAULT_CALLS_PER_REQUEST: u32 = 8;
/// Outbound calls per request: the host's cap.
pub const MAX_CALLS_PER_REQUEST: u32 = 32;
/// Timeout of one call, ms: default and cap. A call never outlives the
/// request's own deadline either.
pub const MAX_CALL_TIMEOUT_MS: u64 = 1_000;
/// Request body of one call, KiB: default.
pub const DEFAULT_REQUEST_KIB: u32 = 256;
/// Request body of one call, KiB: the host's cap (1 MiB).
pub const MAX_REQUEST_KIB: u32 = 1_024;
/// Response body of one call, KiB: default (1 MiB).
pub const DEFAULT_RESPONSE_KIB: u32 = 1_024;
/// Response body of one call, KiB: the host's cap (4 MiB).
pub const MAX_RESPONSE_KIB: u32 = 4_096;
/// Calls of one app in flight at once, across all its requests: default.
pub const DEFAULT_CONCURRENT: u32 = 16;
/// Calls of one app in flight at once: the host's cap.
pub const MAX_CONCURRENT: u32 = 64;

/// The `[http]` section. Every limit is optional: absent, the default;
/// above the host's cap, an error naming the field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HttpSection {
    /// Origins the app may call, e.g. `https://billing.hzwater.example:8443`
    /// (at most [`MAX_ORIGINS`]).
    #[serde(default)]
    pub allow: Vec<String>,
    /// Calls per request (default [`DEFAULT_CALLS_PER_REQUEST`], at most
    /// [`MAX_CALLS_PER_REQUEST`]).
    pub calls_per_request: Option<u32>,
    /// Timeout of one call, ms (default and cap [`MAX_CALL_TIMEOUT_MS`]).
    pub timeout_ms: Option<u64>,
    /// Request body of one call, KiB (default [`DEFAULT_REQUEST_KIB`], at
    /// most [`MAX_REQUEST_KIB`]).
    pub max_request_kib: Option<u32>,
    /// Response body of one call, KiB (default [`DEFAULT_RESPONSE_KIB`], at
    /// most [`MAX_RESPONSE_KIB`]).
    pub max_response_kib: Option<u32>,
    /// Calls of the app in flight at once (default [`DEFAULT_CONCURRENT`],
    /// at most [`MAX_CONCURRENT`]).
    pub concurrent: Option<u32>,
}

/// The `[http]` section checked: its origins normalised and every limit
/// resolved to its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpPolicy {
    /// The allowed origins, normalised, without duplicates.
    pub allow: Vec<Origin>,
    /// Calls per request.
    pub calls_per_request: u32,
    /// Timeout of one call.
    pub timeout: std::time::Duration,
    /// Request body of one call, bytes.
    pub max_request_bytes: usize,
    /// Response body of one call, bytes.
    pub max_response_bytes: usize,
    /// Calls of the app in flight at once.
    pub concurrent: u32,
}

impl HttpPolicy {
    /// Whether `origin` is one the app may call.
    pub fn allows(&self, origin: &Origin) -> bool {
        self.allow.contains(origin)
    }
}

impl HttpSection {
    /// Checks the section and resolves its limits. Errors: `(field,
    /// reason)`, the field as written in the manifest, e.g.
    /// `http.allow[2]` or `http.timeout-ms`.
    pub fn policy(&self) -> Result<HttpPolicy, (String, String)> {
        if self.allow.len() > MAX_ORIGINS {
            return Err((
                "http.allow".into(),
                format!("list at most {MAX_ORIGINS} origins"),
            ));
        }
        let mut allow = Vec::with_capacity(self.allow.len());
        for (i, entry) in self.allow.iter().enumerate() {
            let origin = Origin::parse(entry).map_err(|e| (format!("http.allow[{i}]"), e))?;
            if !allow.contains(&origin) {
                allow.push(origin);
            }
        }
        fn within<T: PartialOrd + fmt::Display + Copy>(
            value: Option<T>,
            default: T,
            min: T,
            max: T,
            field: &str,
        ) -> Result<T, (String, String)> {
            match value {
                None => Ok(default),
                Some(v) if v >= min && v <= max => Ok(v),
                Some(_) => Err((
                    format!("http.{field}"),
                    format!("use a value from {min} to {max}"),
                )),
            }
        }
        Ok(HttpPolicy {
            allow,
            calls_per_request: within(
                self.calls_per_request,
                DEFAULT_CALLS_PER_REQUEST,
                1,
                MAX_CALLS_PER_REQUEST,
                "calls-per-request",
            )?,
            timeout: std::time::Duration::from_millis(within(
                self.timeout_ms,
                MAX_CALL_TIMEOUT_MS,
                1,
                MAX_CALL_TIMEOUT_MS,
                "timeout-ms",
            )?),
            max_request_bytes: within(
                self.max_request_kib,
                DEFAULT_REQUEST_KIB,
                1,
                MAX_REQUEST_KIB,
                "max-request-kib",
            )? as usize
                * 1024,
            max_response_bytes: within(
                self.max_response_kib,
                DEFAULT_RESPONSE_KIB,
                1,
                MAX_RESPONSE_KIB,
                "max-response-kib",
            )? as usize
                * 1024,
            concurrent: within(
                self.concurrent,
                DEFAULT_CONCURRENT,
                1,
                MAX_CONCURRENT,
                "concurrent",
            )?,
        })
    }
}

/// The scheme of an [`Origin`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// Plain HTTP (default port 80).
    Http,
    /// HTTP over TLS (default port 443).
    Https,
}

impl Scheme {
    /// The scheme's default port.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// An origin (RFC 6454): scheme, host and port, normalised. Its text form
/// ([`fmt::Display`]) leaves out the scheme's default port:
/// `https://billing.hzwater.example:8443`, `http://127.0.0.1:9000`,
/// `https://xn--fiqs8s.example`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin {
    /// The scheme.
    pub scheme: Scheme,
    /// The host in ASCII, lower case: a DNS name (IDNA applied, no trailing
    /// dot), an IPv4 address, or an IPv6 address in brackets.
    pub host: String,
    /// The port (the scheme's default when none was written).
    pub port: u16,
}

impl Origin {
    /// Parses and normalises an origin as written in a manifest or given
    /// by an operator: `scheme://host[:port]`, optionally with one trailing
    /// `/`. Errors: what is wrong (a path, query, fragment or credentials;
    /// another scheme; a wildcard; no host), in a sentence.
    pub fn parse(text: &str) -> Result<Origin, String> {
        let text = text.trim();
        if text.contains('*') {
            return Err(format!(
                "`{text}`: wildcards are not allowed; list each origin"
            ));
        }
        let url = url::Url::parse(text)
            .map_err(|e| format!("`{text}` is not an origin such as https://host:port ({e})"))?;
        let origin = Origin::of_url(&url).map_err(|e| format!("`{text}`: {e}"))?;
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "`{text}`: an origin has no path, query or fragment; write scheme://host[:port]"
            ));
        }
        Ok(origin)
    }

    /// The origin of a request URL (any path and query). Errors: another
    /// scheme, credentials in the URL, no host.
    pub fn of_url(url: &url::Url) -> Result<Origin, String> {
        let scheme = match url.scheme() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            other => {
                return Err(format!(
                    "scheme `{other}` is not allowed; use http or https"
                ));
            }
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err("credentials in the URL are not allowed; send them in a header".into());
        }
        let host = match url.host() {
            Some(url::Host::Domain(name)) => {
                let name = name.strip_suffix('.').unwrap_or(name);
                if name.is_empty() {
                    return Err("the host is empty".into());
                }
                check_host_name(name)?;
                name.to_ascii_lowercase()
            }
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
            None => return Err("the URL has no host".into()),
        };
        let port = url.port().unwrap_or_else(|| scheme.default_port());
        if port == 0 {
            return Err("port 0 is not a port a system listens on".into());
        }
        Ok(Origin { scheme, host, port })
    }

    /// The host without IPv6 brackets, for resolving and for TLS's server
    /// name.
    pub fn bare_host(&self) -> &str {
        self.host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(&self.host)
    }
}

impl Origin {
    /// `host[:port]`, the port left out when it is the scheme's default:
    /// what an HTTP request's `host` header says.
    pub fn authority(&self) -> String {
        if self.port == self.scheme.default_port() {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme.as_str(), self.authority())
    }
}

/// Checks a DNS host name (already in ASCII, IDNA applied): at most 253
/// bytes, labels of 1-63 letters, digits, `-` or `_` (RFC 1035 §2.3.4,
/// with the underscore some internal names use), not starting or ending
/// with `-`.
fn check_host_name(name: &str) -> Result<(), String> {
    if name.len() > 253 {
        return Err("the host name is longer than 253 characters".into());
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(format!("`{name}` has an empty label (`..`)"));
        }
        if label.len() > 63 {
            return Err(format!("`{name}` has a label longer than 63 characters"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("`{name}`: a label cannot start or end with `-`"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(format!(
                "`{name}`: a host name has only letters, digits, `-` and `_`"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(text: &str) -> String {
        Origin::parse(text).unwrap().to_string()
    }

    #[test]
    fn spellings_of_one_origin_are_one_origin() {
        assert_eq!(
            norm("HTTPS://Billing.HZWater.Example:443/"),
            "https://billing.hzwater.example"
        );
        assert_eq!(
            norm("https://billing.hzwater.example:8443"),
            "https://billing.hzwater.example:8443"
        );
        assert_eq!(norm("http://billing.example.:80"), "http://billing.example");
        assert_eq!(norm("https://水务.example"), "https://xn--zfrz80d.example");
        assert_eq!(norm("http://127.0.0.1:9000/"), "http://127.0.0.1:9000");
        assert_eq!(norm("http://[::1]:9000"), "http://[::1]:9000");
        assert_eq!(
            Origin::parse("http://[::1]:9000").unwrap().bare_host(),
            "::1"
        );
    }

    #[test]
    fn anything_but_an_origin_is_refused_saying_why() {
        for (text, why) in [
            ("https://billing.example/api", "no path"),
            ("https://billing.example?x=1", "no path"),
            ("https://billing.example/#f", "no path"),
            ("ftp://billing.example", "scheme `ftp`"),
            ("https://user:pw@billing.example", "credentials"),
            ("https://*.example", "wildcards"),
            ("billing.example", "not an origin"),
            ("file:///etc/passwd", "scheme `file`"),
            ("https://a.example:0", "port 0"),
            ("https://example..com", "empty label"),
            ("https://-bad.example", "start or end with `-`"),
        ] {
            let e = Origin::parse(text).unwrap_err();
            assert!(e.contains(why), "{text}: {e}");
        }
    }

    #[test]
    fn the_section_names_the_bad_entry_and_the_limit_out_of_range() {
        let section = HttpSection {
            allow: vec!["https://a.example".into(), "https://b.example/x".into()],
            ..Default::default()
        };
        assert_eq!(section.policy().unwrap_err().0, "http.allow[1]");
        let section = HttpSection {
            timeout_ms: Some(5_000),
            ..Default::default()
        };
        assert_eq!(section.policy().unwrap_err().0, "http.timeout-ms");
        let section = HttpSection {
            allow: vec!["https://A.example".into(), "https://a.example:443/".into()],
            calls_per_request: Some(2),
            ..Default::default()
        };
        let policy = section.policy().unwrap();
        assert_eq!(policy.allow.len(), 1);
        assert_eq!(policy.calls_per_request, 2);
        assert_eq!(policy.max_response_bytes, 1 << 20);
    }
}
