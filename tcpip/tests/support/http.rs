//! paf's server and client on stacks.

use std::convert::Infallible;

use conduit::Destination;
use conduit::listener::{Identity, TlsAcceptor, TlsListener};
use conduit::serve::Server;
use http::{Request, Response};
use paf::Body;
use paf::server::{Auto, Serve};
use tcpip::Stack;

/// The name the server's certificate is for.
pub const NAME: &str = "server.test";

/// A self-signed certificate for [`NAME`]: the identity and its PEM.
pub fn certificate() -> (Identity, String) {
    let cert = rcgen::generate_simple_self_signed(vec![NAME.to_owned()])
        .expect("rcgen makes a certificate for a plain name");
    let cert_pem = cert.cert.pem();
    let key_pem = cert.signing_key.serialize_pem();
    let identity = Identity::from_pem(cert_pem.as_bytes(), key_pem.as_bytes())
        .expect("rcgen's PEM is readable");
    (identity, cert_pem)
}

/// Answers `/bytes/N` with N bytes, anything else with the protocol used.
pub async fn service(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    if let Some(n) = req.uri().path().strip_prefix("/bytes/") {
        let n: usize = n.parse().unwrap_or(0);
        return Ok(Response::new(Body::full(vec![b'x'; n])));
    }
    let text = format!("hello over {:?}", req.version());
    Ok(Response::new(Body::full(text)))
}

/// paf on `stack`: HTTP/1.1 and h2c on port 80, TLS (h1 and h2 by ALPN)
/// on 443.
pub fn serve(stack: &Stack, identity: Identity) -> Server {
    let auto = Auto::new();
    let acceptor = TlsAcceptor::builder()
        .identity(identity)
        .alpn(auto.alpn_protocols())
        .build()
        .expect("a valid TLS configuration");
    let plain = stack
        .listen("0.0.0.0:80".parse().expect("a socket address literal"))
        .expect("port 80 is free");
    let tls = stack
        .listen("0.0.0.0:443".parse().expect("a socket address literal"))
        .expect("port 443 is free");
    Server::builder()
        .listener(plain)
        .listener(TlsListener::new(tls, acceptor))
        .serve(auto.handler(paf::service_fn(service)))
}

/// A paf client on `stack`, trusting `ca_pem`, sending [`NAME`] to `server`.
pub fn client(stack: &Stack, ca_pem: &str, server: &str) -> paf::client::ClientBuilder {
    let tls = mimic::tls::Tls::builder()
        .without_webpki_roots()
        .add_ca_pem(ca_pem.as_bytes().to_vec())
        .build()
        .expect("the CA PEM is readable");
    let base = stack.install(tls.install(mimic::Ctx::new()));
    let resolver = conduit::Resolver::builder()
        .base(base)
        .dns(None)
        .services_file(None)
        .static_host(
            NAME,
            Destination::Host {
                host: server.to_owned(),
                port: None,
            },
        )
        .build()
        .expect("a resolver without a services file builds");
    paf::Client::builder()
        .resolver(resolver)
        .proxies(paf::client::Proxies::none())
}
