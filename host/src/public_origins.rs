//! The origins the host's own pages are served from: the only origins whose
//! browser requests may change state (`http::csrf`).
//!
//! A request's `Host` header is not evidence of the host's origin: a page
//! at `http://evil.example` whose name an attacker re-points to the host
//! (DNS rebinding) sends `Host: evil.example` and `Origin:
//! http://evil.example`, which agree. So the origins are configured, never
//! read from the request: the public URL's origin (`--public-url`), every
//! `--public-origin`, and, when the public URL names the local machine
//! (`localhost`, a loopback or unspecified address such as the default
//! `http://0.0.0.0:8080` of `--bind 0.0.0.0:8080`), the loopback names with
//! the same scheme and port (`localhost`, `127.0.0.1`, `[::1]`), so the
//! demo opens under any of them.

use axum::http::Uri;

/// The accepted origins, each `scheme://host[:port]` in lowercase (RFC 6454
/// §6.1 serialisation: no path, no trailing slash, no default port).
#[derive(Debug, Clone, Default)]
pub struct PublicOrigins(Vec<String>);

/// Names of the local machine: a public URL naming one of them gets all
/// of them.
const LOCAL_HOSTS: [&str; 5] = ["localhost", "127.0.0.1", "[::1]", "0.0.0.0", "[::]"];

/// Loopback names a local public URL adds (the unspecified addresses are
/// bind addresses, never what a browser opens).
const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

impl PublicOrigins {
    /// The origins of `public_url` and of each of `extra`. Errors: a URL
    /// that is not `http://` or `https://` with a host, naming the setting
    /// (`public-url` or `public-origin`).
    pub fn new(public_url: &str, extra: &[String]) -> Result<Self, String> {
        let (scheme, host, port) =
            parts(public_url).map_err(|e| format!("public-url `{public_url}`: {e}"))?;
        let mut origins = vec![serialise(&scheme, &host, port)];
        if LOCAL_HOSTS.contains(&host.as_str()) {
            origins.extend(
                LOOPBACK_HOSTS
                    .iter()
                    .map(|local| serialise(&scheme, local, port)),
            );
        }
        for origin in extra {
            let (scheme, host, port) =
                parts(origin).map_err(|e| format!("public-origin `{origin}`: {e}"))?;
            origins.push(serialise(&scheme, &host, port));
        }
        origins.sort();
        origins.dedup();
        Ok(Self(origins))
    }

    /// Whether `origin` (an `Origin` header's value, any case) is one of
    /// them.
    pub fn contains(&self, origin: &str) -> bool {
        let origin = origin.to_ascii_lowercase();
        self.0.contains(&origin)
    }

    /// The origins, sorted.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

/// Scheme, host and explicit non-default port of an http(s) URL.
fn parts(url: &str) -> Result<(String, String, Option<u16>), &'static str> {
    let uri: Uri = url.parse().map_err(|_| "not a URL")?;
    let scheme = uri.scheme_str().ok_or("no scheme")?.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return Err("the scheme must be http or https"),
    };
    let authority = uri.authority().ok_or("no host")?;
    if authority.as_str().contains('@') {
        return Err("an origin has no user information");
    }
    let host = authority.host().to_ascii_lowercase();
    if host.is_empty() {
        return Err("no host");
    }
    let port = authority.port_u16().filter(|p| *p != default_port);
    Ok((scheme, host, port))
}

fn serialise(scheme: &str, host: &str, port: Option<u16>) -> String {
    match port {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    }
}

#[cfg(test)]
mod tests {
    use super::PublicOrigins;

    #[test]
    fn a_public_url_gives_its_origin_only() {
        let o = PublicOrigins::new("https://City.Example.cn:443/host/", &[]).unwrap();
        assert_eq!(o.as_slice(), ["https://city.example.cn"]);
        assert!(o.contains("HTTPS://city.example.cn"));
        assert!(!o.contains("http://city.example.cn"));
        assert!(!o.contains("https://city.example.cn:8443"));
    }

    #[test]
    fn a_local_public_url_gives_the_loopback_names_on_its_port() {
        let o = PublicOrigins::new("http://0.0.0.0:8080", &[]).unwrap();
        for ok in [
            "http://localhost:8080",
            "http://127.0.0.1:8080",
            "http://[::1]:8080",
        ] {
            assert!(o.contains(ok), "{ok}");
        }
        assert!(!o.contains("http://localhost:9090"));
        assert!(!o.contains("http://evil.example:8080"));
    }

    #[test]
    fn extra_origins_are_added_and_bad_ones_named() {
        let o = PublicOrigins::new("http://127.0.0.1:8080", &["https://gov.example.cn/".into()])
            .unwrap();
        assert!(o.contains("https://gov.example.cn"));
        let e = PublicOrigins::new("http://127.0.0.1:8080", &["ftp://x".into()]).unwrap_err();
        assert!(e.starts_with("public-origin"), "{e}");
        let e = PublicOrigins::new("city.example.cn", &[]).unwrap_err();
        assert!(e.starts_with("public-url"), "{e}");
    }
}
