//! TLS over real loopback flows with certificates made here: ALPN and the
//! negotiated parameters in the flow info, downcasts, one TLS layer over
//! TCP, Unix and in-memory flows, client certificates, and rejections that
//! say why.

mod support;

use std::sync::Arc;

use mimic::{Ctx, Flow, keys, mem, tls, unix};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixListener};
use tokio_rustls::TlsAcceptor;

/// A CA, a server certificate for `localhost` and a client certificate.
struct Pki {
    ca_pem: String,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: PrivatePkcs8KeyDer<'static>,
    client_chain_pem: String,
    client_key_pem: String,
    ca_der: CertificateDer<'static>,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().expect("server key");
    let server_cert = CertificateParams::new(vec!["localhost".to_string()])
        .expect("server params")
        .signed_by(&server_key, &issuer)
        .expect("server certificate");
    let client_key = KeyPair::generate().expect("client key");
    let client_cert = CertificateParams::new(vec!["client.test".to_string()])
        .expect("client params")
        .signed_by(&client_key, &issuer)
        .expect("client certificate");
    Pki {
        ca_pem: ca_cert.pem(),
        ca_der: ca_cert.der().clone(),
        server_chain: vec![server_cert.der().clone()],
        server_key: PrivatePkcs8KeyDer::from(server_key.serialize_der()),
        client_chain_pem: client_cert.pem(),
        client_key_pem: client_key.serialize_pem(),
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn acceptor(pki: &Pki, require_client_cert: bool) -> TlsAcceptor {
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("TLS versions");
    let builder = if require_client_cert {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(pki.ca_der.clone()).expect("CA root");
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .expect("client verifier");
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let mut config = builder
        .with_single_cert(
            pki.server_chain.clone(),
            PrivateKeyDer::Pkcs8(pki.server_key.clone_key()),
        )
        .expect("server certificate and key");
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    TlsAcceptor::from(Arc::new(config))
}

/// Completes the handshake and echoes; handshake errors end the task.
fn serve_tls<S>(acceptor: TlsAcceptor, stream: S)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        if let Ok(tls) = acceptor.accept(stream).await {
            let (mut r, mut w) = tokio::io::split(tls);
            let _ = tokio::io::copy(&mut r, &mut w).await;
        }
    });
}

async fn tls_tcp_server(acceptor: TlsAcceptor) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("bound").port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            serve_tls(acceptor.clone(), stream);
        }
    });
    port
}

fn trusting(pki: &Pki) -> tls::Tls {
    tls::Tls::builder()
        .without_webpki_roots()
        .add_ca_pem(pki.ca_pem.clone())
        .build()
        .expect("client TLS configuration")
}

/// A context with TCP, Unix, DNS and `tls` as the TLS layer.
fn ctx_with(tls: tls::Tls) -> Ctx {
    let plain = Ctx::new().with_builtins();
    tls.install(plain)
}

async fn round_trip(flow: &mut Flow) {
    flow.write_all(b"ping").await.expect("write");
    let mut buf = [0; 4];
    flow.read_exact(&mut buf).await.expect("read the echo");
    assert_eq!(&buf, b"ping");
}

#[tokio::test]
async fn tls_over_tcp_reports_what_was_negotiated() {
    let pki = pki();
    let port = tls_tcp_server(acceptor(&pki, false)).await;
    let ctx = ctx_with(trusting(&pki))
        .with(&keys::HOST, "127.0.0.1".to_string())
        .with(&keys::PORT, port)
        .with(&tls::SERVER_NAME, "localhost".to_string())
        .with(&tls::ALPN, vec![b"h2".to_vec()]);
    let mut flow = ctx.resolve().await.expect("TLS connects");

    let info = flow.info();
    assert_eq!(info.protocols().collect::<Vec<_>>(), ["tls", "tcp"]);
    let negotiated = info.tls().expect("TLS info");
    assert_eq!(negotiated.alpn.as_deref(), Some(&b"h2"[..]));
    assert_eq!(negotiated.version.as_deref(), Some("TLSv1_3"));
    assert!(
        negotiated
            .cipher_suite
            .as_deref()
            .is_some_and(|s| s.starts_with("TLS13_"))
    );
    assert_eq!(negotiated.server_name.as_deref(), Some("localhost"));
    assert_eq!(
        negotiated.peer_certificates,
        vec![pki.server_chain[0].to_vec()]
    );
    assert!(matches!(info.peer_addr(), Some(mimic::flow::Addr::Inet(a)) if a.port() == port));
    assert_eq!(
        info.endpoint(),
        Some(&*format!("localhost (alpn h2) over 127.0.0.1:{port}"))
    );

    let stream: &tls::TlsStream = flow.downcast_ref().expect("the TLS stream");
    let (inner, session) = stream.get_ref();
    assert_eq!(session.alpn_protocol(), Some(&b"h2"[..]));
    assert!(inner.downcast_ref::<TcpStream>().is_some(), "TCP under TLS");
    round_trip(&mut flow).await;
}

