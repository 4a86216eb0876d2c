//! TLS with rustls, as a [`Layer`] over any inner flow: TCP, a Unix socket,
//! an in-memory pipe or a protocol of your own.
//!
//! Setting [`SERVER_NAME`] in a context where the layer is installed (as
//! [`Ctx::with_builtins`](crate::Ctx::with_builtins) does) wraps every
//! candidate in TLS; no candidate is then tried in clear text. [`ALPN`]
//! sets the protocols offered, [`CONFIG`] replaces the whole client
//! configuration for one context.
//!
//! Certificates are checked against the webpki roots by default, so a
//! fresh machine needs no setup. [`TlsBuilder`] adds the operating system's
//! roots (feature `native-roots`), CA files, client certificates, and, only
//! when asked for by name, a verifier that accepts any certificate.
//!
//! ```no_run
//! use mimic::{Ctx, keys, tls};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let ctx = Ctx::new()
//!     .with_builtins()
//!     .with_system_dns()
//!     .with(&keys::HOST, "localhost".to_string())
//!     .with(&keys::PORT, 8443)
//!     .with(&tls::SERVER_NAME, "localhost".to_string())
//!     .with(&tls::ALPN, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
//! let flow = ctx.resolve().await?;
//! let negotiated = flow.info().tls().and_then(|t| t.alpn.clone());
//! let stream: &tls::TlsStream = flow.downcast_ref().expect("a TLS flow");
//! # let _ = (negotiated, stream); Ok(()) }
//! ```

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio_rustls::TlsConnector;

use crate::flow::TlsInfo;
use crate::report::Chain;
use crate::{Ctx, Flow, Info, Key, Layer, Registration, opt, req};

/// The server name to ask for and to check the certificate against.
pub static SERVER_NAME: Key<String> = Key::new("tls server name");

/// The application protocols to offer (ALPN), most preferred first.
pub static ALPN: Key<Vec<Vec<u8>>> = Key::new("tls alpn");

/// A client configuration that replaces the layer's for this context.
pub static CONFIG: Key<Arc<ClientConfig>> = Key::new("tls config");

/// The endpoint key of the TLS layer, derived from the keys above by
/// [`Tls::install`].
pub static ENDPOINT: Key<TlsEndpoint> = Key::new("tls endpoint");

/// The priority of [`registration`]: TLS candidates come before any others.
pub const PRIORITY: i32 = 0;

/// The flow type of the TLS layer, for downcasting.
pub type TlsStream = tokio_rustls::client::TlsStream<Flow>;

/// What the TLS layer needs for one connection.
#[derive(Clone)]
pub struct TlsEndpoint {
    server_name: ServerName<'static>,
    alpn: Option<Vec<Vec<u8>>>,
    config: Option<Arc<ClientConfig>>,
}

impl TlsEndpoint {
    /// An endpoint for `server_name` (a DNS name or an IP literal).
    pub fn new(server_name: &str) -> Result<TlsEndpoint, ConfigError> {
        let bare = server_name
            .strip_prefix('[')
            .and_then(|n| n.strip_suffix(']'))
            .unwrap_or(server_name);
        let server_name = ServerName::try_from(bare.to_string())
            .map_err(|_| ConfigError::InvalidServerName(server_name.to_string()))?;
        Ok(TlsEndpoint {
            server_name,
            alpn: None,
            config: None,
        })
    }

    /// Offers these application protocols instead of the configuration's.
    pub fn with_alpn(mut self, protocols: Vec<Vec<u8>>) -> TlsEndpoint {
        self.alpn = Some(protocols);
        self
    }

    /// Uses this configuration instead of the layer's.
    pub fn with_config(mut self, config: Arc<ClientConfig>) -> TlsEndpoint {
        self.config = Some(config);
        self
    }

    /// The server name.
    pub fn server_name(&self) -> &ServerName<'static> {
        &self.server_name
    }
}

fn alpn_list(protocols: &[Vec<u8>]) -> String {
    let names: Vec<_> = protocols
        .iter()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    names.join(", ")
}

impl fmt::Debug for TlsEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsEndpoint")
            .field("server_name", &self.server_name)
            .field("alpn", &self.alpn.as_deref().map(alpn_list))
            .field("custom_config", &self.config.is_some())
            .finish()
    }
}

