//! `paf-server`: a static file server, or an echo server.
//!
//! [`main`] is the whole program: it parses the [`Options`], serves until
//! SIGINT or SIGTERM, then drains. `docs/cli.md` documents the options.
//!
//! # Organization
//! - `mod.rs`: [`Options`], [`main`] and [`run`]: listeners, signals, shutdown.
//! - `listen.rs`: [`ListenUri`], and the TLS certificate (from files or
//!   self-signed).
//! - `acme_setup.rs`: `--acme`, the certificate from an ACME CA.
//! - `app.rs`: the handler: files or echo, with the access log.
//! - `files.rs`: static files and directories; `path.rs`: request paths
//!   to relative paths, refusing traversal; `listing.rs`: directory
//!   listings; `file_body.rs`: file contents streamed from disk or memory;
//!   `open.rs`: opening them, checked again by the handle;
//!   `representation.rs`: a file's headers, computed once; `cache/`:
//!   small files kept in memory while the file system says they are
//!   unchanged (`cache/watch.rs`: told by inotify).
//! - `range.rs`: `Range` headers; `conditional.rs`: validators and
//!   preconditions.
//! - `echo.rs`: `--echo`; `log.rs`: the access log.
//! - `fuzzing.rs`: entry points for the fuzz targets in `fuzz/`, compiled
//!   only under `cfg(fuzzing)`.

mod acme_setup;
mod app;
mod cache;
mod conditional;
mod echo;
mod file_body;
mod files;
mod listen;
mod listing;
mod log;
mod open;
mod path;
mod range;
mod representation;

#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use acme::ChallengeKind;
use clap::builder::RangedU64ValueParser;
use clap::{CommandFactory, Parser};
use conduit::listener::{TcpListener, TlsListener, UnixListener};
use conduit::serve::Server;
use mimic::flow::Addr;
use paf::server::{Auto, Serve};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tower_layer::Layer;

use self::app::{App, Mode};
use self::files::Files;
use self::listen::{Certificate, SELF_SIGNED_NAMES};
pub use self::listen::{DEFAULT_TCP_PORT, DEFAULT_TLS_PORT, ListenUri};

/// `println!` that carries on when stdout is closed (`paf-server | head`).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// The options of `paf-server`.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "paf-server",
    version,
    about = "Serves a directory over HTTP/1.1 and HTTP/2, on TCP, TLS and Unix sockets",
    after_help = "Examples:\n  \
        paf-server                                  serve . on http://127.0.0.1:8000/\n  \
        paf-server site -l tcp://[::]:8080          serve ./site on port 8080, IPv4 and IPv6\n  \
        paf-server -l tls://127.0.0.1:8443 --self-signed\n  \
        paf-server -l unix:///tmp/paf.sock --echo   echo requests on a Unix socket\n  \
        paf-server -l tcp://[::]:80 -l tls://[::]:443 --acme example.com --acme-cache /var/lib/paf-acme\n\n\
        Set RUST_LOG (e.g. RUST_LOG=paf=debug) or PAF_DEBUG=1 for diagnostics on stderr."
)]
pub struct Options {
    /// The directory to serve.
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,

    /// Where to listen (repeatable): tcp://ADDR:PORT, tls://ADDR:PORT,
    /// unix:///PATH, or ADDR:PORT.
    #[arg(
        short,
        long = "listen",
        value_name = "URI",
        default_value = "tcp://127.0.0.1:8000"
    )]
    pub listen: Vec<ListenUri>,

    /// The certificate chain (PEM) for tls:// listeners.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,

    /// The private key (PEM) of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,

    /// Makes a certificate for localhost, 127.0.0.1 and ::1 for tls://
    /// listeners, and prints the file it is written to (for curl --cacert).
    #[arg(long, conflicts_with_all = ["cert", "key"])]
    pub self_signed: bool,

    /// Gets a certificate for NAME from an ACME CA (Let's Encrypt by
    /// default) for the tls:// listeners, and renews it (repeatable, one
    /// certificate for all names). Giving it accepts the CA's terms of
    /// service.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["cert", "key", "self_signed"])]
    pub acme: Vec<String>,

    /// The ACME CA's directory URL.
    #[arg(long, value_name = "URL", default_value = acme::LETS_ENCRYPT, requires = "acme")]
    pub acme_directory: String,

    /// A CA certificate (PEM file) to trust for the directory's HTTPS, on
    /// top of the usual roots (repeatable): a private or test CA.
    #[arg(long, value_name = "PEM", requires = "acme")]
    pub acme_root: Vec<PathBuf>,

    /// Keeps the ACME account, certificate and key in DIR, so that a
    /// restart reuses them (without it, each start orders anew).
    #[arg(long, value_name = "DIR", requires = "acme")]
    pub acme_cache: Option<PathBuf>,

    /// How the CA checks the names: http-01 (on a tcp:// listener the CA
    /// reaches on port 80) or tls-alpn-01 (on the tls:// listener, port
    /// 443).
    #[arg(
        long,
        value_name = "KIND",
        default_value = "http-01",
        requires = "acme"
    )]
    pub acme_challenge: ChallengeKind,

    /// The contact address for the ACME account (the CA writes about
    /// expiring certificates).
    #[arg(long, value_name = "ADDR", requires = "acme")]
    pub acme_email: Option<String>,

    /// Follows symbolic links that lead outside DIR (refused by default).
    #[arg(long)]
    pub follow_symlinks: bool,

    /// Answers every request, whatever its method, with the request
    /// itself (request line, headers, body) as text; DIR is not served.
    #[arg(long)]
    pub echo: bool,

    /// Seconds that requests in progress have to finish after SIGINT or
    /// SIGTERM; then they are cut off (at most a year).
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = crate::util::seconds)]
    pub grace: Duration,

    /// At most this many connections at a time (at least 1); more wait in
    /// the queue.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1024,
        value_parser = RangedU64ValueParser::<usize>::new().range(1..)
    )]
    pub max_connections: usize,

    /// No access log.
    #[arg(short, long)]
    pub quiet: bool,
}

