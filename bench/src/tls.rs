//! The TLS settings every TLS scenario shares: the servers' configuration
//! (TLS 1.3 only, rustls' ring provider and its default cipher suites,
//! ALPN `h2` then `http/1.1`, no session resumption), and the clients'
//! configurations, which trust the bench's self-signed certificate.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::NoServerSessionStorage;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig,
    SignatureScheme,
};

/// What the functions here return: any error, boxed.
pub type Res<T> = Result<T, Box<dyn Error>>;

/// The ALPN protocols the servers accept, most preferred first.
pub const SERVER_ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// The ring provider with its default cipher suites and key exchanges.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

/// The certificate chain of a PEM file.
fn read_chain(cert: &Path) -> Res<Vec<CertificateDer<'static>>> {
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|error| format!("{}: {error}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| format!("{}: {error}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("{}: no certificate", cert.display()).into());
    }
    Ok(chain)
}

/// The servers' configuration: the certificate chain and key of two PEM
/// files, TLS 1.3 only, ALPN [`SERVER_ALPN`], and no resumption (no
/// tickets, no session cache), so that every connection makes a full
/// handshake.
pub fn server_config(cert: &Path, key: &Path) -> Res<Arc<ServerConfig>> {
    let chain = read_chain(cert)?;
    let key =
        PrivateKeyDer::from_pem_file(key).map_err(|error| format!("{}: {error}", key.display()))?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = SERVER_ALPN.iter().map(|p| p.to_vec()).collect();
    config.send_tls13_tickets = 0;
    config.session_storage = Arc::new(NoServerSessionStorage {});
    Ok(Arc::new(config))
}

/// A client configuration that trusts the certificate(s) of a PEM file as
/// roots, TLS 1.3 only, offering `alpn`; resumption stays as rustls sets
/// it (the servers do not offer it).
pub fn client_config(cert: &Path, alpn: &[&[u8]]) -> Res<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in read_chain(cert)? {
        roots.add(cert)?;
    }
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(config)
}

/// A client configuration for counting handshakes: TLS 1.3 only, ALPN
/// `http/1.1`, no resumption, and a verifier that accepts exactly the
/// first certificate of the PEM file without checking signatures (see
/// [`PinnedNoSignatureCheck`]).
pub fn danger_handshake_client_config(cert: &Path) -> Res<ClientConfig> {
    let pinned = read_chain(cert)?.swap_remove(0);
    let verifier = PinnedNoSignatureCheck {
        pinned,
        provider: provider(),
    };
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.resumption = rustls::client::Resumption::disabled();
    Ok(config)
}

/// Accepts the one certificate it was given and skips the handshake
/// signature checks.
///
/// For the handshake rate only, on loopback, where the server side is what
/// is measured: a client verifying signatures (two ECDSA verifications per
/// handshake, each costlier than the server's one signature) would run out
/// of CPU before the server does. Not safe anywhere else: it does not prove
/// that the peer holds the key.
#[derive(Debug)]
pub struct PinnedNoSignatureCheck {
    /// The certificate the server must present, in DER.
    pinned: CertificateDer<'static>,
    /// Whose signature schemes are announced.
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedNoSignatureCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.pinned.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Writes a self-signed ECDSA P-256 certificate for `localhost` and
/// `127.0.0.1` and its key to `dir/cert.pem` and `dir/key.pem`, and
/// returns their paths.
pub fn write_self_signed(dir: &Path) -> Res<(PathBuf, PathBuf)> {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    // rcgen's default key is ECDSA P-256 with SHA-256.
    let certified = rcgen::generate_simple_self_signed(names)?;
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, certified.cert.pem())?;
    std::fs::write(&key, certified.signing_key.serialize_pem())?;
    Ok((cert, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory with a certificate and its key.
    fn certificate(name: &str) -> Res<(PathBuf, PathBuf, PathBuf)> {
        let dir = std::env::temp_dir().join(format!("bench-tls-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let (cert, key) = write_self_signed(&dir)?;
        Ok((dir, cert, key))
    }

    /// Runs a handshake in memory: the version and ALPN protocol agreed.
    fn handshake(
        client: ClientConfig,
        server: Arc<ServerConfig>,
    ) -> Res<(Option<rustls::ProtocolVersion>, Option<Vec<u8>>)> {
        let name = ServerName::try_from("localhost")?;
        let mut client = rustls::ClientConnection::new(Arc::new(client), name)?;
        let mut server = rustls::ServerConnection::new(server)?;
        for _ in 0..10 {
            let mut wire = Vec::new();
            while client.wants_write() {
                client.write_tls(&mut wire)?;
            }
            server.read_tls(&mut wire.as_slice())?;
            server.process_new_packets()?;
            wire.clear();
            while server.wants_write() {
                server.write_tls(&mut wire)?;
            }
            client.read_tls(&mut wire.as_slice())?;
            client.process_new_packets()?;
            if !client.is_handshaking() && !server.is_handshaking() {
                break;
            }
        }
        let alpn = client.alpn_protocol().map(<[u8]>::to_vec);
        Ok((client.protocol_version(), alpn))
    }

    #[test]
    fn server_config_is_tls13_only_without_resumption() -> Res<()> {
        let (dir, cert, key) = certificate("server")?;
        let server = server_config(&cert, &key)?;
        let h2 = handshake(client_config(&cert, &[b"h2"])?, server.clone());
        let h1 = handshake(client_config(&cert, &[b"http/1.1"])?, server.clone());
        let tls12_only = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS12])?
            .with_root_certificates(RootCertStore::empty())
            .with_no_client_auth();
        let tls12 = handshake(tls12_only, server.clone());
        std::fs::remove_dir_all(&dir)?;
        let tls13 = Some(rustls::ProtocolVersion::TLSv1_3);
        assert_eq!(h2?, (tls13, Some(b"h2".to_vec())));
        assert_eq!(h1?, (tls13, Some(b"http/1.1".to_vec())));
        assert!(tls12.is_err());
        assert_eq!(server.send_tls13_tickets, 0);
        assert!(!server.session_storage.can_cache());
        Ok(())
    }

    #[test]
    fn the_handshake_client_accepts_only_its_certificate() -> Res<()> {
        let (dir, cert, _) = certificate("pinned")?;
        let (other_dir, other, _) = certificate("other")?;
        let verifier = PinnedNoSignatureCheck {
            pinned: read_chain(&cert)?.swap_remove(0),
            provider: provider(),
        };
        let name = ServerName::try_from("localhost")?;
        let verify = |pem: &Path| -> Res<bool> {
            let der = read_chain(pem)?.swap_remove(0);
            Ok(verifier
                .verify_server_cert(&der, &[], &name, &[], UnixTime::now())
                .is_ok())
        };
        let (mine, theirs) = (verify(&cert)?, verify(&other)?);
        std::fs::remove_dir_all(&dir)?;
        std::fs::remove_dir_all(&other_dir)?;
        assert!(mine);
        assert!(!theirs);
        let config = danger_handshake_client_config(&cert);
        assert!(config.is_err(), "the certificate's file is gone");
        Ok(())
    }
}