/// A TLS configuration that could not be built: a file, PEM contents, a
/// name, or a setting rustls refused.
///
/// This is an error of setting up, before any connection: resolution itself
/// fails with a [`ResolveError`](crate::ResolveError), whose report holds a
/// `ConfigError` as the cause when a context's [`SERVER_NAME`] is invalid.
/// Its `{}` is its own text and [`source`](std::error::Error::source) the
/// cause; `{:#}` shows both:
///
/// ```
/// use mimic::tls::Tls;
///
/// let err = Tls::builder().add_ca_pem("not a certificate").build().expect_err("no certificate");
/// assert_eq!(err.to_string(), "no certificate in <memory>");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// A PEM file or buffer could not be read or parsed.
    Pem {
        /// The file, or `<memory>`.
        what: String,
        /// Why.
        source: rustls_pki_types::pem::Error,
    },
    /// A PEM source held no certificate.
    NoCertificate {
        /// The file, or `<memory>`.
        what: String,
    },
    /// A PEM source held no private key.
    NoPrivateKey {
        /// The file, or `<memory>`.
        what: String,
    },
    /// A server name is neither a DNS name nor an IP address.
    InvalidServerName(String),
    /// The operating system's roots could not be loaded.
    NativeRoots(String),
    /// rustls refused the configuration (a bad client key, for one).
    Rustls(rustls::Error),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            return Chain(self).fmt(f);
        }
        match self {
            ConfigError::Pem { what, .. } => write!(f, "cannot read PEM from {what}"),
            ConfigError::NoCertificate { what } => write!(f, "no certificate in {what}"),
            ConfigError::NoPrivateKey { what } => write!(
                f,
                "no private key in {what}: expected a PKCS#8, PKCS#1 or SEC1 `PRIVATE KEY` block"
            ),
            ConfigError::InvalidServerName(name) => {
                write!(f, "`{name}` is not a valid TLS server name")
            }
            ConfigError::NativeRoots(why) => {
                write!(f, "cannot load the system's root certificates: {why}")
            }
            ConfigError::Rustls(_) => f.write_str("invalid TLS configuration"),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Pem { source, .. } => Some(source),
            ConfigError::Rustls(e) => Some(e),
            _ => None,
        }
    }
}

/// PEM data from a file or from memory, read when it is parsed. Errors name
/// the file (or `<memory>`). Shared by client and server configurations.
#[derive(Clone, Debug)]
pub struct Pem(PemSource);

#[derive(Clone, Debug)]
enum PemSource {
    File(PathBuf),
    Memory(Vec<u8>),
}

impl Pem {
    /// PEM in a file.
    pub fn file(path: impl AsRef<Path>) -> Pem {
        Pem(PemSource::File(path.as_ref().to_path_buf()))
    }

    /// PEM in memory.
    pub fn memory(pem: impl Into<Vec<u8>>) -> Pem {
        Pem(PemSource::Memory(pem.into()))
    }

    /// The file's path, or `<memory>`, for messages.
    pub fn what(&self) -> String {
        match &self.0 {
            PemSource::File(path) => path.display().to_string(),
            PemSource::Memory(_) => "<memory>".to_string(),
        }
    }

    fn pem_error(&self, source: rustls_pki_types::pem::Error) -> ConfigError {
        ConfigError::Pem {
            what: self.what(),
            source,
        }
    }

    /// Every certificate, in order; at least one.
    pub fn certificates(&self) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
        let certs: Vec<_> = match &self.0 {
            PemSource::File(path) => CertificateDer::pem_file_iter(path)
                .map_err(|e| self.pem_error(e))?
                .collect::<Result<_, _>>(),
            PemSource::Memory(bytes) => CertificateDer::pem_slice_iter(bytes).collect(),
        }
        .map_err(|e| self.pem_error(e))?;
        if certs.is_empty() {
            return Err(ConfigError::NoCertificate { what: self.what() });
        }
        Ok(certs)
    }

    /// The first private key (PKCS#8, PKCS#1 or SEC1).
    pub fn private_key(&self) -> Result<PrivateKeyDer<'static>, ConfigError> {
        match &self.0 {
            PemSource::File(path) => PrivateKeyDer::from_pem_file(path),
            PemSource::Memory(bytes) => PrivateKeyDer::from_pem_slice(bytes),
        }
        .map_err(|source| match source {
            rustls_pki_types::pem::Error::NoItemsFound => {
                ConfigError::NoPrivateKey { what: self.what() }
            }
            source => self.pem_error(source),
        })
    }
}

