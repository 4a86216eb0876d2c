//! TLS over any listener, with rustls.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};

use mimic::Flow;
use mimic::flow::Addr;
use mimic::tls::{Pem, crypto_provider as provider};
use rustls::crypto::CryptoProvider;
use rustls::server::danger::ClientCertVerifier;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use super::{Connecting, Listener};
use crate::error::{Error, Tls};

/// A server certificate chain and its private key, checked to match.
#[derive(Clone)]
pub struct Identity {
    key: Arc<CertifiedKey>,
}

impl Identity {
    /// Reads a PEM certificate chain (end entity first) and a PEM private
    /// key from files.
    pub fn from_pem_files(
        chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Identity, Error> {
        Identity::from_pems(Pem::file(chain), Pem::file(key))
    }

    /// Parses a PEM certificate chain (end entity first) and a PEM private key.
    pub fn from_pem(chain: &[u8], key: &[u8]) -> Result<Identity, Error> {
        Identity::from_pems(Pem::memory(chain), Pem::memory(key))
    }

    /// A DER certificate chain (end entity first) and private key.
    pub fn from_der(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Identity, Error> {
        Identity::new(chain, key, "<memory>")
    }

    fn from_pems(chain: Pem, key: Pem) -> Result<Identity, Error> {
        Identity::new(chain.certificates()?, key.private_key()?, &chain.what())
    }

    fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        what: &str,
    ) -> Result<Identity, Error> {
        if chain.is_empty() {
            let what = what.to_string();
            return Err(mimic::tls::ConfigError::NoCertificate { what }.into());
        }
        let key = CertifiedKey::from_der(chain, key, &provider()).map_err(|source| Tls::Key {
            what: what.to_string(),
            source,
        })?;
        Ok(Identity { key: Arc::new(key) })
    }

    /// The certificate chain in DER, end entity first.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.key.cert
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("chain_len", &self.key.cert.len())
            .finish_non_exhaustive()
    }
}

/// CA certificates that client certificates must chain to.
#[derive(Clone, Debug)]
pub struct CaBundle {
    certs: Vec<CertificateDer<'static>>,
}

impl CaBundle {
    /// Reads PEM CA certificates from a file.
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<CaBundle, Error> {
        Ok(CaBundle {
            certs: Pem::file(path).certificates()?,
        })
    }

    /// Parses PEM CA certificates.
    pub fn from_pem(pem: &[u8]) -> Result<CaBundle, Error> {
        Ok(CaBundle {
            certs: Pem::memory(pem).certificates()?,
        })
    }

    /// DER CA certificates.
    pub fn from_der(certs: Vec<CertificateDer<'static>>) -> CaBundle {
        CaBundle { certs }
    }
}

/// Whether clients must present a certificate.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum ClientAuth {
    /// Clients are not asked for a certificate (the default).
    #[default]
    None,
    /// Clients may present a certificate; one that is presented must chain
    /// to the bundle. The handler sees it in the flow's TLS information.
    Optional(CaBundle),
    /// Clients must present a certificate that chains to the bundle; the
    /// handshake fails otherwise.
    Required(CaBundle),
}

/// Builds a [`TlsAcceptor`], or a configuration to give one while running.
#[derive(Clone, Debug, Default)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct TlsAcceptorBuilder {
    default: Option<Identity>,
    by_name: Vec<(String, Identity)>,
    alpn: Vec<Vec<u8>>,
    client_auth: ClientAuth,
}

impl TlsAcceptorBuilder {
    /// The certificate for clients whose server name (SNI) matches no
    /// [`sni_identity`](Self::sni_identity), or who send none.
    pub fn identity(mut self, identity: Identity) -> Self {
        self.default = Some(identity);
        self
    }

    /// The certificate for clients asking for `name` by SNI: an exact DNS
    /// name, or `*.example.com` for any single label under `example.com`.
    /// Names are compared without regard to case.
    pub fn sni_identity(mut self, name: impl Into<String>, identity: Identity) -> Self {
        self.by_name.push((name.into(), identity));
        self
    }

