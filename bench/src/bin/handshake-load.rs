//! The load generator of `bench`'s handshake scenarios: tasks that each, in
//! a loop, open a TCP connection, make a full TLS 1.3 handshake (no
//! resumption: the client keeps no session), send one
//! `GET PATH HTTP/1.1` with `connection: close`, read the response to the
//! end, and close. It counts the connections that got a `200`.
//!
//! ```text
//! handshake-load --addr 127.0.0.1:8443 --cert CERT.pem [--path /] \
//!     [--concurrency 16] [--warmup 1] [--duration 5]
//! ```
//!
//! The client trusts exactly the certificate of `--cert` and skips the
//! handshake's signature checks (`bench::tls::PinnedNoSignatureCheck`), so
//! that its own CPU goes to the key exchange and the server is the busier
//! side. It offers ALPN `http/1.1` only.
//!
//! The result is one line on stdout, `key=value` pairs separated by
//! spaces: `handshakes` (in the measured window), `secs`, `rate`
//! (handshakes per second) and `errors` (warm-up included). The first
//! error, if any, goes to stderr.

use std::error::Error;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bench::load::Failures;
use clap::Parser;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Command-line options.
#[derive(Parser)]
#[command(about = "Count full TLS 1.3 handshakes per second, one request each")]
struct Args {
    /// The server's address.
    #[arg(long)]
    addr: SocketAddr,
    /// The server's certificate (PEM).
    #[arg(long)]
    cert: PathBuf,
    /// The path every request asks for.
    #[arg(long, default_value = "/")]
    path: String,
    /// Tasks connecting, each one connection at a time.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seconds of load before the measured window.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Seconds of the measured window.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
}

/// What the tasks share.
#[derive(Default)]
struct Counters {
    /// Connections that got a `200` and were read to the end.
    done: AtomicU64,
    /// Failures, warm-up included.
    failures: Failures,
    /// Set when the window is over.
    stop: AtomicBool,
}

fn main() -> ExitCode {
    bench::load::exit_code("handshake-load", run(Args::parse()))
}

fn run(args: Args) -> Result<bool, Box<dyn Error>> {
    if args.concurrency == 0 {
        return Err("--concurrency must be at least 1".into());
    }
    let config = bench::tls::danger_handshake_client_config(&args.cert)?;
    let connector = TlsConnector::from(Arc::new(config));
    let request = format!(
        "GET {} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n",
        args.path
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let counters = Arc::new(Counters::default());
    let (handshakes, secs) = runtime.block_on(drive(&args, connector, request, counters.clone()));
    let errors = counters.failures.report("handshake-load");
    println!(
        "handshakes={handshakes} secs={secs:.3} rate={:.1} errors={errors}",
        handshakes as f64 / secs
    );
    Ok(errors == 0 && handshakes > 0)
}

/// Starts the tasks, waits out the warm-up, and counts the handshakes of
/// the window: `(handshakes, seconds)`.
async fn drive(
    args: &Args,
    connector: TlsConnector,
    request: String,
    counters: Arc<Counters>,
) -> (u64, f64) {
    let request: Arc<[u8]> = request.into_bytes().into();
    let mut tasks = Vec::with_capacity(args.concurrency);
    for _ in 0..args.concurrency {
        let (connector, request, counters) = (connector.clone(), request.clone(), counters.clone());
        let addr = args.addr;
        tasks.push(tokio::spawn(async move {
            while !counters.stop.load(Ordering::Relaxed) {
                match one(&connector, addr, &request).await {
                    Ok(()) => {
                        counters.done.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error) => {
                        counters.failures.record(error);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(args.warmup.max(0.0))).await;
    let (from, start) = (counters.done.load(Ordering::Relaxed), Instant::now());
    tokio::time::sleep(Duration::from_secs_f64(args.duration.max(0.001))).await;
    let (to, secs) = (
        counters.done.load(Ordering::Relaxed),
        start.elapsed().as_secs_f64(),
    );
    counters.stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.abort();
    }
    (to - from, secs)
}

/// One connection: handshake, request, the response to the end.
async fn one(connector: &TlsConnector, addr: SocketAddr, request: &[u8]) -> Result<(), String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let _ = tcp.set_nodelay(true);
    let name = ServerName::IpAddress(addr.ip().into());
    let mut tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tls.write_all(request).await.map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    // The server closes after the response; one that closes without
    // close_notify still counts when the response arrived.
    if let Err(error) = tls.read_to_end(&mut response).await
        && (error.kind() != std::io::ErrorKind::UnexpectedEof || response.is_empty())
    {
        return Err(error.to_string());
    }
    if !response.starts_with(b"HTTP/1.1 200") {
        let head = String::from_utf8_lossy(&response[..response.len().min(64)]).into_owned();
        return Err(format!("unexpected response: {head:?}"));
    }
    Ok(())
}