/// The cryptography behind every TLS configuration of this project: ring.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds a [`Tls`] layer: roots, client certificate, ALPN.
#[derive(Clone, Debug)]
pub struct TlsBuilder {
    webpki_roots: bool,
    native_roots: bool,
    extra_roots: Vec<Pem>,
    client_auth: Option<(Pem, Pem)>,
    alpn: Vec<Vec<u8>>,
    accept_invalid: bool,
}

impl TlsBuilder {
    /// Stops trusting the bundled webpki roots (on by default).
    pub fn without_webpki_roots(mut self) -> TlsBuilder {
        self.webpki_roots = false;
        self
    }

    /// Also trusts the operating system's roots.
    #[cfg(feature = "native-roots")]
    pub fn with_native_roots(mut self) -> TlsBuilder {
        self.native_roots = true;
        self
    }

    /// Also trusts the CA certificates of a PEM file.
    pub fn add_ca_file(mut self, path: impl AsRef<Path>) -> TlsBuilder {
        self.extra_roots.push(Pem::file(path));
        self
    }

    /// Also trusts the CA certificates of PEM data.
    pub fn add_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> TlsBuilder {
        self.extra_roots.push(Pem::memory(pem));
        self
    }

    /// Presents a client certificate: a PEM chain file and its key file.
    pub fn client_cert_files(
        mut self,
        chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> TlsBuilder {
        self.client_auth = Some((Pem::file(chain), Pem::file(key)));
        self
    }

    /// Presents a client certificate from PEM data: a chain and its key.
    pub fn client_cert_pem(
        mut self,
        chain: impl Into<Vec<u8>>,
        key: impl Into<Vec<u8>>,
    ) -> TlsBuilder {
        self.client_auth = Some((Pem::memory(chain), Pem::memory(key)));
        self
    }

    /// Offers these application protocols by default (ALPN).
    pub fn alpn(mut self, protocols: &[&[u8]]) -> TlsBuilder {
        self.alpn = protocols.iter().map(|p| p.to_vec()).collect();
        self
    }

    /// **Insecure.** Accepts any server certificate for any name: the
    /// connection is encrypted but not authenticated, and anyone on the path
    /// can read and change it. For tests and debugging only; every
    /// connection made with it logs a warning.
    pub fn danger_accept_invalid_certificates(mut self) -> TlsBuilder {
        self.accept_invalid = true;
        self
    }

    /// Builds the layer.
    pub fn build(self) -> Result<Tls, ConfigError> {
        let provider = crypto_provider();
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(ConfigError::Rustls)?;
        let builder = if self.accept_invalid {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
        } else {
            builder.with_root_certificates(self.roots()?)
        };
        let mut config = match &self.client_auth {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain.certificates()?, key.private_key()?)
                .map_err(ConfigError::Rustls)?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = self.alpn;
        Ok(Tls {
            config: Arc::new(config),
            insecure: self.accept_invalid,
        })
    }

    fn roots(&self) -> Result<RootCertStore, ConfigError> {
        let mut roots = RootCertStore::empty();
        if self.webpki_roots {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        if self.native_roots {
            self.add_native_roots(&mut roots)?;
        }
        for pem in &self.extra_roots {
            for cert in pem.certificates()? {
                roots.add(cert).map_err(ConfigError::Rustls)?;
            }
        }
        Ok(roots)
    }

    #[cfg(feature = "native-roots")]
    fn add_native_roots(&self, roots: &mut RootCertStore) -> Result<(), ConfigError> {
        let found = rustls_native_certs::load_native_certs();
        if found.certs.is_empty() && !found.errors.is_empty() {
            let errors: Vec<_> = found.errors.iter().map(|e| e.to_string()).collect();
            return Err(ConfigError::NativeRoots(errors.join("; ")));
        }
        roots.add_parsable_certificates(found.certs);
        Ok(())
    }

    #[cfg(not(feature = "native-roots"))]
    fn add_native_roots(&self, _: &mut RootCertStore) -> Result<(), ConfigError> {
        Ok(())
    }
}

/// The TLS layer: a rustls client configuration used over any inner flow.
#[derive(Clone)]
pub struct Tls {
    config: Arc<ClientConfig>,
    insecure: bool,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("alpn", &alpn_list(&self.config.alpn_protocols))
            .field("insecure", &self.insecure)
            .finish()
    }
}

impl Default for Tls {
    fn default() -> Self {
        Tls::new()
    }
}

impl Tls {
    /// TLS 1.2 and 1.3 with the webpki roots, no client certificate, no ALPN.
    pub fn new() -> Tls {
        let config = ClientConfig::builder_with_provider(crypto_provider())
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports the default TLS versions")
            .with_root_certificates(RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            })
            .with_no_client_auth();
        Tls {
            config: Arc::new(config),
            insecure: false,
        }
    }

