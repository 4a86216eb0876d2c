//! TLS over a TCP listener: ALPN, SNI, client certificates, certificate
//! replacement, configuration errors.

mod support;

use std::io;
use std::sync::Arc;

use conduit::Error;
use conduit::listener::{
    ClientAuth, Identity, Listener, TcpListener, TlsAcceptor, TlsAcceptorBuilder, TlsListener,
};
use mimic::Flow;
use mimic::flow::Addr;
use rustls::ClientConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use support::{Ca, PROMPT, client_config, presented, tls_connect};

fn listen(acceptor: TlsAcceptor) -> (TlsListener<TcpListener>, std::net::SocketAddr) {
    let tcp = TcpListener::bind("127.0.0.1:0".parse().expect("address")).expect("bind");
    let addr = tcp.local_socket_addr();
    (TlsListener::new(tcp, acceptor), addr)
}

/// One connection: the server's flow (or handshake error) and the client's
/// stream (or error), after the server wrote `ok` and the client read it.
async fn exchange(
    listener: &mut TlsListener<TcpListener>,
    addr: std::net::SocketAddr,
    name: &str,
    config: Arc<ClientConfig>,
) -> (
    io::Result<Flow>,
    io::Result<tokio_rustls::client::TlsStream<TcpStream>>,
) {
    let server = async {
        let connecting = listener.accept().await?;
        let mut flow = connecting.await?;
        flow.write_all(b"ok").await?;
        flow.flush().await?;
        Ok(flow)
    };
    let client = async {
        let mut stream = tls_connect(addr, name, config).await?;
        let mut buf = [0; 2];
        stream.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"ok");
        Ok(stream)
    };
    tokio::time::timeout(PROMPT, async { tokio::join!(server, client) })
        .await
        .expect("the exchange finishes in time")
}

#[tokio::test]
async fn alpn_is_chosen_from_the_application_list() {
    struct Case {
        offered: &'static [&'static str],
        chosen: Option<Option<&'static str>>, // None: refused
    }
    let cases = [
        // The server's preference wins over the client's order.
        Case {
            offered: &["http/1.1", "h2"],
            chosen: Some(Some("h2")),
        },
        Case {
            offered: &["http/1.1"],
            chosen: Some(Some("http/1.1")),
        },
        Case {
            offered: &[],
            chosen: Some(None),
        },
        Case {
            offered: &["h3", "spdy/3"],
            chosen: None,
        },
    ];
    let ca = Ca::new("ALPN CA");
    let leaf = ca.server(&["localhost"]);
    let acceptor = TlsAcceptor::builder()
        .identity(leaf.identity())
        .alpn(["h2", "http/1.1"])
        .build()
        .expect("acceptor");
    let (mut listener, addr) = listen(acceptor);
    for case in cases {
        let config = client_config(&ca, case.offered, None);
        let (server, client) = exchange(&mut listener, addr, "localhost", config).await;
        match case.chosen {
            Some(chosen) => {
                let flow = server.unwrap_or_else(|e| panic!("{:?}: server: {e}", case.offered));
                let client = client.unwrap_or_else(|e| panic!("{:?}: client: {e}", case.offered));
                let tls = flow.info().tls().expect("TLS info");
                assert_eq!(
                    tls.alpn.as_deref(),
                    chosen.map(str::as_bytes),
                    "{:?}",
                    case.offered
                );
                assert_eq!(
                    client.get_ref().1.alpn_protocol(),
                    chosen.map(str::as_bytes)
                );
            }
            None => {
                let err = server.expect_err("no common protocol");
                assert!(err.to_string().contains("protocol"), "{err}");
                assert!(client.is_err());
            }
        }
    }
}

#[tokio::test]
async fn sni_picks_the_certificate() {
    let ca = Ca::new("SNI CA");
    let default = ca.server(&["default.test", "unknown.test"]);
    let a = ca.server(&["a.test"]);
    let wild = ca.server(&["*.wild.test"]);
    let acceptor = TlsAcceptor::builder()
        .identity(default.identity())
        .sni_identity("a.test", a.identity())
        .sni_identity("*.wild.test", wild.identity())
        .build()
        .expect("acceptor");
    let (mut listener, addr) = listen(acceptor);
    let cases = [
        ("a.test", &a),
        ("A.Test", &a),
        ("x.wild.test", &wild),
        ("unknown.test", &default),
        ("default.test", &default),
    ];
    for (name, expected) in cases {
        let (server, client) =
            exchange(&mut listener, addr, name, client_config(&ca, &[], None)).await;
        let flow = server.unwrap_or_else(|e| panic!("{name}: server: {e}"));
        let client = client.unwrap_or_else(|e| panic!("{name}: client: {e}"));
        assert_eq!(presented(&client), expected.der().to_vec(), "{name}");
        let info = flow.info();
        assert_eq!(
            info.protocols().collect::<Vec<_>>(),
            ["tls", "tcp"],
            "{name}"
        );
        assert!(matches!(info.peer_addr(), Some(Addr::Inet(_))), "{name}");
        let tls = info.tls().expect("TLS info");
        assert_eq!(
            tls.server_name.as_deref(),
            Some(name.to_ascii_lowercase().as_str())
        );
        assert!(
            tls.version.is_some() && tls.cipher_suite.is_some(),
            "{name}: {tls:?}"
        );
        assert!(
            tls.peer_certificates.is_empty(),
            "{name}: no client certificate"
        );
    }
}

