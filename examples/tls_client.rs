//! TLS over TCP to a server mimic must be told to trust.
//!
//! The example makes a self-signed certificate for `localhost`, starts a TLS
//! echo server with it on 127.0.0.1 (offering ALPN `h2` and `http/1.1`),
//! then resolves a context that trusts that certificate alone, prints what
//! was negotiated and how the resolution went, and echoes a line.
//!
//! Run it with `cargo run -p examples --example tls_client`.

use std::error::Error;
use std::fmt::Display;
use std::io;
use std::sync::Arc;

use mimic::{Ctx, keys, tls};
use rustls::pki_types::PrivateKeyDer;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Echoes one line back over TLS.
async fn echo_one(listener: TcpListener, acceptor: TlsAcceptor) -> io::Result<()> {
    let (tcp, _) = listener.accept().await?;
    let mut stream = BufReader::new(acceptor.accept(tcp).await?);
    let mut line = String::new();
    stream.read_line(&mut line).await?;
    stream.write_all(line.as_bytes()).await?;
    stream.shutdown().await
}

/// Prints one labelled line.
fn field(label: &str, value: impl Display) {
    println!("  {label:<18} {value}");
}

/// The value, or `-` when there is none.
fn or_dash(value: Option<impl Display>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // The server: a fresh certificate for `localhost` that no public root trusts.
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()])?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], PrivateKeyDer::from(signing_key))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let server = listener.local_addr()?;
    println!("TLS echo server on {server}");
    println!("  self-signed certificate for `localhost`, ALPN h2 and http/1.1\n");
    let acceptor = TlsAcceptor::from(Arc::new(config));
    tokio::spawn(async move {
        if let Err(e) = echo_one(listener, acceptor).await {
            eprintln!("server: {e}");
        }
    });

    // The client: the built-ins, plus a TLS configuration that trusts that
    // certificate and nothing else. Setting the server name is what asks
    // for TLS: every candidate is then wrapped in it.
    let trust = tls::Tls::builder()
        .without_webpki_roots()
        .add_ca_pem(cert.pem())
        .build()?;
    let ctx = Ctx::new()
        .with_builtins()
        .with(&keys::HOST, server.ip().to_string())
        .with(&keys::PORT, server.port())
        .with(&tls::SERVER_NAME, "localhost".to_string())
        .with(&tls::ALPN, vec![b"h2".to_vec(), b"http/1.1".to_vec()])
        .with(&tls::CONFIG, trust.config().clone());

    let mut flow = ctx.resolve().await?;
    let info = flow.info();
    let negotiated = info.tls().ok_or("the flow has no TLS information")?;
    let protocols: Vec<_> = info.protocols().collect();
    let alpn = negotiated.alpn.as_deref().map(String::from_utf8_lossy);
    println!("Connected");
    field("protocol stack", protocols.join(" over "));
    field("local address", or_dash(info.local_addr()));
    field("peer address", or_dash(info.peer_addr()));
    field("server name", or_dash(negotiated.server_name.as_ref()));
    field("TLS version", or_dash(negotiated.version.as_ref()));
    field("cipher suite", or_dash(negotiated.cipher_suite.as_ref()));
    field("ALPN", or_dash(alpn));
    field("peer certificates", negotiated.peer_certificates.len());
    if let Some(report) = info.report() {
        println!("\nHow the resolution went\n{report}");
    }

    let message = "hello over TLS";
    flow.write_all(format!("{message}\n").as_bytes()).await?;
    let mut echoed = String::new();
    BufReader::new(&mut flow).read_line(&mut echoed).await?;
    println!("Echo");
    field("sent", message);
    field("received", echoed.trim_end());
    Ok(())
}