impl Options {
    /// Checks what clap cannot: that TLS listeners have a certificate, that
    /// a certificate has a TLS listener, and that HTTP-01 has a clear-text
    /// listener to be answered on.
    pub fn validate(&self) -> Result<(), clap::Error> {
        let clear_text = self
            .listen
            .iter()
            .any(|uri| !matches!(uri, ListenUri::Tls(_)));
        if !self.acme.is_empty() && self.acme_challenge == ChallengeKind::Http01 && !clear_text {
            let message = "--acme-challenge http-01 needs a tcp:// listener the CA reaches on \
                           port 80 (or a unix:// one behind a proxy there); or use \
                           --acme-challenge tls-alpn-01";
            return Err(Options::command().error(clap::error::ErrorKind::ArgumentConflict, message));
        }
        let tls = self
            .listen
            .iter()
            .find(|uri| matches!(uri, ListenUri::Tls(_)));
        let certificate = self.cert.is_some() || self.self_signed || !self.acme.is_empty();
        let message = match tls {
            Some(uri) if !certificate => format!(
                "{uri} needs a certificate: give --cert FILE --key FILE, --self-signed \
                 or --acme NAME"
            ),
            None if certificate => "--cert, --self-signed and --acme need a tls:// listener \
                 (--listen tls://127.0.0.1:8443)"
                .to_string(),
            _ => return Ok(()),
        };
        Err(Options::command().error(clap::error::ErrorKind::ArgumentConflict, message))
    }
}

/// One worker per CPU the process may run on; on a single one, a
/// current-thread runtime, which wakes no other thread to hand work over
/// (as one nginx worker process does).
fn runtime_builder() -> tokio::runtime::Builder {
    match std::thread::available_parallelism() {
        Ok(cpus) if cpus.get() == 1 => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    }
}