#[tokio::test]
async fn without_a_default_unknown_names_are_refused() {
    let ca = Ca::new("SNI-only CA");
    let a = ca.server(&["a.test", "b.test"]);
    let acceptor = TlsAcceptor::builder()
        .sni_identity("a.test", a.identity())
        .build()
        .expect("acceptor");
    let (mut listener, addr) = listen(acceptor);
    let (server, client) =
        exchange(&mut listener, addr, "b.test", client_config(&ca, &[], None)).await;
    assert!(server.is_err() && client.is_err());
    let (server, client) =
        exchange(&mut listener, addr, "a.test", client_config(&ca, &[], None)).await;
    assert!(server.is_ok() && client.is_ok());
}

#[tokio::test]
async fn client_certificates() {
    let server_ca = Ca::new("Server CA");
    let client_ca = Ca::new("Client CA");
    let stranger_ca = Ca::new("Stranger CA");
    let leaf = server_ca.server(&["localhost"]);
    let alice = client_ca.client("alice");
    let mallory = stranger_ca.client("mallory");

    struct Case<'a> {
        name: &'a str,
        auth: ClientAuth,
        presents: Option<&'a support::Leaf>,
        accepted: bool,
    }
    let cases = [
        Case {
            name: "required, none presented",
            auth: ClientAuth::Required(client_ca.bundle()),
            presents: None,
            accepted: false,
        },
        Case {
            name: "required, trusted",
            auth: ClientAuth::Required(client_ca.bundle()),
            presents: Some(&alice),
            accepted: true,
        },
        Case {
            name: "required, untrusted",
            auth: ClientAuth::Required(client_ca.bundle()),
            presents: Some(&mallory),
            accepted: false,
        },
        Case {
            name: "optional, none presented",
            auth: ClientAuth::Optional(client_ca.bundle()),
            presents: None,
            accepted: true,
        },
        Case {
            name: "optional, trusted",
            auth: ClientAuth::Optional(client_ca.bundle()),
            presents: Some(&alice),
            accepted: true,
        },
        Case {
            name: "optional, untrusted",
            auth: ClientAuth::Optional(client_ca.bundle()),
            presents: Some(&mallory),
            accepted: false,
        },
    ];
    for case in cases {
        let acceptor = TlsAcceptor::builder()
            .identity(leaf.identity())
            .client_auth(case.auth)
            .build()
            .expect("acceptor");
        let (mut listener, addr) = listen(acceptor);
        let config = client_config(&server_ca, &[], case.presents);
        let (server, client) = exchange(&mut listener, addr, "localhost", config).await;
        if case.accepted {
            let flow = server.unwrap_or_else(|e| panic!("{}: server: {e}", case.name));
            client.unwrap_or_else(|e| panic!("{}: client: {e}", case.name));
            let certs = &flow.info().tls().expect("TLS info").peer_certificates;
            match case.presents {
                Some(leaf) => {
                    assert_eq!(certs.first(), Some(&leaf.der().to_vec()), "{}", case.name)
                }
                None => assert!(certs.is_empty(), "{}", case.name),
            }
        } else {
            assert!(server.is_err(), "{}: the server must refuse", case.name);
            assert!(
                client.is_err(),
                "{}: the client must see the refusal",
                case.name
            );
        }
    }
}

#[tokio::test]
async fn certificates_can_be_replaced_while_running() {
    let ca = Ca::new("Rotation CA");
    let old = ca.server(&["localhost"]);
    let new = ca.server(&["localhost"]);
    let acceptor = TlsAcceptor::builder()
        .identity(old.identity())
        .build()
        .expect("acceptor");
    let handle = acceptor.clone();
    let (mut listener, addr) = listen(acceptor);
    let config = client_config(&ca, &[], None);

    let (server, client) = exchange(&mut listener, addr, "localhost", config.clone()).await;
    let mut before_flow = server.expect("server before");
    let mut before = client.expect("client before");
    assert_eq!(presented(&before), old.der().to_vec());

    handle.set_config(
        TlsAcceptor::builder()
            .identity(new.identity())
            .build_config()
            .expect("new config"),
    );

    let (server, client) = exchange(&mut listener, addr, "localhost", config).await;
    server.expect("server after");
    assert_eq!(
        presented(&client.expect("client after")),
        new.der().to_vec()
    );

    // The connection made before the swap is unaffected.
    before
        .write_all(b"still")
        .await
        .expect("old connection writes");
    let mut buf = [0; 5];
    before_flow
        .read_exact(&mut buf)
        .await
        .expect("old connection reads");
    assert_eq!(&buf, b"still");
}

