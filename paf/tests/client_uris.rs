//! `paf::Client` reads URIs as conduit does, and its resolver and TLS
//! settings compose.
#![allow(clippy::unwrap_used)]

mod support;

use std::convert::Infallible;

use conduit::listener::UnixListener;
use conduit::serve::Server;
use conduit::{Destination, Resolver};
use http::{Request, Response};
use paf::client::Proxies;
use paf::server::{Auto, Serve};
use paf::{Body, Client};

use support::TempDir;

/// A client that ignores the environment's proxies.
fn client() -> paf::ClientBuilder {
    Client::builder().proxies(Proxies::none())
}

/// Answers with the request's path and `host`.
async fn echo(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let host = req.headers().get("host").and_then(|v| v.to_str().ok());
    let text = format!("{} host={}", req.uri().path(), host.unwrap_or("-"));
    Ok(Response::new(Body::full(text)))
}

#[tokio::test]
async fn every_unix_socket_form_conduit_reads_reaches_the_socket() {
    let dir = TempDir::new("client-uris");
    let path = dir.path().join("app.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let _server = Server::builder()
        .listener(listener)
        .serve(Auto::new().handler(paf::service_fn(echo)));
    let socket = path.to_str().unwrap();
    let encoded = socket.replace('/', "%2F");
    let client = client().build().unwrap();
    for (uri, answer) in [
        (format!("unix://{socket}"), "/ host=localhost"),
        (format!("unix:{socket}"), "/ host=localhost"),
        (
            format!("http+unix://{encoded}/v1/x"),
            "/v1/x host=localhost",
        ),
    ] {
        let res = client
            .get(&uri)
            .await
            .unwrap_or_else(|e| panic!("{uri}: {e:#}"));
        assert_eq!(res.status(), 200, "{uri}");
        assert_eq!(res.text().await.unwrap(), answer, "{uri}");
        // Each form is conduit's too.
        conduit::connect(&uri).await.unwrap();
    }
}

/// What conduit refuses, the client refuses with conduit's reason.
#[tokio::test]
async fn a_uri_conduit_refuses_fails_with_conduits_reason() {
    let client = client().build().unwrap();
    for (uri, reason) in [
        ("localhost:8000/x", "expected `//` after the scheme"),
        ("/relative", "no scheme"),
        ("unix://relative.sock", "a unix: URI needs an absolute path"),
        // `http` reads these; conduit refuses them all the same.
        ("http://./x", "bad host or port"),
        ("http://h:99999/", "bad host or port"),
    ] {
        let err = client.get(uri).await.unwrap_err();
        assert!(err.is_request(), "{uri}: {err:?}");
        let theirs = conduit::connect(uri).await.unwrap_err();
        assert!(theirs.is_invalid_uri(), "{theirs:?}");
        assert_eq!(theirs.to_string(), format!("invalid URI `{uri}`: {reason}"));
        assert_eq!(format!("{err:#}"), format!("invalid request: {theirs}"));
    }
    let err = client.get("nosuch://example.com/").await.unwrap_err();
    let theirs = conduit::connect("nosuch://example.com/").await.unwrap_err();
    assert!(err.is_request() && theirs.is_unknown_scheme(), "{err:?}");
    assert_eq!(format!("{err:#}"), format!("invalid request: {theirs}"));
}

/// A resolver with its own rules and a TLS configuration of one's own:
/// both apply, in either order.
#[tokio::test]
async fn a_resolver_and_a_tls_configuration_compose() {
    let cert = support::tls::SelfSigned::localhost();
    let (listener, port) = cert.listener(["http/1.1"]);
    let _server = Server::builder()
        .listener(listener)
        .serve(Auto::new().handler(paf::service_fn(echo)));
    // The rule is the resolver's: `localhost` goes to 127.0.0.1 only.
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let resolver = || {
        Resolver::builder()
            .static_host("localhost", Destination::Addrs(vec![addr]))
            .build()
            .unwrap()
    };
    let tls = || {
        mimic::tls::Tls::builder()
            .add_ca_file(cert.cert_path())
            .build()
            .unwrap()
    };
    let uri = format!("https://localhost:{port}/x");
    let builders = [
        client().resolver(resolver()).tls(tls()),
        client().tls(tls()).resolver(resolver()),
    ];
    for builder in builders {
        let res = builder.build().unwrap().get(&uri).await.unwrap();
        let info = res.connection();
        assert_eq!(info.peer_addr(), Some(&mimic::flow::Addr::Inet(addr)));
        assert!(info.tls().is_some());
        assert_eq!(
            res.text().await.unwrap(),
            format!("/x host=localhost:{port}")
        );
    }
    // Without the TLS configuration, the certificate is not trusted.
    let err = client()
        .resolver(resolver())
        .build()
        .unwrap()
        .get(&uri)
        .await
        .unwrap_err();
    assert!(err.is_tls(), "{err:#}");
}
