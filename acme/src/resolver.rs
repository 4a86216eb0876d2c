//! The certificate resolver for TLS listeners: the current certificate,
//! swapped while running, and TLS-ALPN-01 answers.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use rustls::ServerConfig;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::challenges::Challenges;
use crate::error::Error;

/// The ALPN protocol of TLS-ALPN-01 (RFC 8737).
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// A rustls certificate resolver: answers a handshake offering
/// `acme-tls/1` with the TLS-ALPN-01 certificate of the name asked for,
/// and every other handshake with the current certificate.
///
/// The current certificate is replaced in place when a new one is issued:
/// handshakes from then on get the new one, connections already open keep
/// theirs and are not disturbed. Before the first certificate is there,
/// ordinary handshakes fail (the resolver has nothing to offer).
///
/// Get one from [`Acme::resolver`](crate::Acme::resolver), or a whole
/// configuration for conduit's `TlsAcceptor` from
/// [`Acme::server_config`](crate::Acme::server_config).
pub struct CertResolver {
    current: RwLock<Option<Arc<CertifiedKey>>>,
    challenges: Challenges,
}

impl CertResolver {
    pub(crate) fn new(challenges: Challenges) -> CertResolver {
        CertResolver {
            current: RwLock::new(None),
            challenges,
        }
    }

    /// Serves `key` to every handshake from now on.
    pub(crate) fn install(&self, key: Arc<CertifiedKey>) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(key);
    }

    /// Whether a certificate is being served.
    pub fn has_certificate(&self) -> bool {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// A rustls server configuration using this resolver, offering `alpn`
    /// (most preferred first) and `acme-tls/1`, for conduit's
    /// `TlsAcceptor::from_config`.
    pub fn server_config(self: &Arc<Self>, alpn: &[&str]) -> Result<Arc<ServerConfig>, Error> {
        let builder = ServerConfig::builder_with_provider(mimic::tls::crypto_provider())
            .with_safe_default_protocol_versions()
            .map_err(|err| Error::Certificate {
                reason: "cannot configure TLS".to_string(),
                source: Some(Box::new(err)),
            })?;
        let mut config = builder
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        config.alpn_protocols.push(ACME_TLS_ALPN.to_vec());
        Ok(Arc::new(config))
    }
}

impl fmt::Debug for CertResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertResolver")
            .field("has_certificate", &self.has_certificate())
            .finish_non_exhaustive()
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let acme = hello
            .alpn()
            .is_some_and(|mut offered| offered.any(|p| p == ACME_TLS_ALPN));
        if acme {
            // RFC 8737: only the challenge certificate, never the real one.
            return hello
                .server_name()
                .and_then(|name| self.challenges.tls_alpn01(name));
        }
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