#[tokio::test]
async fn accept_does_not_wait_for_the_handshake() {
    let ca = Ca::new("Lazy CA");
    let acceptor = TlsAcceptor::builder()
        .identity(ca.server(&["localhost"]).identity())
        .build()
        .expect("acceptor");
    let (mut listener, addr) = listen(acceptor);
    // A client that connects and never says anything.
    let silent = TcpStream::connect(addr).await.expect("connect");
    let connecting = tokio::time::timeout(PROMPT, listener.accept())
        .await
        .expect("accept returns without a handshake")
        .expect("accept");
    assert_eq!(
        connecting.peer_addr(),
        Some(&Addr::Inet(silent.local_addr().expect("client address")))
    );
    drop(silent);
    let err = connecting.await.expect_err("the peer left mid-handshake");
    assert!(matches!(
        err.kind(),
        io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset
    ));
}

#[tokio::test]
async fn identities_from_files() {
    let dir = support::TempDir::new("tls-files");
    let ca = Ca::new("File CA");
    let leaf = ca.server(&["localhost"]);
    let (cert, key, ca_file) = (
        dir.join("cert.pem"),
        dir.join("key.pem"),
        dir.join("ca.pem"),
    );
    std::fs::write(&cert, &leaf.cert_pem).expect("write cert");
    std::fs::write(&key, &leaf.key_pem).expect("write key");
    std::fs::write(&ca_file, &ca.pem).expect("write CA");
    let identity = Identity::from_pem_files(&cert, &key).expect("identity from files");
    assert_eq!(identity.chain().len(), 1);
    let bundle = conduit::listener::CaBundle::from_pem_file(&ca_file).expect("bundle from file");
    let acceptor = TlsAcceptor::builder()
        .identity(identity)
        .client_auth(ClientAuth::Optional(bundle))
        .build()
        .expect("acceptor");
    let (mut listener, addr) = listen(acceptor);
    let (server, client) = exchange(
        &mut listener,
        addr,
        "localhost",
        client_config(&ca, &[], None),
    )
    .await;
    assert!(server.is_ok() && client.is_ok());
}

#[test]
fn configuration_errors_say_what_to_fix() {
    let ca = Ca::new("Error CA");
    let one = ca.server(&["localhost"]);
    let two = ca.server(&["localhost"]);
    let missing = std::env::temp_dir().join("conduit-no-such-dir/cert.pem");

    let cases: Vec<(&str, Result<TlsAcceptorBuilder, Error>, &str)> = vec![
        (
            "key of another certificate",
            Identity::from_pem(one.cert_pem.as_bytes(), two.key_pem.as_bytes())
                .map(|i| TlsAcceptor::builder().identity(i)),
            "belongs to this certificate",
        ),
        (
            "no certificate",
            Identity::from_pem(b"", one.key_pem.as_bytes())
                .map(|i| TlsAcceptor::builder().identity(i)),
            "no certificate in <memory>",
        ),
        (
            "no key",
            Identity::from_pem(one.cert_pem.as_bytes(), one.cert_pem.as_bytes())
                .map(|i| TlsAcceptor::builder().identity(i)),
            "no private key",
        ),
        (
            "missing file",
            Identity::from_pem_files(&missing, &missing)
                .map(|i| TlsAcceptor::builder().identity(i)),
            "cannot read",
        ),
        (
            "nothing configured",
            Ok(TlsAcceptor::builder()),
            "no server certificate configured",
        ),
        (
            "bad SNI name",
            Ok(TlsAcceptor::builder().sni_identity("not a name", one.identity())),
            "not a valid DNS name",
        ),
        (
            "IP address as SNI name",
            Ok(TlsAcceptor::builder().sni_identity("127.0.0.1", one.identity())),
            "not a valid DNS name",
        ),
    ];
    for (name, builder, expected) in cases {
        let err = builder.and_then(|b| b.build()).expect_err(name);
        assert!(err.is_tls() && !err.is_connect(), "{name}: {err:?}");
        let message = err.to_string();
        assert!(message.contains(expected), "{name}: {message}");
        // The whole chain starts with the error's own text.
        assert!(format!("{err:#}").starts_with(&message), "{name}: {err:#}");
    }

    // `{}` is the error's own text, with its advice; `{:#}` adds the cause.
    let err = Identity::from_pem(one.cert_pem.as_bytes(), two.key_pem.as_bytes())
        .expect_err("the key of another certificate");
    assert_eq!(
        err.to_string(),
        "the private key for the certificate from <memory> is unusable \
         (check that the key file belongs to this certificate)"
    );
    let cause = std::error::Error::source(&err).expect("what rustls said");
    assert_eq!(format!("{err:#}"), format!("{err}: {cause}"));
    let err = Identity::from_pem_files(&missing, &missing).expect_err("no such file");
    assert_eq!(
        format!("{err:#}"),
        format!(
            "cannot read PEM from {}: I/O error: No such file or directory (os error 2)",
            missing.display()
        )
    );
}
