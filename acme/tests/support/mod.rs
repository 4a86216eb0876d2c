//! What the pebble tests share: listeners bound before pebble starts (so
//! that its validator knows their ports), the site served with the
//! challenge answers, and TLS clients that trust pebble's root.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use acme::{Acme, AcmeBuilder, ChallengeKind, Http01Layer};
use conduit::listener::{TcpListener, TlsAcceptor, TlsListener};
use conduit::serve::Server;
use paf::server::{Auto, Serve};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tower_layer::Layer;
use tower_service::Service;

pub use testkit::TempDir;
pub use testkit::pebble::{Pebble, PebbleConfig};

/// The HTTP-01 and TLS-ALPN-01 listeners, bound on free loopback ports.
pub struct Ports {
    pub http: TcpListener,
    pub tls: TcpListener,
}

impl Ports {
    pub fn bind() -> Ports {
        let any = || TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        Ports {
            http: any(),
            tls: any(),
        }
    }

    /// Pebble, told to validate on these ports.
    pub fn pebble(&self, validity_secs: Option<u64>) -> Option<Pebble> {
        Pebble::start(PebbleConfig {
            http_port: self.http.local_socket_addr().port(),
            tls_port: self.tls.local_socket_addr().port(),
            validity_secs,
            ..PebbleConfig::default()
        })
    }

    pub fn tls_addr(&self) -> SocketAddr {
        self.tls.local_socket_addr()
    }
}

/// A manager for pebble with quick retries, and the events it reports.
pub fn builder(pebble: &Pebble, kind: ChallengeKind) -> (AcmeBuilder, Events) {
    let events = Events::default();
    let log = events.clone();
    let builder = Acme::builder()
        .directory(&pebble.directory)
        .root_file(&pebble.tls_root)
        .contact("ops@example.com")
        .accept_terms()
        .challenge(kind)
        .retry(Duration::from_millis(200), Duration::from_secs(1))
        .patience(Duration::from_secs(20))
        .on_event(move |event| log.0.lock().unwrap().push(event.to_string()));
    (builder, events)
}

/// The events reported, as text.
#[derive(Clone, Default)]
pub struct Events(pub Arc<Mutex<Vec<String>>>);

impl Events {
    pub fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    pub fn count(&self, prefix: &str) -> usize {
        self.all().iter().filter(|e| e.starts_with(prefix)).count()
    }
}

/// Serves "hello" on both ports: clear text with HTTP-01 answers, TLS
/// with the manager's certificates and TLS-ALPN-01 answers.
pub fn serve(acme: &Acme, ports: Ports) -> Server {
    serve_answering(acme, ports, &Answers::of(acme))
}

/// Whose HTTP-01 answers a server gives, if anyone's (the CA gets `404`
/// then): changed while the listeners stay bound, so that no other test
/// can take their ports meanwhile.
#[derive(Clone, Default)]
pub struct Answers(Arc<Mutex<Option<Http01Layer>>>);

impl Answers {
    pub fn of(acme: &Acme) -> Answers {
        let answers = Answers::default();
        answers.set(acme);
        answers
    }

    /// `acme`'s answers from now on.
    pub fn set(&self, acme: &Acme) {
        *self.0.lock().unwrap() = Some(acme.http01_layer());
    }
}

/// [`serve`], with the HTTP-01 answers of `answers`; TLS with `acme`'s
/// certificates and TLS-ALPN-01 answers.
pub fn serve_answering(acme: &Acme, ports: Ports, answers: &Answers) -> Server {
    let auto = Auto::new();
    let config = acme.server_config(&auto.alpn_protocols()).unwrap();
    let answers = answers.clone();
    let handler = paf::service_fn(move |req: http::Request<paf::Body>| {
        let layer = answers.0.lock().unwrap().clone();
        async move {
            match layer {
                Some(layer) => layer.layer(paf::service_fn(site)).call(req).await,
                None => Ok::<_, paf::BoxError>(site(req).await.unwrap_or_else(|n| match n {})),
            }
        }
    });
    Server::builder()
        .listener(ports.http)
        .listener(TlsListener::new(
            ports.tls,
            TlsAcceptor::from_config(config),
        ))
        .serve(auto.handler(handler))
}

/// "hello", or `404` under the challenge path.
async fn site(req: http::Request<paf::Body>) -> Result<http::Response<paf::Body>, Infallible> {
    let mut res = http::Response::new(paf::Body::full("hello"));
    if req.uri().path().starts_with("/.well-known/acme-challenge/") {
        *res.status_mut() = http::StatusCode::NOT_FOUND;
    }
    Ok(res)
}

/// The root pebble's certificates chain to, as PEM.
pub async fn issuer_root(pebble: &Pebble) -> String {
    let pem = std::fs::read(&pebble.tls_root).unwrap();
    let tls = mimic::tls::Tls::builder().add_ca_pem(pem).build().unwrap();
    let client = paf::Client::builder().tls(tls).build().unwrap();
    let res = client.get(pebble.issuer_root_url()).await.unwrap();
    res.text().await.unwrap()
}

/// A TLS connection to `addr` for `name`, trusting `root`, offering
/// HTTP/1.1.
pub async fn connect(addr: SocketAddr, name: &str, root: &str) -> TlsStream<TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(root.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = mimic::tls::crypto_provider();
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from(name.to_string()).unwrap();
    connector.connect(name, tcp).await.unwrap()
}

/// The serial of the certificate a connection got, as x509-parser prints it.
pub fn serial(stream: &TlsStream<TcpStream>) -> String {
    let (_, session) = stream.get_ref();
    let leaf = &session.peer_certificates().unwrap()[0];
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).unwrap();
    cert.raw_serial_as_string()
}

/// `GET /` on a kept-alive HTTP/1.1 connection; the body.
pub async fn get(stream: &mut TlsStream<TcpStream>) -> String {
    stream
        .write_all(b"GET / HTTP/1.1\r\nhost: example.com\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    let mut buf = [0; 4096];
    // "hello" is the whole body: read until it is there.
    while !response.ends_with(b"hello") {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("an answer within 5 s")
            .unwrap();
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&response));
        response.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(response).unwrap()
}
