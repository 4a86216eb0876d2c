//! The client side of `bench`'s client scenarios: many tasks sending
//! `GET` requests through one shared client, paf's [`paf::Client`],
//! hyper-util's legacy pooled client or reqwest's client, and reading every
//! response body whole. It measures its own request rate and CPU time, so that the
//! client's cost is seen apart from the server's, which runs in another
//! process.
//!
//! ```text
//! client-load --client paf|hyper|reqwest --proto h1|h2 --url http://127.0.0.1:8080/ \
//!     [--cert CERT.pem] [--concurrency 32] [--warmup 1] [--duration 5] [--requests N] \
//!     [--threads N]
//! ```
//!
//! With `--cert` (and an `https://` URL) the clients speak TLS 1.3 through
//! rustls with the ring provider (`bench::tls::client_config`), trusting
//! that certificate, and pick the protocol by ALPN: `--proto h1` offers
//! `http/1.1`, `--proto h2` offers `h2` (paf offers both and takes `h2`).
//!
//! With `--duration` (the default) it runs `--warmup` seconds, then counts
//! the responses of the next `--duration` seconds. With `--requests N` it
//! sends `N` requests and stops, counting from the first (for profilers).
//!
//! The result is one line on stdout, `key=value` pairs separated by
//! spaces: `client`, `proto`, `requests`, `secs`, `rps`, `cpu_us_per_req`
//! (user + system CPU time of this process over the measured window, from
//! `/proc/self/stat`, divided by the requests), `cpu_busy` (that CPU time
//! over the window's wall time) and `errors`. The first error, if any, goes
//! to stderr. Linux only.

use std::error::Error;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bench::load::Failures;
use bytes::Bytes;
use clap::{Parser, ValueEnum};
use http::{StatusCode, Uri, Version};
use http_body_util::{BodyExt, Empty};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::rt::TokioExecutor;

/// The body every response must have (`paf-hello` and `hyper-hello`
/// answer it to a `GET`).
const EXPECTED_BODY: &[u8] = b"Hello, world!";

type Res<T> = Result<T, Box<dyn Error>>;

/// Command-line options.
#[derive(Parser)]
#[command(about = "Load a server through paf::Client, hyper-util's legacy client or reqwest")]
struct Args {
    /// The client under test.
    #[arg(long, value_enum)]
    client: ClientKind,
    /// HTTP/1.1 with keep-alive, or HTTP/2 with prior knowledge (h2c).
    #[arg(long, value_enum)]
    proto: Proto,
    /// The URI every request gets, such as http://127.0.0.1:8080/.
    #[arg(long)]
    url: String,
    /// Speak TLS 1.3, trusting this certificate (PEM); the URL is then an
    /// `https://` one.
    #[arg(long)]
    cert: Option<PathBuf>,
    /// Tasks sending requests, each one at a time, through the one client.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Seconds of load before the measured window.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Seconds of the measured window.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Send this many requests and stop, with no warm-up, instead of
    /// running for a duration.
    #[arg(long)]
    requests: Option<u64>,
    /// Run a multi-thread runtime with this many workers (default: a
    /// current-thread runtime, one thread for everything).
    #[arg(long)]
    threads: Option<NonZeroUsize>,
}

/// The clients.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
enum ClientKind {
    /// `paf::Client`.
    Paf,
    /// `hyper_util::client::legacy::Client` with `HttpConnector` (and
    /// hyper-rustls' connector over TLS).
    Hyper,
    /// `reqwest::Client`, over rustls with the ring provider.
    Reqwest,
}

/// The protocols.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
enum Proto {
    /// HTTP/1.1, one connection per request in flight, kept alive.
    H1,
    /// HTTP/2 over clear text with prior knowledge: streams on shared
    /// connections.
    H2,
}

impl Proto {
    /// The version every response must have.
    fn version(self) -> Version {
        match self {
            Proto::H1 => Version::HTTP_11,
            Proto::H2 => Version::HTTP_2,
        }
    }

    /// What a client offers by ALPN over TLS.
    fn alpn(self) -> &'static [u8] {
        match self {
            Proto::H1 => b"http/1.1",
            Proto::H2 => b"h2",
        }
    }
}

/// A client under test, set up for the protocol.
trait Fetch: Send + Sync + 'static {
    /// One `GET`, its body read whole and checked.
    fn one(&self, version: Version) -> impl Future<Output = Result<(), String>> + Send;
}

/// `paf::Client`.
struct PafLoad {
    client: paf::Client,
    url: String,
}

