//! What the interop tests share: a resolver that sends `localhost` to
//! 127.0.0.1, trusting a test certificate or only the public roots.
#![allow(dead_code)]

use conduit::{Destination, Resolver, ResolverBuilder};
use mimic::{Ctx, tls::Tls};

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
