//! The client of a remote identity authority over HTTP (the population
//! registry's verification service of a province), an
//! [`IdentityAuthority`] the host configures with `--identity-authority`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::ServiceResult;
use crate::identity::authority::{AuthorityError, CheckFuture, IdentityAuthority, Verdict};

/// How long the host waits for a remote authority.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(5);

/// Body the host POSTs to the authority.
#[derive(Debug, Serialize, Deserialize)]
pub struct AuthorityRequest {
    /// Full name, as validated.
    pub name: String,
    /// Resident identity number, 18 characters, upper-case `X`.
    pub id_number: String,
}

/// Body the authority answers with status 200.
#[derive(Debug, Serialize, Deserialize)]
pub struct AuthorityResponse {
    /// `match` or `mismatch`.
    pub result: Verdict,
}

/// A remote identity authority over HTTP: `POST {url}` with an
/// [`AuthorityRequest`] (and `Authorization: Bearer {token}` when a token
/// is configured); a 200 answer carries an [`AuthorityResponse`]. Anything
/// else (other status, malformed body, timeout after [`HTTP_TIMEOUT`]) is
/// [`AuthorityError::Unavailable`]. The URL is plain `http://`: the host
/// carries no TLS stack, so a remote authority is reached through the
/// government network's gateway, which terminates TLS.
pub struct HttpAuthority {
    url: reqwest::Url,
    token: Option<String>,
    client: reqwest::Client,
}

impl HttpAuthority {
    /// A client for `url`. Errors: a URL that is not `http://host[:port]/...`
    /// (`invalid-argument("identity-authority")`).
    pub fn new(url: &str, token: Option<String>) -> ServiceResult<Self> {
        use crate::error::ServiceError;
        let url = reqwest::Url::parse(url)
            .map_err(|e| ServiceError::invalid("identity-authority", format!("not a URL: {e}")))?;
        if url.scheme() != "http" || url.host_str().is_none() {
            return Err(ServiceError::invalid(
                "identity-authority",
                "use an http:// URL (TLS is terminated by the government network's gateway)",
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ServiceError::invalid("identity-authority", e.to_string()))?;
        Ok(Self { url, token, client })
    }

    async fn ask(&self, name: &str, id_number: &str) -> Result<Verdict, AuthorityError> {
        let mut request = self.client.post(self.url.clone()).json(&AuthorityRequest {
            name: name.to_string(),
            id_number: id_number.to_string(),
        });
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        // reqwest's errors may quote the URL but never the body; keep only
        // their kind to be sure.
        let response = request.send().await.map_err(|e| {
            AuthorityError::Unavailable(if e.is_timeout() {
                "timed out".into()
            } else {
                "cannot connect".into()
            })
        })?;
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            return Err(AuthorityError::Unavailable(format!("answered {status}")));
        }
        let body: AuthorityResponse = response
            .json()
            .await
            .map_err(|_| AuthorityError::Unavailable("answered a malformed body".into()))?;
        Ok(body.result)
    }
}

impl IdentityAuthority for HttpAuthority {
    fn kind(&self) -> &'static str {
        "http"
    }

    fn check<'a>(&'a self, name: &'a str, id_number: &'a str) -> CheckFuture<'a> {
        Box::pin(self.ask(name, id_number))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_authority_wants_an_http_url() {
        assert!(HttpAuthority::new("http://127.0.0.1:9/check", None).is_ok());
        assert!(HttpAuthority::new("https://authority.example/check", None).is_err());
        assert!(HttpAuthority::new("not a url", None).is_err());
    }
}
