//! Reaching an allowed origin: the host resolves its name, checks every
//! address it got ([`super::address`]), connects to a checked address
//! (so a second DNS answer cannot move the connection elsewhere) and, for
//! `https`, speaks TLS with rustls, verifying the server's certificate for
//! the origin's host against the system's roots (and any extra roots the
//! operator configured).

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

use super::address::is_public;
use super::{LocalOrigin, OutboundError};
use crate::manifest::http::{Origin, Scheme};

/// A connected stream, plain or TLS.
pub(super) trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// Connects to origins: holds the TLS client configuration.
pub(super) struct Connector {
    tls: TlsConnector,
}

impl Connector {
    /// A connector trusting the system's roots (`rustls-native-certs`) and
    /// the PEM certificates in `extra_roots`. Errors: an unreadable or
    /// empty extra-roots file. A system without roots is logged, not an
    /// error (only `https` calls fail then).
    pub(super) fn new(extra_roots: &[std::path::PathBuf]) -> anyhow::Result<Self> {
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        for e in &native.errors {
            tracing::warn!(error = %e, "a system root certificate could not be read");
        }
        let (added, _ignored) = roots.add_parsable_certificates(native.certs);
        if added == 0 {
            tracing::warn!("no system root certificates: outbound https calls will fail");
        }
        for path in extra_roots {
            for cert in read_pem(path)? {
                roots.add(cert).map_err(|e| {
                    anyhow::anyhow!("{}: not a usable CA certificate: {e}", path.display())
                })?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self {
            tls: TlsConnector::from(Arc::new(config)),
        })
    }

    /// Resolves `origin`'s host (or takes the address the operator pinned
    /// for it), refuses it if any address is not public (unless the
    /// operator allowed it for local use, `local`), connects to the first
    /// address that answers and wraps the stream in TLS for `https`.
    /// Errors: [`OutboundError::PrivateAddress`],
    /// [`OutboundError::Unreachable`].
    pub(super) async fn connect(
        &self,
        origin: &Origin,
        local: Option<&LocalOrigin>,
    ) -> Result<Box<dyn Stream>, OutboundError> {
        let addresses = match local.and_then(|l| l.address) {
            Some(address) => vec![address],
            None => resolve(origin).await?,
        };
        if local.is_none()
            && let Some(ip) = addresses.iter().find(|a| !is_public(a.ip()))
        {
            return Err(OutboundError::PrivateAddress {
                origin: origin.to_string(),
                address: ip.ip(),
            });
        }
        let mut last = None;
        let mut tcp = None;
        for address in &addresses {
            match TcpStream::connect(address).await {
                Ok(stream) => {
                    tcp = Some(stream);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let Some(tcp) = tcp else {
            let why = last.map_or("no address".to_string(), |e| e.to_string());
            return Err(OutboundError::Unreachable(format!(
                "connect to {origin}: {why}"
            )));
        };
        let _ = tcp.set_nodelay(true);
        match origin.scheme {
            Scheme::Http => Ok(Box::new(tcp)),
            Scheme::Https => {
                let name = ServerName::try_from(origin.bare_host().to_string()).map_err(|e| {
                    OutboundError::Unreachable(format!("{origin}: not a TLS server name: {e}"))
                })?;
                let tls =
                    self.tls.connect(name, tcp).await.map_err(|e| {
                        OutboundError::Unreachable(format!("TLS with {origin}: {e}"))
                    })?;
                Ok(Box::new(tls))
            }
        }
    }
}

/// The addresses of `origin`: its IP literal, or its name resolved by the
/// system resolver.
async fn resolve(origin: &Origin) -> Result<Vec<SocketAddr>, OutboundError> {
    let host = origin.bare_host();
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, origin.port)]);
    }
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, origin.port))
        .await
        .map_err(|e| OutboundError::Unreachable(format!("resolve {host}: {e}")))?
        .collect();
    if addresses.is_empty() {
        return Err(OutboundError::Unreachable(format!(
            "resolve {host}: no address"
        )));
    }
    Ok(addresses)
}

/// The certificates of a PEM file. Errors: unreadable, malformed, none.
fn read_pem(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    use rustls::pki_types::pem::PemObject;
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        anyhow::bail!("{}: no PEM certificate in it", path.display());
    }
    Ok(certs)
}