    /// The application protocols to accept (ALPN), most preferred first.
    /// When a client offers some, the first of this list it offers is
    /// chosen, and a client offering none of them is refused. Clients
    /// offering none get no ALPN.
    pub fn alpn<P: AsRef<[u8]>>(mut self, protocols: impl IntoIterator<Item = P>) -> Self {
        self.alpn = protocols.into_iter().map(|p| p.as_ref().to_vec()).collect();
        self
    }

    /// Whether to ask clients for certificates (default: no).
    pub fn client_auth(mut self, client_auth: ClientAuth) -> Self {
        self.client_auth = client_auth;
        self
    }

    /// The rustls configuration, to start an acceptor with or to give a
    /// running one through [`TlsAcceptor::set_config`].
    pub fn build_config(&self) -> Result<Arc<ServerConfig>, Error> {
        let provider = provider();
        let mut by_name = HashMap::new();
        let mut wildcards = HashMap::new();
        for (name, identity) in &self.by_name {
            let name = name.to_ascii_lowercase();
            let (table, bare) = match name.strip_prefix("*.") {
                Some(rest) => (&mut wildcards, rest.to_string()),
                None => (&mut by_name, name.clone()),
            };
            match ServerName::try_from(bare.as_str()) {
                Ok(ServerName::DnsName(_)) => {}
                _ => return Err(Tls::InvalidName(name).into()),
            }
            table.insert(bare, identity.key.clone());
        }
        if self.default.is_none() && by_name.is_empty() && wildcards.is_empty() {
            return Err(Tls::NoIdentity.into());
        }
        let resolver = SniResolver {
            by_name,
            wildcards,
            default: self.default.as_ref().map(|i| i.key.clone()),
        };
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(Tls::Rustls)?;
        let builder = match &self.client_auth {
            ClientAuth::None => builder.with_no_client_auth(),
            ClientAuth::Optional(ca) => {
                builder.with_client_cert_verifier(client_verifier(ca, provider, false)?)
            }
            ClientAuth::Required(ca) => {
                builder.with_client_cert_verifier(client_verifier(ca, provider, true)?)
            }
        };
        let mut config = builder.with_cert_resolver(Arc::new(resolver));
        config.alpn_protocols = self.alpn.clone();
        Ok(Arc::new(config))
    }

    /// The acceptor.
    pub fn build(&self) -> Result<TlsAcceptor, Error> {
        Ok(TlsAcceptor::from_config(self.build_config()?))
    }
}

fn client_verifier(
    ca: &CaBundle,
    provider: Arc<CryptoProvider>,
    required: bool,
) -> Result<Arc<dyn ClientCertVerifier>, Error> {
    let mut roots = RootCertStore::empty();
    for cert in &ca.certs {
        roots.add(cert.clone()).map_err(Tls::Rustls)?;
    }
    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
    let builder = if required {
        builder
    } else {
        builder.allow_unauthenticated()
    };
    builder.build().map_err(|e| Tls::ClientAuth(e).into())
}

/// Chooses the certificate by the server name the client sent.
#[derive(Debug)]
struct SniResolver {
    by_name: HashMap<String, Arc<CertifiedKey>>,
    /// Keyed by the part after `*.`.
    wildcards: HashMap<String, Arc<CertifiedKey>>,
    default: Option<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let found = hello.server_name().and_then(|name| {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            self.by_name.get(&name).cloned().or_else(|| {
                let (_, parent) = name.split_once('.')?;
                self.wildcards.get(parent).cloned()
            })
        });
        found.or_else(|| self.default.clone())
    }
}

