//! One server on TCP, TLS and a Unix socket at once, and a client that
//! reaches each through conduit's URI resolution; then a graceful shutdown.
//!
//! ```sh
//! cargo run -p examples --example listen_all
//! ```

use std::error::Error;
use std::time::Duration;

use conduit::listener::{Identity, TcpListener, TlsAcceptor, TlsListener, UnixListener};
use conduit::serve::{Drain, Server};
use conduit::{Resolver, connect};
use mimic::{Ctx, Flow, tls::Tls};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Answers one line with what the server knows about the connection.
async fn describe(mut flow: Flow, _drain: Drain) {
    let mut buf = [0; 64];
    let Ok(n) = flow.read(&mut buf).await else {
        return;
    };
    let info = flow.info();
    let stack: Vec<_> = info.protocols().collect();
    let peer = info.peer_addr().map_or("-".to_string(), |a| a.to_string());
    let reply = format!(
        "{} from {peer} over {}",
        String::from_utf8_lossy(&buf[..n]),
        stack.join("/")
    );
    let _ = flow.write_all(reply.as_bytes()).await;
    // A clean end: TLS sends close_notify, TCP and Unix a FIN.
    let _ = flow.shutdown().await;
}

async fn ask(mut flow: Flow) -> Result<String, Box<dyn Error>> {
    flow.write_all(b"hello").await?;
    let mut reply = String::new();
    flow.read_to_string(&mut reply).await?;
    Ok(reply)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])?;
    let identity = Identity::from_pem(
        certified.cert.pem().as_bytes(),
        certified.signing_key.serialize_pem().as_bytes(),
    )?;
    let acceptor = TlsAcceptor::builder()
        .identity(identity)
        .alpn(["http/1.1"])
        .build()?;
    let socket = std::env::temp_dir().join(format!("listen-all-{}.sock", std::process::id()));

    let server = Server::builder()
        .listener(TcpListener::bind("127.0.0.1:0".parse()?)?)
        .listener(TlsListener::new(
            TcpListener::bind("127.0.0.1:0".parse()?)?,
            acceptor,
        ))
        .listener(UnixListener::bind(&socket)?)
        .max_connections(64)
        .serve(describe);
    let addrs: Vec<String> = server.local_addrs().iter().map(|a| a.to_string()).collect();
    println!("listening on {}", addrs.join(", "));

    // Clear text goes through the default resolver.
    let tcp = format!("http://{}/", addrs[0]);
    let unix = format!(
        "http+unix://{}/",
        socket.display().to_string().replace('/', "%2F")
    );
    // TLS needs a resolver that trusts the certificate made above.
    let trusting = Tls::builder()
        .without_webpki_roots()
        .add_ca_pem(certified.cert.pem())
        .build()?;
    let resolver = Resolver::builder()
        .base(trusting.install(Ctx::new().with_builtins()))
        .build()?;
    let port = addrs[1].rsplit(':').next().unwrap_or_default();
    let https = format!("https://localhost:{port}/");

    println!("{tcp:<40} -> {}", ask(connect(&tcp).await?).await?);
    println!(
        "{https:<40} -> {}",
        ask(resolver.connect(&https).await?).await?
    );
    println!("{unix:<40} -> {}", ask(connect(&unix).await?).await?);

    println!(
        "\nwhat conduit decided for {https}:\n{}",
        resolver.explain(&https).await?
    );

    let report = server.shutdown(Duration::from_secs(5)).await;
    println!(
        "shut down: of the connections still open, {} finished and {} were aborted; socket file removed: {}",
        report.finished,
        report.aborted,
        !socket.exists()
    );
    Ok(())
}
