//! The reference server for `bench`: a minimal HTTP/1.1 and HTTP/2 (h2c
//! prior knowledge) server on hyper 1.x, with hyper-util's `auto` builder.
//! With `--tls-cert` and `--tls-key` it speaks TLS instead, through
//! tokio-rustls, with `bench::tls::server_config` (TLS 1.3 only, ALPN h2
//! then http/1.1, no resumption); the builder then picks HTTP/2 from the
//! preface the client sends after choosing `h2` by ALPN.
//!
//! `POST` streams the request body frame by frame, counting its bytes
//! without keeping them, and answers the count and a newline; any other
//! method answers `Hello, world!`. `paf-hello` mirrors this logic exactly.
//!
//! ```text
//! hyper-hello --addr 127.0.0.1:8080 [--threads N] [--tls-cert CERT.pem --tls-key KEY.pem]
//! ```
//!
//! Without `--threads` it runs on a current-thread Tokio runtime; with it, on
//! a multi-thread runtime with `N` workers. Once bound it prints
//! `listening on ADDR` on stdout.

use std::convert::Infallible;
use std::error::Error;
use std::io::Write;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// Command-line options.
#[derive(Parser)]
#[command(about = "Minimal hyper HTTP/1.1 and h2c server used by `bench`")]
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
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsAcceptor::from(bench::tls::server_config(cert, key)?)),
        _ => None,
    };
    let listener = TcpListener::bind(args.addr).await?;
    // The first bytes choose the protocol: the HTTP/2 connection preface
    // means h2c prior knowledge, anything else HTTP/1.1. The timer arms
    // hyper's 30 s HTTP/1.1 header-read timeout, as paf's is armed.
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new());
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on {}", listener.local_addr()?)?;
    stdout.flush()?;
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(error) => {
                // Out of descriptors, say: wait a little rather than spin.
                eprintln!("hyper-hello: accept failed: {error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_connection(builder.clone(), tls.clone(), stream));
    }
}

/// Serves one connection, after a TLS handshake when `tls` is given.
async fn serve_connection(
    builder: auto::Builder<TokioExecutor>,
    tls: Option<TlsAcceptor>,
    stream: TcpStream,
) {
    // Clients that fail the handshake, reset or time out are not the
    // server's problem.
    match tls {
        Some(tls) => {
            if let Ok(stream) = tls.accept(stream).await {
                let _ = builder
                    .serve_connection(TokioIo::new(stream), service_fn(handle))
                    .await;
            }
        }
        None => {
            let _ = builder
                .serve_connection(TokioIo::new(stream), service_fn(handle))
                .await;
        }
    }
}

async fn handle(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
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
                        Response::new(Full::new(Bytes::from_static(b"bad request body\n")));
                    *response.status_mut() = StatusCode::BAD_REQUEST;
                    return Ok(response);
                }
            }
        }
        return Ok(Response::new(Full::new(Bytes::from(format!("{count}\n")))));
    }
    Ok(Response::new(Full::new(Bytes::from_static(
        b"Hello, world!",
    ))))
}
