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

/// A rustls certificate resolver: answers a handshake offering only
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
        if is_challenge(hello.alpn()) {
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

/// Whether a handshake is a TLS-ALPN-01 validation: the client offers
/// `acme-tls/1` and nothing else (RFC 8737 §3). A client offering it among
/// others (say `h2` first) is an ordinary client: rustls picks the
/// protocol by the server's order, so it would speak `h2` over the
/// challenge certificate.
fn is_challenge<'a>(offered: Option<impl Iterator<Item = &'a [u8]>>) -> bool {
    let Some(mut offered) = offered else {
        return false;
    };
    offered.next() == Some(ACME_TLS_ALPN) && offered.next().is_none()
}

#[cfg(test)]
mod tests {
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, ServerConnection};
    use std::sync::Mutex;

    use super::*;
    use crate::certificate::Certified;

    /// Accepts any certificate, keeping the leaf it was shown.
    #[derive(Debug, Default)]
    struct Shown(Mutex<Option<Vec<u8>>>);

    impl ServerCertVerifier for Shown {
        fn verify_server_cert(
            &self,
            leaf: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(leaf.to_vec());
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }

        fn verify_tls13_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }

        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            let provider = mimic::tls::crypto_provider();
            provider
                .signature_verification_algorithms
                .supported_schemes()
        }
    }

    /// A handshake with `server` for `a.test` offering `alpn`: the leaf
    /// the server showed and the protocol agreed on.
    fn handshake(server: Arc<ServerConfig>, alpn: &[&[u8]]) -> (Vec<u8>, Option<Vec<u8>>) {
        let shown = Arc::new(Shown::default());
        let mut config = ClientConfig::builder_with_provider(mimic::tls::crypto_provider())
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .dangerous()
            .with_custom_certificate_verifier(shown.clone())
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        let name = ServerName::try_from("a.test").expect("a name");
        let mut client = ClientConnection::new(Arc::new(config), name).expect("a client");
        let mut server = ServerConnection::new(server).expect("a server");
        while client.is_handshaking() || server.is_handshaking() {
            let mut wire = Vec::new();
            client.write_tls(&mut wire).expect("written");
            server.read_tls(&mut wire.as_slice()).expect("read");
            server
                .process_new_packets()
                .expect("the server's handshake");
            wire.clear();
            server.write_tls(&mut wire).expect("written");
            client.read_tls(&mut wire.as_slice()).expect("read");
            client
                .process_new_packets()
                .expect("the client's handshake");
        }
        let leaf = shown.0.lock().expect("not poisoned").clone();
        (
            leaf.expect("a certificate"),
            client.alpn_protocol().map(<[u8]>::to_vec),
        )
    }

    #[test]
    fn only_a_handshake_offering_acme_tls_alone_gets_the_challenge() {
        let challenges = Challenges::default();
        let _answer = challenges
            .put_tls_alpn01("a.test", &[7; 32])
            .expect("a challenge certificate");
        let challenge = challenges.tls_alpn01("a.test").expect("in place").cert[0].to_vec();
        let resolver = Arc::new(CertResolver::new(challenges));
        let made = rcgen::generate_simple_self_signed(vec!["a.test".to_string()]).expect("made");
        let key = made.signing_key.serialize_pem();
        let current = Certified::from_pem(made.cert.pem(), key).expect("a certificate");
        resolver.install(current.key.clone());
        let real = current.key.cert[0].to_vec();
        let config = resolver
            .server_config(&["h2", "http/1.1"])
            .expect("a config");

        let (leaf, alpn) = handshake(config.clone(), &[ACME_TLS_ALPN]);
        assert_eq!(leaf, challenge);
        assert_eq!(alpn.as_deref(), Some(ACME_TLS_ALPN));
        for offered in [
            &[b"h2".as_slice(), ACME_TLS_ALPN][..],
            &[ACME_TLS_ALPN, b"http/1.1"],
            &[b"http/1.1"],
            &[],
        ] {
            let (leaf, _) = handshake(config.clone(), offered);
            assert_eq!(leaf, real, "offering {offered:?}");
        }
    }

    #[test]
    fn the_rule_wants_acme_tls_and_nothing_else() {
        let check = |offered: Option<&[&[u8]]>| is_challenge(offered.map(|o| o.iter().copied()));
        assert!(check(Some(&[ACME_TLS_ALPN])));
        assert!(!check(Some(&[b"h2", ACME_TLS_ALPN])));
        assert!(!check(Some(&[ACME_TLS_ALPN, ACME_TLS_ALPN])));
        assert!(!check(Some(&[b"h2"])));
        assert!(!check(Some(&[])));
        assert!(!check(None));
    }
}