/// Performs TLS handshakes with a configuration that can be replaced while
/// running.
///
/// Clones share the configuration: [`set_config`](TlsAcceptor::set_config)
/// on any of them applies to every handshake that starts afterwards, on
/// every listener using the acceptor. Connections already established keep
/// the configuration they started with.
///
/// ```
/// use conduit::listener::{Identity, TlsAcceptor};
///
/// # fn run(cert: &[u8], key: &[u8], new_cert: &[u8], new_key: &[u8]) -> Result<(), conduit::Error> {
/// let acceptor = TlsAcceptor::builder()
///     .identity(Identity::from_pem(cert, key)?)
///     .alpn(["h2", "http/1.1"])
///     .build()?;
/// // Later, say on SIGHUP: new connections get the new certificate.
/// let renewed = TlsAcceptor::builder()
///     .identity(Identity::from_pem(new_cert, new_key)?)
///     .alpn(["h2", "http/1.1"]);
/// acceptor.set_config(renewed.build_config()?);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TlsAcceptor {
    config: Arc<RwLock<Arc<ServerConfig>>>,
}

impl TlsAcceptor {
    /// A builder for a configuration made of certificates, ALPN and
    /// client authentication.
    pub fn builder() -> TlsAcceptorBuilder {
        TlsAcceptorBuilder::default()
    }

    /// An acceptor with a rustls configuration of your own.
    pub fn from_config(config: Arc<ServerConfig>) -> TlsAcceptor {
        TlsAcceptor {
            config: Arc::new(RwLock::new(config)),
        }
    }

    /// The configuration new handshakes use.
    pub fn config(&self) -> Arc<ServerConfig> {
        // Nothing can panic while the lock is held: poisoning is harmless.
        self.config
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the configuration for every handshake that starts from now on.
    pub fn set_config(&self, config: Arc<ServerConfig>) {
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = config;
    }

    /// Runs the server side of a handshake over `flow`.
    ///
    /// The resulting flow's protocols are `tls` over the inner ones, and its
    /// [`TlsInfo`](mimic::flow::TlsInfo) tells the negotiated ALPN protocol,
    /// version, cipher suite, the server name the client asked for, and the
    /// client's certificate chain if it sent one. The inner flow is
    /// reachable by downcasting to [`TlsStream`](tokio_rustls::server::TlsStream)`<Flow>`.
    pub async fn handshake(&self, flow: Flow) -> io::Result<Flow> {
        let mut info = flow.info().clone();
        let acceptor = tokio_rustls::TlsAcceptor::from(self.config());
        let stream = acceptor.accept(flow).await?;
        let (_, connection) = stream.get_ref();
        let server_name = connection.server_name().map(str::to_string);
        info.push_protocol("tls");
        let info = info.with_tls(mimic::tls::tls_info(connection, server_name));
        Ok(Flow::new(stream, info))
    }
}

impl fmt::Debug for TlsAcceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = self.config();
        let alpn: Vec<_> = config
            .alpn_protocols
            .iter()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect();
        f.debug_struct("TlsAcceptor")
            .field("alpn", &alpn)
            .finish_non_exhaustive()
    }
}

/// TLS over any listener.
///
/// `accept` only accepts from the inner listener; the handshake is part of
/// the returned [`Connecting`], which [`serve`](crate::serve) completes in
/// the connection's own task under its handshake timeout.
#[derive(Debug)]
pub struct TlsListener<L> {
    inner: L,
    acceptor: TlsAcceptor,
}

impl<L: Listener> TlsListener<L> {
    /// TLS with `acceptor` over the connections of `inner`.
    pub fn new(inner: L, acceptor: TlsAcceptor) -> TlsListener<L> {
        TlsListener { inner, acceptor }
    }

    /// The acceptor, to replace its configuration.
    pub fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }

    /// The inner listener.
    pub fn get_ref(&self) -> &L {
        &self.inner
    }
}

impl<L: Listener> Listener for TlsListener<L> {
    async fn accept(&mut self) -> io::Result<Connecting> {
        let connecting = self.inner.accept().await?;
        let acceptor = self.acceptor.clone();
        Ok(connecting.then(move |flow| async move { acceptor.handshake(flow).await }))
    }

    fn local_addr(&self) -> Addr {
        self.inner.local_addr()
    }
}
