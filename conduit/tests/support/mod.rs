//! Helpers shared by the listener and serve tests: certificates, TLS
//! clients, temporary directories, external tools.
#![allow(dead_code)] // each test file uses a different part

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use conduit::listener::{CaBundle, Identity};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use rustls::ClientConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;

/// A generous bound for things that should happen promptly.
pub const PROMPT: Duration = Duration::from_secs(10);

/// A certificate authority that issues server and client certificates.
pub struct Ca {
    pub pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// A certificate and its key, in PEM.
pub struct Leaf {
    pub cert_pem: String,
    pub key_pem: String,
}

impl Ca {
    pub fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().expect("CA key");
        let cert = params.self_signed(&key).expect("self-signed CA");
        Ca {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A server certificate for `names`, with the first name as common name.
    pub fn server(&self, names: &[&str]) -> Leaf {
        self.leaf(names, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate named `name`.
    pub fn client(&self, name: &str) -> Leaf {
        self.leaf(&[name], ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn leaf(&self, names: &[&str], usage: ExtendedKeyUsagePurpose) -> Leaf {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).expect("leaf params");
        params
            .distinguished_name
            .push(DnType::CommonName, names[0].clone());
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().expect("leaf key");
        let cert = params.signed_by(&key, &self.issuer).expect("signed leaf");
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    pub fn bundle(&self) -> CaBundle {
        CaBundle::from_pem(self.pem.as_bytes()).expect("CA bundle")
    }
}

impl Leaf {
    pub fn identity(&self) -> Identity {
        Identity::from_pem(self.cert_pem.as_bytes(), self.key_pem.as_bytes()).expect("identity")
    }

    pub fn der(&self) -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(self.cert_pem.as_bytes()).expect("leaf DER")
    }
}

/// A client configuration trusting `ca`, offering `alpn`, presenting
/// `client` if given.
pub fn client_config(ca: &Ca, alpn: &[&str], client: Option<&Leaf>) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca.pem.as_bytes()).expect("CA DER"))
        .expect("add root");
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots);
    let mut config = match client {
        Some(leaf) => builder
            .with_client_auth_cert(
                vec![leaf.der()],
                PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes()).expect("client key"),
            )
            .expect("client auth"),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    Arc::new(config)
}

/// A TLS client connection, which completes the handshake (TLS 1.3 client
/// certificate errors show up on the first read).
pub async fn tls_connect(
    addr: SocketAddr,
    name: &str,
    config: Arc<ClientConfig>,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from(name.to_string()).expect("server name");
    tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
}

/// The certificate the server presented, as DER.
pub fn presented(stream: &tokio_rustls::client::TlsStream<TcpStream>) -> Vec<u8> {
    let (_, connection) = stream.get_ref();
    connection
        .peer_certificates()
        .and_then(|certs| certs.first())
        .map(|c| c.to_vec())
        .expect("a server certificate")
}

#[allow(unused_imports)] // each test file uses a different part
pub use testkit::{TempDir, peer_tool};

/// Runs a tool to completion with `stdin`, under a time limit.
pub async fn run_tool(tool: &Path, args: &[&str], stdin: &[u8]) -> std::process::Output {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(tool)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the tool");
    let mut input = child.stdin.take().expect("piped stdin");
    input
        .write_all(stdin)
        .await
        .expect("write the tool's stdin");
    drop(input);
    tokio::time::timeout(PROMPT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{} did not finish in time", tool.display()))
        .expect("the tool's output")
}

/// A CA, and a TLS listener on 127.0.0.1 with a `localhost` certificate it issued.
pub fn localhost_tls(
    ca_name: &str,
) -> (
    Ca,
    conduit::listener::TlsListener<conduit::listener::TcpListener>,
    std::net::SocketAddr,
) {
    let ca = Ca::new(ca_name);
    let acceptor = conduit::listener::TlsAcceptor::builder()
        .identity(ca.server(&["localhost"]).identity())
        .build()
        .expect("acceptor");
    let tcp = conduit::listener::TcpListener::bind("127.0.0.1:0".parse().expect("address"))
        .expect("bind");
    let addr = tcp.local_socket_addr();
    (ca, conduit::listener::TlsListener::new(tcp, acceptor), addr)
}