#[tokio::test]
async fn alpn_follows_the_offer() {
    let pki = pki();
    let port = tls_tcp_server(acceptor(&pki, false)).await;
    let base = ctx_with(trusting(&pki))
        .with(&keys::HOST, "127.0.0.1".to_string())
        .with(&keys::PORT, port)
        .with(&tls::SERVER_NAME, "localhost".to_string());
    for (offer, expected) in [
        (vec![b"http/1.1".to_vec()], Some(&b"http/1.1"[..])),
        (vec![b"h2".to_vec(), b"http/1.1".to_vec()], Some(&b"h2"[..])),
        (vec![], None),
    ] {
        let flow = base
            .clone()
            .with(&tls::ALPN, offer)
            .resolve()
            .await
            .expect("connects");
        let tls = flow.info().tls().expect("TLS info");
        assert_eq!(tls.alpn.as_deref(), expected);
    }
}

#[tokio::test]
async fn a_wrong_host_name_is_rejected_and_says_so() {
    let pki = pki();
    let port = tls_tcp_server(acceptor(&pki, false)).await;
    let ctx = ctx_with(trusting(&pki))
        .with(&keys::HOST, "127.0.0.1".to_string())
        .with(&keys::PORT, port)
        .with(&tls::SERVER_NAME, "wrong.example".to_string());
    let err = ctx.resolve().await.expect_err("the name does not match");
    let text = err.to_string();
    assert!(
        text.contains("tls/tcp (priority 0) wrong.example over 127.0.0.1:"),
        "{text}"
    );
    assert!(text.contains("tls failed after"), "{text}");
    assert!(text.contains("not valid for name"), "{text}");
}

#[tokio::test]
async fn an_untrusted_certificate_is_rejected_and_says_so() {
    let pki = pki();
    let port = tls_tcp_server(acceptor(&pki, false)).await;
    // The webpki roots only: our CA is unknown.
    let ctx = Ctx::new()
        .with_builtins()
        .with(&keys::HOST, "127.0.0.1".to_string())
        .with(&keys::PORT, port)
        .with(&tls::SERVER_NAME, "localhost".to_string());
    let err = ctx.resolve().await.expect_err("unknown issuer");
    let text = err.to_string();
    assert!(
        text.contains("invalid peer certificate: UnknownIssuer"),
        "{text}"
    );

    // Only an explicit, loudly named option accepts it.
    let insecure = tls::Tls::builder()
        .danger_accept_invalid_certificates()
        .build()
        .expect("insecure configuration");
    let flow = insecure
        .install(ctx)
        .resolve()
        .await
        .expect("accepted on request");
    assert!(flow.info().tls().is_some());
}

#[tokio::test]
async fn tls_over_a_unix_socket_comes_from_the_same_layer() {
    let pki = pki();
    let acceptor = acceptor(&pki, false);
    let path = support::socket_path("tls");
    let listener = UnixListener::bind(&path).expect("bind");
    tokio::spawn(async move {
        if let Ok((stream, _)) = listener.accept().await {
            serve_tls(acceptor, stream);
        }
    });
    let ctx = ctx_with(trusting(&pki))
        .with(&unix::PATH, path.clone())
        .with(&tls::SERVER_NAME, "localhost".to_string());
    let mut flow = ctx.resolve().await.expect("TLS over Unix");
    assert_eq!(flow.info().protocols().collect::<Vec<_>>(), ["tls", "unix"]);
    let (inner, _) = flow
        .downcast_ref::<tls::TlsStream>()
        .expect("TLS")
        .get_ref();
    assert!(inner.is::<tokio::net::UnixStream>());
    round_trip(&mut flow).await;
    std::fs::remove_file(path).expect("remove the socket");
}

