//! conduit's one error type: which predicates each kind of failure answers
//! yes to, and how it reads with `{}` and `{:#}`.

mod support;

use std::error::Error as _;
use std::time::Duration;

use conduit::listener::{Identity, Listener, TcpListener, TlsAcceptor, TlsListener};
use conduit::serve::Server;
use conduit::{DockerHost, Endpoint, Error, Resolver};
use mimic::Ctx;

use support::Ca;

/// A predicate of [`Error`], by name.
type Predicate = (&'static str, fn(&Error) -> bool);

/// The names of the predicates that hold for `err`.
fn holds(err: &Error) -> Vec<&'static str> {
    let predicates: [Predicate; 9] = [
        ("invalid_uri", Error::is_invalid_uri),
        ("unknown_scheme", Error::is_unknown_scheme),
        ("invalid_endpoint", Error::is_invalid_endpoint),
        ("docker", Error::is_docker),
        ("tls", Error::is_tls),
        ("connect", Error::is_connect),
        ("timeout", Error::is_timeout),
        ("listen", Error::is_listen),
        ("addr_in_use", Error::is_addr_in_use),
    ];
    predicates
        .iter()
        .filter(|(_, holds)| holds(err))
        .map(|(name, _)| *name)
        .collect()
}

fn resolver() -> Resolver {
    Resolver::builder()
        .services_file(None)
        .build()
        .expect("a resolver without a services file")
}

/// A port on 127.0.0.1 that refuses connections.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

#[tokio::test]
async fn each_kind_answers_its_own_predicates() {
    let port = closed_port();
    let taken = TcpListener::bind("127.0.0.1:0".parse().expect("address")).expect("bind");
    let deadline = Resolver::builder()
        .services_file(None)
        .base(Ctx::new().with_builtins().with_deadline(Duration::ZERO))
        .build()
        .expect("resolver");
    let cases: Vec<(&str, Error, &[&str])> = vec![
        (
            "no scheme",
            resolver().resolve("example.com").expect_err("no scheme"),
            &["invalid_uri"],
        ),
        (
            "unknown scheme",
            resolver().resolve("ftp2://h/").expect_err("unknown"),
            &["unknown_scheme"],
        ),
        (
            "endpoint text",
            "tcp://h".parse::<Endpoint>().expect_err("no port"),
            &["invalid_endpoint"],
        ),
        (
            "DOCKER_HOST",
            DockerHost::from_vars(|_| Some("ssh://h".into())).expect_err("ssh"),
            &["docker"],
        ),
        (
            "certificate",
            Identity::from_pem(b"", b"").expect_err("empty PEM"),
            &["tls"],
        ),
        (
            "no TLS layer",
            Resolver::builder()
                .services_file(None)
                .base(Ctx::new().with_builtins().without(&mimic::tls::ENDPOINT))
                .build()
                .expect("resolver")
                .resolve("https://example.com/")
                .expect_err("no TLS layer"),
            &["tls"],
        ),
        (
            "refused",
            resolver()
                .connect(&format!("http://127.0.0.1:{port}/"))
                .await
                .expect_err("refused"),
            &["connect"],
        ),
        (
            "deadline",
            deadline
                .connect(&format!("http://127.0.0.1:{port}/"))
                .await
                .expect_err("no time at all"),
            &["connect", "timeout"],
        ),
        (
            "port taken",
            TcpListener::bind(taken.local_socket_addr()).expect_err("taken"),
            &["listen", "addr_in_use"],
        ),
    ];
    for (name, err, expected) in cases {
        assert_eq!(holds(&err), expected, "{name}: {err:#}");
        assert_eq!(err.report().is_some(), err.is_connect(), "{name}");
    }
}

