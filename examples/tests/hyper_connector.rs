//! conduit::hyper::Connector under hyper-util's legacy client, against paf:
//! TLS with HTTP/2 or HTTP/1.1 chosen by ALPN, Unix sockets by a rule, the
//! connection's Arc<mimic::Info> in the response, and failures as conduit's
//! error with mimic's report.

mod support;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use conduit::hyper::{Connector, connect_error};
use conduit::listener::UnixListener;
use conduit::serve::Server;
use conduit::{Destination, Overrides, Resolver};
use http::{Request, Response, Version};
use mimic::Info;
use mimic::report::Outcome;
use paf::Body;
use paf::server::{Auto, Serve};
use testkit::TempDir;

use support::{Got, client, get, port, tcp};

/// Answers with the version the server saw and the path.
async fn answer(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let text = format!("{:?} {}", req.version(), req.uri().path());
    Ok(Response::new(Body::full(text)))
}

/// A paf server over TLS on 127.0.0.1 offering `alpn`, and a resolver that
/// trusts its certificate (for `localhost`, pinned to 127.0.0.1).
fn tls_server(alpn: &[&str]) -> (Server, Resolver) {
    let (listener, cert_pem) = support::tls_listener(alpn);
    let server = Server::builder()
        .listener(listener)
        .serve(Auto::new().handler(paf::service_fn(answer)));
    (server, support::trusting(&cert_pem))
}

fn alpn(info: &Info) -> Option<String> {
    let tls = info.tls()?;
    Some(String::from_utf8_lossy(tls.alpn.as_deref()?).into_owned())
}