#[tokio::test]
async fn tls_over_a_user_protocol() {
    let pki = pki();
    let acceptor = acceptor(&pki, false);
    let hub = mem::Hub::new();
    let mut listener = hub.bind("secure").expect("bind");
    tokio::spawn(async move {
        if let Ok(flow) = listener.accept().await {
            serve_tls(acceptor, flow);
        }
    });
    // `mem` stands in for any protocol registered by a user.
    let ctx = trusting(&pki)
        .install(Ctx::new().with_protocol(&mem::registration(hub)))
        .with(&mem::ADDRESS, "secure".to_string())
        .with(&tls::SERVER_NAME, "localhost".to_string());
    let mut flow = ctx.resolve().await.expect("TLS over mem");
    assert_eq!(flow.info().protocols().collect::<Vec<_>>(), ["tls", "mem"]);
    round_trip(&mut flow).await;
}

#[tokio::test]
async fn client_certificates() {
    let pki = pki();
    let port = tls_tcp_server(acceptor(&pki, true)).await;
    let base = |tls: tls::Tls| {
        ctx_with(tls)
            .with(&keys::HOST, "127.0.0.1".to_string())
            .with(&keys::PORT, port)
            .with(&tls::SERVER_NAME, "localhost".to_string())
    };
    let with_cert = tls::Tls::builder()
        .without_webpki_roots()
        .add_ca_pem(pki.ca_pem.clone())
        .client_cert_pem(pki.client_chain_pem.clone(), pki.client_key_pem.clone())
        .build()
        .expect("client certificate configuration");
    let mut flow = base(with_cert)
        .resolve()
        .await
        .expect("accepted with a certificate");
    round_trip(&mut flow).await;

    // Without one, TLS 1.3 reports the rejection on first read.
    let mut flow = base(trusting(&pki))
        .resolve()
        .await
        .expect("handshake completes");
    let _ = flow.write_all(b"ping").await;
    let mut buf = [0; 4];
    let err = flow
        .read_exact(&mut buf)
        .await
        .expect_err("the server refuses");
    assert!(err.to_string().contains("CertificateRequired"), "{err}");
}

#[test]
fn configuration_errors_name_their_source() {
    let missing = tls::Tls::builder()
        .add_ca_file("/nonexistent/ca.pem")
        .build();
    let err = missing.expect_err("no such file");
    // `{}` is the error's own text; `{:#}` adds its source, the reason.
    assert_eq!(err.to_string(), "cannot read PEM from /nonexistent/ca.pem");
    let source = std::error::Error::source(&err).expect("the PEM error");
    assert_eq!(
        format!("{err:#}"),
        format!("cannot read PEM from /nonexistent/ca.pem: {source}")
    );

    let empty = tls::Tls::builder().add_ca_pem("not a certificate").build();
    assert_eq!(
        empty.expect_err("no certificate").to_string(),
        "no certificate in <memory>"
    );

    let name = tls::TlsEndpoint::new("bad name!").expect_err("invalid");
    assert_eq!(
        name.to_string(),
        "`bad name!` is not a valid TLS server name"
    );
    // No source: the whole chain is the error's own text.
    assert_eq!(format!("{name:#}"), name.to_string());
    assert!(tls::TlsEndpoint::new("[::1]").is_ok());
}

#[tokio::test]
async fn an_invalid_server_name_is_reported_for_the_tls_layer() {
    let err = Ctx::new()
        .with_builtins()
        .with(&keys::HOST, "127.0.0.1".to_string())
        .with(&keys::PORT, 1)
        .with(&tls::SERVER_NAME, "bad name!".to_string())
        .resolve()
        .await
        .expect_err("nothing listens on port 1");
    let text = err.to_string();
    assert!(
        text.contains(
            "tls (priority 0): not built: derivation of `tls endpoint` failed: \
             `bad name!` is not a valid TLS server name"
        ),
        "{text}"
    );
}