/// A resolver whose base cannot do TLS refuses an `https` URI before
/// connecting, rather than sending in clear text.
#[tokio::test]
async fn https_without_a_tls_layer_never_connects() {
    let listener = TcpListener::bind("127.0.0.1:0".parse().expect("address")).expect("bind");
    let addr = listener.local_socket_addr();
    let server = Server::builder()
        .listener(listener)
        .serve(|_flow, _drain| async {
            panic!("nothing may connect");
        });
    let plain = Resolver::builder()
        .services_file(None)
        .base(Ctx::new().with_builtins().without(&mimic::tls::ENDPOINT))
        .build()
        .expect("resolver");
    let uri = format!("https://localhost:{}/", addr.port());
    let err = plain
        .connect(&uri)
        .await
        .expect_err("refused before connecting");
    assert!(err.is_tls() && !err.is_connect(), "{err:#}");
    assert_eq!(
        err.to_string(),
        format!(
            "`{uri}` needs TLS, but the resolver's base context has no TLS layer \
             (install one with `mimic::tls::Tls::install`, or start from `Ctx::with_builtins`)"
        )
    );
    let report = server.shutdown(Duration::from_secs(5)).await;
    assert_eq!(
        report.finished + report.aborted,
        0,
        "no connection: {report:?}"
    );
}

#[tokio::test]
async fn a_failed_handshake_is_tls_and_connect() {
    let ca = Ca::new("Untrusted CA");
    let acceptor = TlsAcceptor::builder()
        .identity(ca.server(&["localhost"]).identity())
        .build()
        .expect("acceptor");
    let tcp = TcpListener::bind("127.0.0.1:0".parse().expect("address")).expect("bind");
    let port = match tcp.local_addr() {
        mimic::flow::Addr::Inet(addr) => addr.port(),
        other => panic!("not an IP listener: {other}"),
    };
    let server = Server::builder()
        .listener(TlsListener::new(tcp, acceptor))
        .serve(|_flow, _drain| async {});
    let err = resolver()
        .connect(&format!("https://127.0.0.1:{port}/"))
        .await
        .expect_err("the CA is not trusted");
    assert_eq!(holds(&err), ["tls", "connect"], "{err:#}");
    drop(server);
}

#[test]
fn display_is_the_own_text_and_the_alternate_the_whole_chain() {
    // Without a source, both read the same.
    let err = resolver().resolve("ftp2://h/").expect_err("unknown");
    assert_eq!(
        err.to_string(),
        "unknown scheme `ftp2`; known schemes: http, https, unix, ws, wss. \
         To add a scheme, give its port with `ResolverBuilder::scheme`, \
         or handle it with `ResolverBuilder::custom_scheme`"
    );
    assert!(err.source().is_none());
    assert_eq!(format!("{err:#}"), err.to_string());

    let err = Error::invalid_uri("vsock://x", "no CID");
    assert_eq!(err.to_string(), "invalid URI `vsock://x`: no CID");
    assert_eq!(format!("{err:#}"), "invalid URI `vsock://x`: no CID");

    // With one, `{:#}` adds each cause once.
    let dir = std::env::temp_dir();
    let err = Resolver::builder()
        .services_file(Some(dir.clone()))
        .build()
        .expect_err("a directory is not a services file");
    assert_eq!(
        err.to_string(),
        format!("cannot read the services file {}", dir.display())
    );
    let cause = err.source().expect("the system's error");
    assert_eq!(format!("{err:#}"), format!("{err}: {cause}"));
    assert_eq!(
        std::io::Error::from(err).kind(),
        std::io::ErrorKind::IsADirectory
    );
}

#[tokio::test]
async fn a_connect_error_carries_mimics_report_once() {
    let port = closed_port();
    let uri = format!("http://127.0.0.1:{port}/");
    let err = resolver().connect(&uri).await.expect_err("refused");
    assert_eq!(err.to_string(), format!("cannot connect to `{uri}`"));
    let resolve = err
        .source()
        .and_then(|e| e.downcast_ref::<mimic::ResolveError>())
        .expect("mimic's error is the source");
    // The report is the source's own text, and the source has no source:
    // every cause shows once.
    assert!(resolve.source().is_none());
    assert_eq!(format!("{err:#}"), format!("{err}: {resolve}"));
    let text = format!("{err:#}");
    assert_eq!(text.matches("Connection refused").count(), 1, "{text}");
    let report = err.report().expect("the report");
    assert_eq!(report.entries().len(), 3, "{text}");
}
