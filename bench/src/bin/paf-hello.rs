//! The paf server measured by `bench`: the same HTTP/1.1 and HTTP/2 (h2c
//! prior knowledge) server as `hyper-hello`, written with paf and conduit.
//! With `--tls-cert` and `--tls-key` it speaks TLS instead, through
//! conduit's TLS listener, with `bench::tls::server_config` (TLS 1.3 only,
//! ALPN h2 then http/1.1, no resumption).
//!
//! `POST` streams the request body frame by frame, counting its bytes
//! without keeping them, and answers the count and a newline; any other
//! method answers `Hello, world!`. This mirrors `hyper-hello` exactly.
//!
//! ```text
//! paf-hello --addr 127.0.0.1:8080 [--threads N] [--tls-cert CERT.pem --tls-key KEY.pem]
//! ```
//!
//! Without `--threads` it runs on a current-thread Tokio runtime; with it, on
//! a multi-thread runtime with `N` workers. Once bound it prints
//! `listening on ADDR` on stdout; Ctrl-C shuts it down.

use std::convert::Infallible;
use std::error::Error;
use std::io::Write;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use conduit::listener::{TcpListener, TlsAcceptor, TlsListener};
use conduit::serve::Server;
use http::{Method, Request, Response, StatusCode};
use paf::Body;
use paf::server::Serve;

/// Command-line options.
#[derive(Parser)]
#[command(about = "Minimal paf HTTP/1.1 and h2c server used by `bench`")]
struct Args {
    /// The address to listen on, such as 127.0.0.1:8080.
    #[arg(long)]
    addr: SocketAddr,
    /// Run a multi-thread runtime with this many workers (default: a
    /// current-thread runtime).
    #[arg(long)]
    threads: Option<NonZeroUsize>,
    /// Speak TLS with this certificate chain (PEM).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of `--tls-cert`.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let runtime = match args.threads {
        None => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        Some(n) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n.get())
            .enable_all()
            .build()?,
    };
    runtime.block_on(serve(&args))
}

async fn serve(args: &Args) -> Result<(), Box<dyn Error>> {
    // Picks HTTP/2 from ALPN, the connection preface (or an `Upgrade:
    // h2c`), HTTP/1.1 otherwise.
    let http = paf::server::Auto::new();
    // conduit's TCP listener sets TCP_NODELAY on accepted sockets.
    let tcp = TcpListener::bind(args.addr)?;
    let bound = tcp.local_socket_addr();
    let builder = Server::builder();
    let builder = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let acceptor = TlsAcceptor::from_config(bench::tls::server_config(cert, key)?);
            builder.listener(TlsListener::new(tcp, acceptor))
        }
        _ => builder.listener(tcp),
    };
    let server = builder.serve(http.handler(paf::service_fn(handle)));
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on {bound}")?;
    stdout.flush()?;
    tokio::signal::ctrl_c().await?;
    server.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

async fn handle(request: Request<Body>) -> Result<Response<Body>, Infallible> {
    if request.method() == Method::POST {
        let mut body = request.into_body();
        let mut count: u64 = 0;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(frame) => {
                    if let Some(data) = frame.data_ref() {
                        count += data.len() as u64;
                    }
                }
                Err(_) => {
                    let mut response =
                        Response::new(Body::full(Bytes::from_static(b"bad request body\n")));
                    *response.status_mut() = StatusCode::BAD_REQUEST;
                    return Ok(response);
                }
            }
        }
        return Ok(Response::new(Body::full(Bytes::from(format!("{count}\n")))));
    }
    Ok(Response::new(Body::full(Bytes::from_static(
        b"Hello, world!",
    ))))
}