/// The program: exit status 0 after a shutdown by signal, 1 when serving
/// could not start (with the reason on stderr), 2 for bad usage.
pub fn main() -> ExitCode {
    let options = Options::parse();
    if let Err(err) = options.validate() {
        err.exit();
    }
    crate::diagnostics::init();
    let runtime = match runtime_builder().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("paf-server: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(options));
    // Reads of files still in flight on the blocking pool are not waited for.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("paf-server: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Serves as `options` say until SIGINT or SIGTERM, then shuts down
/// gracefully. The error says what could not be set up.
pub async fn run(options: Options) -> Result<(), String> {
    // First, so that a signal arriving while we start is not lost.
    let mut signals = Signals::new()?;
    let mode = mode(&options)?;
    let banner = match &mode {
        Mode::Files(files) => format!("serving {}", files.root().display()),
        Mode::Echo => "echoing requests".to_string(),
    };
    let auto = Auto::new();
    let acme = acme_setup::manager(&options)?;
    let certificate = certificate(&options, acme.as_ref(), &auto.alpn_protocols())?;
    let builder = listen(&options, certificate.as_ref())?;
    let app = App::new(mode, !options.quiet);
    let site = paf::service_fn(move |req| app.clone().call(req));
    let server = match &acme {
        Some(acme) => builder.serve(auto.handler(acme.http01_layer().layer(site))),
        None => builder.serve(auto.handler(site)),
    };

    say!("paf-server {}: {banner}", env!("CARGO_PKG_VERSION"));
    for (uri, addr) in options.listen.iter().zip(server.local_addrs()) {
        say!("listening on {}", url(uri, addr));
    }
    if let Some(written) = certificate.as_ref().and_then(|c| c.written.as_ref()) {
        say!(
            "self-signed certificate for {} written to {} (trust it with curl --cacert {})",
            SELF_SIGNED_NAMES.join(", "),
            written.path.display(),
            written.path.display()
        );
    }
    let renewal = acme.map(|acme| renew(acme, &options));
    say!("press Ctrl-C to stop");

    let name = signals.next().await;
    // No certificate is ordered while shutting down.
    drop(renewal);
    say!(
        "{name}: no new connections; finishing the requests in progress (at most {:?}; \
         send it again to stop now)",
        options.grace
    );
    let report = tokio::select! {
        report = server.shutdown(options.grace) => report,
        name = signals.next() => {
            say!("{name}: stopping now");
            return Ok(());
        }
    };
    say!(
        "stopped: {} connection(s) finished, {} cut off at the deadline",
        report.finished,
        report.aborted
    );
    Ok(())
}

/// What is served: the files of `--dir`, or echoes.
fn mode(options: &Options) -> Result<Mode, String> {
    if options.echo {
        return Ok(Mode::Echo);
    }
    let root = std::fs::canonicalize(&options.dir)
        .map_err(|err| format!("cannot serve {}: {err}", options.dir.display()))?;
    if !root.is_dir() {
        return Err(format!(
            "cannot serve {}: not a directory",
            options.dir.display()
        ));
    }
    Ok(Mode::Files(Files::new(root, options.follow_symlinks)))
}

/// The TLS listeners' certificate: from the ACME CA, self-signed, or
/// from files; none without TLS options.
fn certificate(
    options: &Options,
    acme: Option<&acme::Acme>,
    alpn: &[&str],
) -> Result<Option<Certificate>, String> {
    if let Some(acme) = acme {
        return Certificate::acme(acme, alpn).map(Some);
    }
    if options.self_signed {
        return Certificate::self_signed(alpn).map(Some);
    }
    match (&options.cert, &options.key) {
        (Some(cert), Some(key)) => Certificate::from_files(cert, key, alpn).map(Some),
        _ => Ok(None),
    }
}

/// A server builder with the `--listen` listeners bound.
fn listen(
    options: &Options,
    certificate: Option<&Certificate>,
) -> Result<conduit::serve::Builder, String> {
    let mut builder = Server::builder().max_connections(options.max_connections);
    for uri in &options.listen {
        let failed = |err: conduit::Error| format!("--listen {uri}: {err:#}");
        builder = match uri {
            ListenUri::Tcp(addr) => builder.listener(TcpListener::bind(*addr).map_err(failed)?),
            ListenUri::Tls(addr) => {
                let Some(certificate) = certificate else {
                    return Err(format!("{uri} needs a certificate"));
                };
                let tcp = TcpListener::bind(*addr).map_err(failed)?;
                builder.listener(TlsListener::new(tcp, certificate.acceptor.clone()))
            }
            ListenUri::Unix(path) => builder.listener(UnixListener::bind(path).map_err(failed)?),
        };
    }
    Ok(builder)
}

/// Starts loading or ordering the certificate, then renewing it, until
/// the returned guard drops.
fn renew(acme: acme::Acme, options: &Options) -> Renewal {
    say!(
        "acme: certificate for {} from {} (--acme accepts its terms of service)",
        options.acme.join(", "),
        options.acme_directory
    );
    Renewal(tokio::spawn(acme.run()))
}

/// The certificate's renewal task, stopped when dropped.
struct Renewal(tokio::task::JoinHandle<()>);

impl Drop for Renewal {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How a listener is reached, for the banner.
fn url(uri: &ListenUri, addr: &Addr) -> String {
    match (uri, addr) {
        (ListenUri::Tcp(_), Addr::Inet(addr)) => format!("http://{addr}/"),
        (ListenUri::Tls(_), Addr::Inet(addr)) => format!("https://{addr}/"),
        (ListenUri::Unix(_), Addr::Unix(path)) => format!(
            "unix:{} (curl --unix-socket {} http://localhost/)",
            path.display(),
            path.display()
        ),
        (_, addr) => addr.to_string(),
    }
}

/// SIGINT and SIGTERM.
struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    fn new() -> Result<Signals, String> {
        let install = |kind| signal(kind).map_err(|err| format!("cannot handle signals: {err}"));
        Ok(Signals {
            interrupt: install(SignalKind::interrupt())?,
            terminate: install(SignalKind::terminate())?,
        })
    }

    /// The name of the next signal.
    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn the_renewal_task_ends_with_its_guard() {
        let held = Arc::new(());
        let inside = held.clone();
        let renewal = Renewal(tokio::spawn(async move {
            let _inside = inside;
            std::future::pending::<()>().await;
        }));
        tokio::task::yield_now().await;
        drop(renewal);
        for _ in 0..100 {
            if Arc::strong_count(&held) == 1 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the renewal task still runs");
    }
}
