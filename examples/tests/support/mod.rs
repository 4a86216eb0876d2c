//! What the interop tests share: a resolver that sends `localhost` to
//! 127.0.0.1, trusting a test certificate or only the public roots;
//! listeners on 127.0.0.1, in clear text and over TLS with a new
//! self-signed certificate; and hyper-util's client over conduit's
//! connector, with a GET.
#![allow(dead_code)]

use std::sync::Arc;

use conduit::hyper::Connector;
use conduit::listener::{Identity, TcpListener, TlsAcceptor, TlsListener};
use conduit::{Destination, Resolver, ResolverBuilder};
use http::{StatusCode, Version};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use mimic::{Ctx, Info, tls::Tls};

/// A resolver builder that sends `localhost` to 127.0.0.1.
pub fn localhost() -> ResolverBuilder {
    Resolver::builder().static_host(
        "localhost",
        Destination::Host {
            host: "127.0.0.1".into(),
            port: None,
        },
    )
}

/// A resolver that sends `localhost` to 127.0.0.1 and trusts the
/// certificate `cert_pem` alone.
pub fn trusting(cert_pem: &str) -> Resolver {
    let tls = Tls::builder()
        .without_webpki_roots()
        .add_ca_pem(cert_pem)
        .build()
        .expect("the TLS layer builds");
    localhost()
        .base(tls.install(Ctx::new().with_builtins()))
        .build()
        .expect("the resolver builds")
}

/// hyper-util's legacy client over conduit's connector.
pub type HttpClient = Client<Connector, Empty<Bytes>>;

/// hyper-util's client over `connector`, with a timer; HTTP/2 only when
/// `h2` (h2c on clear text).
pub fn client(connector: Connector, h2: bool) -> HttpClient {
    Client::builder(TokioExecutor::new())
        .timer(TokioTimer::new())
        .http2_only(h2)
        .build(connector)
}

/// What a GET answered.
pub struct Got {
    pub status: StatusCode,
    pub version: Version,
    /// The `connection` header, if any.
    pub connection: Option<String>,
    pub body: String,
    /// The connection's Info, which the connector puts in every response.
    pub info: Arc<Info>,
}

/// GETs `uri`, failing the test on an error.
pub async fn get(client: &HttpClient, uri: &str) -> Got {
    let res = client
        .get(uri.parse().expect("a URI http reads"))
        .await
        .unwrap_or_else(|e| panic!("GET {uri}: {e:?}"));
    let connection = res
        .headers()
        .get(http::header::CONNECTION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let info = res
        .extensions()
        .get::<Arc<Info>>()
        .cloned()
        .expect("the connector puts mimic's Info in the response");
    let (status, version) = (res.status(), res.version());
    let body = res
        .into_body()
        .collect()
        .await
        .expect("the body")
        .to_bytes();
    Got {
        status,
        version,
        connection,
        body: String::from_utf8_lossy(&body).into_owned(),
        info,
    }
}

/// The port of `server`'s first listener, a TCP one.
pub fn port(server: &conduit::serve::Server) -> u16 {
    match &server.local_addrs()[0] {
        mimic::flow::Addr::Inet(addr) => addr.port(),
        other => panic!("a TCP listener, not {other}"),
    }
}

/// A TCP listener on a free port of 127.0.0.1.
pub fn tcp() -> TcpListener {
    TcpListener::bind("127.0.0.1:0".parse().expect("an address")).expect("bind")
}

/// A TLS listener on 127.0.0.1 offering `alpn`, with a new self-signed
/// certificate for `localhost`; and that certificate, in PEM.
pub fn tls_listener(alpn: &[&str]) -> (TlsListener<TcpListener>, String) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
        .expect("rcgen makes a certificate");
    let cert_pem = certified.cert.pem();
    let identity = Identity::from_pem(
        cert_pem.as_bytes(),
        certified.signing_key.serialize_pem().as_bytes(),
    )
    .expect("rcgen's PEM reads");
    let acceptor = TlsAcceptor::builder()
        .identity(identity)
        .alpn(alpn.iter().copied())
        .build()
        .expect("the acceptor builds");
    (TlsListener::new(tcp(), acceptor), cert_pem)
}
