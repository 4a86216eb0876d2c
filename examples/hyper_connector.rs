//! hyper-util's client over mimic and conduit: TLS with HTTP/2 or HTTP/1.1
//! chosen by ALPN, a Unix socket, and a failure with mimic's report.
//!
//! The example starts its own servers, paf on loopback with a self-signed
//! certificate made on the spot and paf on a Unix socket in a temporary
//! directory, then sends requests through `conduit::hyper::Connector`,
//! prints what each connection was (from the response's `Arc<mimic::Info>`),
//! and shows the report of a connection to a closed port.
//!
//! ```sh
//! cargo run -p examples --example hyper_connector
//! ```

use std::convert::Infallible;
use std::error::Error;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use conduit::hyper::{Connector, connect_error};
use conduit::listener::{Identity, TcpListener, TlsAcceptor, TlsListener, UnixListener};
use conduit::serve::Server;
use conduit::{Destination, Resolver};
use http::{Request, Response, Version};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use mimic::{Ctx, Info, tls::Tls};
use paf::Body;
use paf::server::{Auto, Serve};
use testkit::TempDir;

type HttpClient = Client<Connector, Empty<Bytes>>;

/// Answers with the protocol version the server saw.
async fn hello(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let text = format!("hello over {:?} to {}", req.version(), req.uri().path());
    Ok(Response::new(Body::full(text)))
}

/// GETs `uri`, prints the answer and what the connection was, and checks
/// that the response came over `expected`.
async fn get(client: &HttpClient, uri: &str, expected: Version) -> Result<(), Box<dyn Error>> {
    let res = client.get(uri.parse()?).await?;
    let version = res.version();
    let info = res
        .extensions()
        .get::<Arc<Info>>()
        .cloned()
        .ok_or("the response carries no Arc<mimic::Info>")?;
    let body = res.into_body().collect().await?.to_bytes();
    let stack: Vec<_> = info.protocols().collect();
    let alpn = info
        .tls()
        .and_then(|tls| tls.alpn.as_deref())
        .map_or("-".into(), String::from_utf8_lossy);
    println!("{uri}");
    println!("  {:?}: {}", version, String::from_utf8_lossy(&body));
    println!(
        "  over {} to {}, ALPN {alpn}",
        stack.join("/"),
        info.peer_addr().map_or("-".into(), |a| a.to_string())
    );
    if version != expected {
        return Err(format!("{uri}: {version:?}, expected {expected:?}").into());
    }
    Ok(())
}

/// Loopback servers with a self-signed certificate for `localhost`.
struct Servers {
    server: Server,
    certified: rcgen::CertifiedKey<rcgen::KeyPair>,
    /// The ports of the TLS listeners offering h2 and http/1.1, and
    /// http/1.1 alone.
    ports: [u16; 2],
}

/// Two TLS servers on loopback, one offering h2 and http/1.1, one
/// http/1.1 alone, and a clear-text server on `socket`.
fn start_servers(socket: &Path) -> Result<Servers, Box<dyn Error>> {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])?;
    let tls = |alpn: &[&str]| -> Result<(TlsListener<TcpListener>, u16), Box<dyn Error>> {
        let identity = Identity::from_pem(
            certified.cert.pem().as_bytes(),
            certified.signing_key.serialize_pem().as_bytes(),
        )?;
        let acceptor = TlsAcceptor::builder()
            .identity(identity)
            .alpn(alpn.iter().copied())
            .build()?;
        let tcp = TcpListener::bind("127.0.0.1:0".parse()?)?;
        let port = tcp.local_socket_addr().port();
        Ok((TlsListener::new(tcp, acceptor), port))
    };
    let (h2, h2_port) = tls(&["h2", "http/1.1"])?;
    let (h1, h1_port) = tls(&["http/1.1"])?;
    let server = Server::builder()
        .listener(h2)
        .listener(h1)
        .listener(UnixListener::bind(socket)?)
        .serve(Auto::new().handler(paf::service_fn(hello)));
    Ok(Servers {
        server,
        certified,
        ports: [h2_port, h1_port],
    })
}

/// conduit's resolver with a TLS layer that trusts `servers`' certificate,
/// `localhost` pinned to 127.0.0.1, `app.local` sent to the Unix socket
/// (`http::Uri` takes no `http+unix://%2F...` host), and failures printed
/// with mimic's report.
fn client(servers: &Servers, socket: &Path) -> Result<HttpClient, Box<dyn Error>> {
    let trusting = Tls::builder()
        .without_webpki_roots()
        .add_ca_pem(servers.certified.cert.pem())
        .build()?;
    let resolver = Resolver::builder()
        .base(trusting.install(Ctx::new().with_builtins()))
        .static_host(
            "localhost",
            Destination::Host {
                host: "127.0.0.1".into(),
                port: None,
            },
        )
        .static_host("app.local", Destination::Unix(socket.to_path_buf()))
        .build()?;
    let connector = Connector::with_resolver(resolver)
        .on_error(|err| eprintln!("the connector failed:\n{err:#}\n"));
    Ok(Client::builder(TokioExecutor::new())
        .timer(TokioTimer::new())
        .build(connector))
}

/// A request to each server, checking the version each answered with.
async fn requests(client: &HttpClient, ports: [u16; 2]) -> Result<(), Box<dyn Error>> {
    let [h2, h1] = ports;
    get(
        client,
        &format!("https://localhost:{h2}/h2"),
        Version::HTTP_2,
    )
    .await?;
    get(
        client,
        &format!("https://localhost:{h1}/h1"),
        Version::HTTP_11,
    )
    .await?;
    get(client, "http://app.local/unix", Version::HTTP_11).await
}

/// A port nothing listens on: the error holds conduit's error, and
/// mimic's report of every candidate.
async fn failure(client: &HttpClient) -> Result<(), Box<dyn Error>> {
    let closed = TcpListener::bind("127.0.0.1:0".parse()?)?.local_socket_addr();
    let uri = format!("http://{closed}/");
    match client.get(uri.parse()?).await {
        Ok(res) => {
            Err(format!("{uri} answered {}: the port should be closed", res.status()).into())
        }
        Err(err) => {
            let err = connect_error(&err).ok_or("no conduit error in the client's error")?;
            let report = err.report().ok_or("the error has no report")?;
            println!(
                "{uri} failed as expected ({} candidate(s) in the report)",
                report.entries().len()
            );
            Ok(())
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // Removed with its socket however main returns.
    let dir = TempDir::new("hyper-connector");
    let socket = dir.join("app.sock");
    let servers = start_servers(&socket)?;
    let result = async {
        let client = client(&servers, &socket)?;
        requests(&client, servers.ports).await?;
        failure(&client).await
    }
    .await;

    let shutdown = servers.server.shutdown(Duration::from_secs(5)).await;
    println!(
        "shut down: {} finished, {} aborted",
        shutdown.finished, shutdown.aborted
    );
    result
}