impl PafLoad {
    fn new(proto: Proto, url: &str, cert: Option<&Path>) -> Res<PafLoad> {
        // Proxies off, as hyper-util's client has none, and no default
        // `user-agent`, as hyper-util sends none: both clients put the same
        // request on the wire. Every other setting is the default.
        let mut builder = paf::Client::builder()
            .proxies(paf::client::Proxies::none())
            .default_headers(http::HeaderMap::new());
        match cert {
            Some(cert) => {
                let config = bench::tls::client_config(cert, &[b"h2", b"http/1.1"])?;
                builder = builder.tls(mimic::tls::Tls::from_config(Arc::new(config)));
                if proto == Proto::H1 {
                    builder = builder.http1_only();
                }
            }
            None if proto == Proto::H2 => builder = builder.http2_prior_knowledge(),
            None => {}
        }
        Ok(PafLoad {
            client: builder.build()?,
            url: url.to_string(),
        })
    }
}

impl Fetch for PafLoad {
    async fn one(&self, version: Version) -> Result<(), String> {
        let res = self
            .client
            .get(&self.url)
            .await
            .map_err(|e| e.to_string())?;
        let (status, got) = (res.status(), res.version());
        let body = res.bytes().await.map_err(|e| e.to_string())?;
        check(status, got, version, &body)
    }
}

/// hyper-util's legacy client on its `HttpConnector`, or over TLS on
/// hyper-rustls' connector wrapping it.
struct HyperLoad<C> {
    client: HyperClient<C, Empty<Bytes>>,
    uri: Uri,
}

impl<C: Connect + Clone + Send + Sync + 'static> HyperLoad<C> {
    fn new(proto: Proto, url: &str, connector: C) -> Res<HyperLoad<C>> {
        let mut builder = HyperClient::builder(TokioExecutor::new());
        if proto == Proto::H2 {
            builder.http2_only(true);
        }
        Ok(HyperLoad {
            client: builder.build(connector),
            uri: url.parse()?,
        })
    }
}

/// The clear-text connector, with TCP_NODELAY, as paf's TCP connections
/// have it.
fn http_connector() -> HttpConnector {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http
}

/// hyper-rustls' connector over [`http_connector`], offering `h2` or
/// `http/1.1` by ALPN.
fn https_connector(proto: Proto, cert: &Path) -> Res<HttpsConnector<HttpConnector>> {
    let mut http = http_connector();
    http.enforce_http(false);
    // hyper-rustls sets ALPN itself: the configuration offers none.
    let https = HttpsConnectorBuilder::new()
        .with_tls_config(bench::tls::client_config(cert, &[])?)
        .https_only();
    Ok(match proto {
        Proto::H1 => https.enable_http1().wrap_connector(http),
        Proto::H2 => https.enable_http2().wrap_connector(http),
    })
}

impl<C: Connect + Clone + Send + Sync + 'static> Fetch for HyperLoad<C> {
    async fn one(&self, version: Version) -> Result<(), String> {
        let res = self
            .client
            .get(self.uri.clone())
            .await
            .map_err(|e| e.to_string())?;
        let (status, got) = (res.status(), res.version());
        let body = res
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        check(status, got, version, &body)
    }
}

/// reqwest's client.
struct ReqwestLoad {
    client: reqwest::Client,
    url: reqwest::Url,
}

impl ReqwestLoad {
    fn new(proto: Proto, url: &str, cert: Option<&Path>) -> Res<ReqwestLoad> {
        // reqwest's `rustls-no-provider` feature needs a process-wide
        // provider even for clear text: ring, as everywhere else here. It
        // fails only when one is installed already, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        // Proxies off, as the other clients have none; TCP_NODELAY is
        // reqwest's default.
        let mut builder = reqwest::Client::builder().no_proxy();
        builder = match proto {
            Proto::H1 => builder.http1_only(),
            Proto::H2 => builder.http2_prior_knowledge(),
        };
        if let Some(cert) = cert {
            let config = bench::tls::client_config(cert, &[proto.alpn()])?;
            builder = builder.tls_backend_preconfigured(config);
        }
        Ok(ReqwestLoad {
            client: builder.build()?,
            url: url.parse()?,
        })
    }
}

impl Fetch for ReqwestLoad {
    async fn one(&self, version: Version) -> Result<(), String> {
        let res = self
            .client
            .get(self.url.clone())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let (status, got) = (res.status(), res.version());
        let body = res.bytes().await.map_err(|e| e.to_string())?;
        check(status, got, version, &body)
    }
}

/// Every response must be `200`, in the protocol asked for, with
/// `EXPECTED_BODY`.
fn check(status: StatusCode, got: Version, version: Version, body: &[u8]) -> Result<(), String> {
    if status != StatusCode::OK || got != version || body != EXPECTED_BODY {
        return Err(format!(
            "unexpected response: {status} {got:?}, body {:?}",
            String::from_utf8_lossy(body)
        ));
    }
    Ok(())
}

/// What the tasks share.
#[derive(Default)]
struct Counters {
    /// Requests started (only counted with `--requests`).
    started: AtomicU64,
    /// Responses read whole and as expected.
    done: AtomicU64,
    /// Failed requests.
    failures: Failures,
    /// Set when the tasks are to stop.
    stop: AtomicBool,
}