#[tokio::test]
async fn alpn_h2_gives_http2_over_tls() {
    let (server, resolver) = tls_server(&["h2", "http/1.1"]);
    let client = client(Connector::with_resolver(resolver), false);
    let uri = format!("https://localhost:{}/two", port(&server));
    let Got {
        version,
        body,
        info,
        ..
    } = get(&client, &uri).await;
    assert_eq!(version, Version::HTTP_2);
    assert_eq!(body, "HTTP/2.0 /two");
    assert_eq!(alpn(&info).as_deref(), Some("h2"));
    assert_eq!(info.protocols().collect::<Vec<_>>(), ["tls", "tcp"]);
    let report = info.report().expect("the resolution's report");
    assert!(
        report
            .entries()
            .iter()
            .any(|e| matches!(e.outcome, Outcome::Connected { .. }))
    );
    // A second request shares the HTTP/2 connection.
    let Got {
        version,
        body,
        info: again,
        ..
    } = get(&client, &uri).await;
    assert_eq!((version, body.as_str()), (Version::HTTP_2, "HTTP/2.0 /two"));
    assert!(info.local_addr().is_some());
    assert_eq!(again.local_addr(), info.local_addr(), "one connection");
    let _ = server.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn alpn_http1_gives_http11_over_tls() {
    let (server, resolver) = tls_server(&["http/1.1"]);
    let client = client(Connector::with_resolver(resolver), false);
    let uri = format!("https://localhost:{}/one", port(&server));
    let Got {
        version,
        body,
        info,
        ..
    } = get(&client, &uri).await;
    assert_eq!(version, Version::HTTP_11);
    assert_eq!(body, "HTTP/1.1 /one");
    assert_eq!(alpn(&info).as_deref(), Some("http/1.1"));
    let _ = server.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn the_connector_offers_its_own_alpn() {
    let (server, resolver) = tls_server(&["h2", "http/1.1"]);
    let client = client(Connector::with_resolver(resolver).alpn(["http/1.1"]), false);
    let uri = format!("https://localhost:{}/one", port(&server));
    let Got { version, info, .. } = get(&client, &uri).await;
    assert_eq!(version, Version::HTTP_11);
    assert_eq!(alpn(&info).as_deref(), Some("http/1.1"));
    let _ = server.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn unix_sockets_by_a_static_host_and_by_an_override() {
    let dir = TempDir::new("hyper-connector-unix");
    let socket = dir.join("app.sock");
    let server = Server::builder()
        .listener(UnixListener::bind(&socket).expect("bind the socket"))
        .serve(Auto::new().handler(paf::service_fn(answer)));

    let resolver = Resolver::builder()
        .static_host("app.local", Destination::Unix(socket.clone()))
        .build()
        .expect("the resolver builds");
    let by_host = client(Connector::with_resolver(resolver), false);
    let Got {
        version,
        body,
        info,
        ..
    } = get(&by_host, "http://app.local/by-host").await;
    assert_eq!(
        (version, body.as_str()),
        (Version::HTTP_11, "HTTP/1.1 /by-host")
    );
    assert_eq!(info.protocol(), "unix");

    let overrides = Overrides::new().unix_socket(&socket);
    let by_override = client(Connector::new().overrides(overrides), false);
    let Got { body, info, .. } = get(&by_override, "http://localhost/by-override").await;
    assert_eq!(body, "HTTP/1.1 /by-override");
    assert_eq!(info.protocol(), "unix");
    let _ = server.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_failure_is_conduits_error_with_the_report() {
    let closed = tcp().local_socket_addr();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let hook = seen.clone();
    let connector = Connector::new().on_error(move |err| {
        hook.lock().expect("not poisoned").push(format!("{err:#}"));
    });
    let client = client(connector, false);
    let uri = format!("http://{closed}/");
    let err = client
        .get(uri.parse().expect("a URI"))
        .await
        .expect_err("nothing listens there");
    assert!(err.is_connect());
    let conduit_err = connect_error(&err).expect("conduit's error is in the chain");
    assert!(conduit_err.is_connect());
    let report = conduit_err.report().expect("mimic's report");
    assert!(!report.entries().is_empty());
    assert!(
        report
            .entries()
            .iter()
            .all(|e| !matches!(e.outcome, Outcome::Connected { .. }))
    );
    let text = format!("{conduit_err:#}");
    assert!(text.contains(&closed.to_string()), "{text}");
    assert!(text.contains("refused"), "{text}");
    assert_eq!(*seen.lock().expect("not poisoned"), vec![text]);
}

#[tokio::test]
async fn an_unknown_scheme_is_conduits_error() {
    let client = client(Connector::new(), false);
    let err = client
        .get("nosuchscheme://example.test/".parse().expect("a URI"))
        .await
        .expect_err("no such scheme");
    let conduit_err = connect_error(&err).expect("conduit's error is in the chain");
    assert!(conduit_err.is_unknown_scheme(), "{conduit_err:#}");
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_tls_error() {
    let (server, _) = tls_server(&["h2", "http/1.1"]);
    // The default resolver trusts the public roots, not this certificate.
    let resolver = support::localhost().build().expect("the resolver builds");
    let client = client(Connector::with_resolver(resolver), false);
    let uri = format!("https://localhost:{}/", port(&server));
    let err = client
        .get(uri.parse().expect("a URI"))
        .await
        .expect_err("the certificate is self-signed");
    let conduit_err = connect_error(&err).expect("conduit's error is in the chain");
    assert!(
        conduit_err.is_connect() && conduit_err.is_tls(),
        "{conduit_err:#}"
    );
    let _ = server.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn https_without_a_tls_layer_is_refused_not_sent_in_clear() {
    let (server, _) = tls_server(&["h2", "http/1.1"]);
    let base = mimic::Ctx::new()
        .with_builtins()
        .without(&mimic::tls::ENDPOINT);
    let resolver = support::localhost()
        .base(base)
        .build()
        .expect("the resolver builds");
    let client = client(Connector::with_resolver(resolver), false);
    let uri = format!("https://localhost:{}/", port(&server));
    let err = client
        .get(uri.parse().expect("a URI"))
        .await
        .expect_err("no TLS layer");
    let conduit_err = connect_error(&err).expect("conduit's error is in the chain");
    assert!(
        conduit_err.is_tls() && !conduit_err.is_connect(),
        "{conduit_err:#}"
    );
    assert!(
        conduit_err.to_string().contains("no TLS layer"),
        "{conduit_err}"
    );
    let _ = server.shutdown(Duration::from_secs(5)).await;
}
