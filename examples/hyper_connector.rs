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

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // Two TLS servers on loopback, one offering h2 and http/1.1, one
    // http/1.1 alone, and a clear-text server on a Unix socket.
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])?;
    let identity = || {
        Identity::from_pem(
            certified.cert.pem().as_bytes(),
            certified.signing_key.serialize_pem().as_bytes(),
        )
    };
    let h2 = TlsAcceptor::builder()
        .identity(identity()?)
        .alpn(["h2", "http/1.1"])
        .build()?;
    let h1 = TlsAcceptor::builder()
        .identity(identity()?)
        .alpn(["http/1.1"])
        .build()?;
    let dir = std::env::temp_dir().join(format!("hyper-connector-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let socket = dir.join("app.sock");
    let server = Server::builder()
        .listener(TlsListener::new(
            TcpListener::bind("127.0.0.1:0".parse()?)?,
            h2,
        ))
        .listener(TlsListener::new(
            TcpListener::bind("127.0.0.1:0".parse()?)?,
            h1,
        ))
        .listener(UnixListener::bind(&socket)?)
        .serve(Auto::new().handler(paf::service_fn(hello)));
    let ports: Vec<String> = server.local_addrs()[..2]
        .iter()
        .map(|a| {
            a.to_string()
                .rsplit(':')
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect();

    // The client: conduit's resolver with a TLS layer that trusts the
    // certificate above, `localhost` pinned to 127.0.0.1, `app.local` sent
    // to the Unix socket (`http::Uri` takes no `http+unix://%2F...` host),
    // and failures printed with mimic's report.
    let trusting = Tls::builder()
        .without_webpki_roots()
        .add_ca_pem(certified.cert.pem())
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
        .static_host("app.local", Destination::Unix(socket.clone()))
        .build()?;
    let connector = Connector::with_resolver(resolver)
        .on_error(|err| eprintln!("the connector failed:\n{err:#}\n"));
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .timer(TokioTimer::new())
        .build(connector);

    let result = async {
        get(
            &client,
            &format!("https://localhost:{}/h2", ports[0]),
            Version::HTTP_2,
        )
        .await?;
        get(
            &client,
            &format!("https://localhost:{}/h1", ports[1]),
            Version::HTTP_11,
        )
        .await?;
        get(&client, "http://app.local/unix", Version::HTTP_11).await?;

        // A port nothing listens on: the error holds conduit's error, and
        // mimic's report of every candidate.
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
                Ok::<_, Box<dyn Error>>(())
            }
        }
    }
    .await;

    let shutdown = server.shutdown(Duration::from_secs(5)).await;
    println!(
        "shut down: {} finished, {} aborted",
        shutdown.finished, shutdown.aborted
    );
    let _ = std::fs::remove_dir_all(&dir);
    result
}