    /// A builder starting from the webpki roots.
    pub fn builder() -> TlsBuilder {
        TlsBuilder {
            webpki_roots: true,
            native_roots: false,
            extra_roots: Vec::new(),
            client_auth: None,
            alpn: Vec::new(),
            accept_invalid: false,
        }
    }

    /// A layer with a configuration of your own.
    pub fn from_config(config: Arc<ClientConfig>) -> Tls {
        Tls {
            config,
            insecure: false,
        }
    }

    /// The client configuration.
    pub fn config(&self) -> &Arc<ClientConfig> {
        &self.config
    }

    /// Adds this layer to `ctx` with [`registration`], and derives
    /// [`ENDPOINT`] from [`SERVER_NAME`] (required), [`ALPN`] and [`CONFIG`].
    pub fn install(self, ctx: Ctx) -> Ctx {
        ctx.with_protocol(&registration(self)).derive(
            &ENDPOINT,
            (req(&SERVER_NAME), opt(&ALPN), opt(&CONFIG)),
            |(name, alpn, config)| async move {
                let mut endpoint = TlsEndpoint::new(&name)?;
                endpoint.alpn = alpn;
                endpoint.config = config;
                Ok::<_, ConfigError>(Some(endpoint))
            },
        )
    }
}

impl Layer for Tls {
    type Endpoint = TlsEndpoint;
    type Flow = TlsStream;

    async fn connect(&self, endpoint: &TlsEndpoint, inner: Flow) -> io::Result<TlsStream> {
        let mut config = endpoint.config.as_ref().unwrap_or(&self.config).clone();
        if let Some(alpn) = &endpoint.alpn
            && *alpn != config.alpn_protocols
        {
            let mut changed = (*config).clone();
            changed.alpn_protocols = alpn.clone();
            config = Arc::new(changed);
        }
        if self.insecure && endpoint.config.is_none() {
            tracing::warn!(
                server = ?endpoint.server_name,
                "mimic: TLS certificate verification is disabled for this connection"
            );
        }
        TlsConnector::from(config)
            .connect(endpoint.server_name.clone(), inner)
            .await
    }

    fn describe(&self, endpoint: &TlsEndpoint) -> String {
        let name = endpoint.server_name.to_str();
        let alpn = endpoint
            .alpn
            .as_deref()
            .or(endpoint.config.as_ref().map(|c| &c.alpn_protocols[..]))
            .unwrap_or(&self.config.alpn_protocols);
        if alpn.is_empty() {
            format!("{name}")
        } else {
            format!("{name} (alpn {})", alpn_list(alpn))
        }
    }

    fn info(&self, endpoint: &TlsEndpoint, flow: &TlsStream, inner: Info) -> Info {
        let (_, connection) = flow.get_ref();
        let server_name = endpoint.server_name.to_str().into_owned();
        inner.with_tls(tls_info(connection, Some(server_name)))
    }
}

/// Connection parameters from a rustls connection, client or server side.
/// `server_name` is the name asked for (client) or received by SNI (server).
pub fn tls_info(connection: &rustls::CommonState, server_name: Option<String>) -> TlsInfo {
    let mut info = TlsInfo::new();
    info.alpn = connection.alpn_protocol().map(<[u8]>::to_vec);
    info.version = connection
        .protocol_version()
        .map(|v| v.as_str().map_or_else(|| format!("{v:?}"), str::to_string));
    info.cipher_suite = connection.negotiated_cipher_suite().map(|s| {
        let suite = s.suite();
        suite
            .as_str()
            .map_or_else(|| format!("{suite:?}"), str::to_string)
    });
    info.server_name = server_name;
    info.peer_certificates = connection
        .peer_certificates()
        .map(|certs| certs.iter().map(|c| c.to_vec()).collect())
        .unwrap_or_default();
    info
}

/// A registration of `tls` named `tls`, at [`PRIORITY`], on [`ENDPOINT`].
pub fn registration(tls: Tls) -> Registration<TlsEndpoint> {
    Registration::layer_with_key(&ENDPOINT, "tls", PRIORITY, tls)
}

/// Accepts every certificate; signatures are still checked so that the
/// handshake itself stays sound.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