fn main() -> ExitCode {
    bench::load::exit_code("client-load", run(Args::parse()))
}

fn run(args: Args) -> Res<bool> {
    if args.concurrency == 0 {
        return Err("--concurrency must be at least 1".into());
    }
    let ticks_per_sec = clock_ticks();
    let runtime = match args.threads {
        None => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        Some(n) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n.get())
            .enable_all()
            .build()?,
    };
    let counters = Arc::new(Counters::default());
    let (proto, url, cert) = (args.proto, args.url.as_str(), args.cert.as_deref());
    // The clients are built inside the runtime: reqwest's needs one.
    let window = match args.client {
        ClientKind::Paf => runtime.block_on(async {
            let load = Arc::new(PafLoad::new(proto, url, cert)?);
            drive(&args, load, counters.clone(), ticks_per_sec).await
        })?,
        ClientKind::Hyper => runtime.block_on(async {
            match cert {
                Some(cert) => {
                    let load = HyperLoad::new(proto, url, https_connector(proto, cert)?)?;
                    drive(&args, Arc::new(load), counters.clone(), ticks_per_sec).await
                }
                None => {
                    let load = HyperLoad::new(proto, url, http_connector())?;
                    drive(&args, Arc::new(load), counters.clone(), ticks_per_sec).await
                }
            }
        })?,
        ClientKind::Reqwest => runtime.block_on(async {
            let load = Arc::new(ReqwestLoad::new(proto, url, cert)?);
            drive(&args, load, counters.clone(), ticks_per_sec).await
        })?,
    };

    let errors = counters.failures.report("client-load");
    let requests = window.requests.max(1) as f64;
    println!(
        "client={} proto={} requests={} secs={:.3} rps={:.1} cpu_us_per_req={:.3} cpu_busy={:.3} errors={errors}",
        args.client
            .to_possible_value()
            .map_or("?".into(), |v| v.get_name().to_string()),
        args.proto
            .to_possible_value()
            .map_or("?".into(), |v| v.get_name().to_string()),
        window.requests,
        window.secs,
        window.requests as f64 / window.secs,
        window.cpu_secs * 1e6 / requests,
        window.cpu_secs / window.secs,
    );
    Ok(errors == 0 && window.requests > 0)
}

/// The measured window.
struct Window {
    requests: u64,
    secs: f64,
    cpu_secs: f64,
}

/// A point in time: responses so far, wall clock and CPU time.
struct Mark {
    done: u64,
    at: Instant,
    cpu_secs: f64,
}

impl Mark {
    fn now(counters: &Counters, ticks_per_sec: f64) -> Res<Mark> {
        Ok(Mark {
            done: counters.done.load(Ordering::Relaxed),
            at: Instant::now(),
            cpu_secs: bench::cpu_ticks("/proc/self/stat")? as f64 / ticks_per_sec,
        })
    }

    fn until(&self, end: &Mark) -> Window {
        Window {
            requests: end.done - self.done,
            secs: end.at.duration_since(self.at).as_secs_f64(),
            cpu_secs: end.cpu_secs - self.cpu_secs,
        }
    }
}

/// Starts the tasks and takes the measurements.
async fn drive<L: Fetch>(
    args: &Args,
    load: Arc<L>,
    counters: Arc<Counters>,
    ticks_per_sec: f64,
) -> Res<Window> {
    let version = args.proto.version();
    let start = Mark::now(&counters, ticks_per_sec)?;
    let mut tasks = Vec::with_capacity(args.concurrency);
    for _ in 0..args.concurrency {
        let load = load.clone();
        let counters = counters.clone();
        let limit = args.requests;
        tasks.push(tokio::spawn(async move {
            while !counters.stop.load(Ordering::Relaxed) {
                if let Some(limit) = limit
                    && counters.started.fetch_add(1, Ordering::Relaxed) >= limit
                {
                    break;
                }
                match load.one(version).await {
                    Ok(()) => {
                        counters.done.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error) => {
                        counters.failures.record(error);
                        // A server that is gone fails at once: do not spin.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
        }));
    }
    let window = if args.requests.is_some() {
        for task in tasks.drain(..) {
            task.await?;
        }
        start.until(&Mark::now(&counters, ticks_per_sec)?)
    } else {
        tokio::time::sleep(Duration::from_secs_f64(args.warmup.max(0.0))).await;
        let from = Mark::now(&counters, ticks_per_sec)?;
        tokio::time::sleep(Duration::from_secs_f64(args.duration.max(0.001))).await;
        let to = Mark::now(&counters, ticks_per_sec)?;
        counters.stop.store(true, Ordering::Relaxed);
        from.until(&to)
    };
    // Requests still in flight are not waited for.
    for task in tasks {
        task.abort();
    }
    Ok(window)
}

/// `getconf CLK_TCK`, 100 when that fails.
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse::<f64>().ok())
        .filter(|&ticks| ticks > 0.0)
        .unwrap_or(100.0)
}
