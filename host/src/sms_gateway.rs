//! The client of the operator's SMS gateway over HTTP, an [`SmsChannel`]
//! the host configures with `--sms-gateway` (the messages it carries:
//! `identity::phone_codes`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{ServiceError, ServiceResult};
use crate::sms::{SendFuture, SmsChannel, SmsError, SmsMessage};

/// How long the host waits for the gateway.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(5);

/// Body the host POSTs to the gateway for each message.
#[derive(Debug, Serialize, Deserialize)]
pub struct GatewayRequest {
    /// Mainland mobile number, 11 digits.
    pub phone: String,
    /// The message's template (`register-code`, `register-notice`), for a
    /// gateway that maps it to its provider's approved template.
    pub template: String,
    /// The template's parameters (`code`).
    pub params: BTreeMap<String, String>,
    /// The whole text, rendered, signature (`【CityHost】`) included.
    pub text: String,
}

/// The operator's SMS gateway: `POST {url}` with a [`GatewayRequest`] (and
/// `Authorization: Bearer {token}` when a token is configured); any 2xx
/// answer means it took the message. Anything else (other status,
/// timeout after [`HTTP_TIMEOUT`], no connection) is an [`SmsError`]. The
/// URL is plain `http://`, like the identity authority's: the gateway sits
/// on the operator's network, which terminates TLS towards the provider.
pub struct SmsGateway {
    url: reqwest::Url,
    token: Option<String>,
    client: reqwest::Client,
}

impl SmsGateway {
    /// A client for `url`. Errors: a URL that is not
    /// `http://host[:port]/...` (`invalid-argument("sms-gateway")`).
    pub fn new(url: &str, token: Option<String>) -> ServiceResult<Self> {
        let url = reqwest::Url::parse(url)
            .map_err(|e| ServiceError::invalid("sms-gateway", format!("not a URL: {e}")))?;
        if url.scheme() != "http" || url.host_str().is_none() {
            return Err(ServiceError::invalid(
                "sms-gateway",
                "use an http:// URL on the operator's network",
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ServiceError::invalid("sms-gateway", e.to_string()))?;
        Ok(Self { url, token, client })
    }

    async fn post(&self, message: &SmsMessage) -> Result<(), SmsError> {
        let body = GatewayRequest {
            phone: message.phone.clone(),
            template: message.template.to_string(),
            params: message
                .params
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            text: message.text.clone(),
        };
        let mut request = self.client.post(self.url.clone()).json(&body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        // Only the error's kind: never the number or the code.
        let response = request.send().await.map_err(|e| {
            SmsError(if e.is_timeout() {
                "timed out".into()
            } else {
                "cannot connect".into()
            })
        })?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(SmsError(format!("answered {}", response.status())))
        }
    }
}

impl SmsChannel for SmsGateway {
    fn kind(&self) -> &'static str {
        "gateway"
    }

    fn send<'a>(&'a self, message: &'a SmsMessage) -> SendFuture<'a> {
        Box::pin(self.post(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateway_wants_an_http_url() {
        assert!(SmsGateway::new("http://10.0.0.5:9000/sms", None).is_ok());
        for bad in ["https://sms.example/send", "not a url", "file:///tmp/x"] {
            let e = SmsGateway::new(bad, None).err().unwrap();
            assert!(
                matches!(
                    e,
                    ServiceError::InvalidArgument {
                        field: "sms-gateway",
                        ..
                    }
                ),
                "{bad}"
            );
        }
    }
}
