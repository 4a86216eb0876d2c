//! Serving connections from several listeners, with a connection limit and
//! graceful shutdown.
//!
//! # Organization
//! - [`Builder`], [`Server`] (here): settings, listeners, start and shutdown.
//! - `accept.rs`: the accept loop, the connection limit, back-off on accept
//!   errors, a task per connection.
//! - `reclaim.rs`: at the limit, which connection makes room.
//! - [`Failure`] (`failure.rs`): what the [`on_error`](Builder::on_error)
//!   hook is told.
//! - [`Drain`], [`ShutdownReport`] (`shutdown.rs`): the signal to finish,
//!   and what a shutdown did.
//!
//! Bind the listeners first (their addresses are known from then on, and
//! clients that connect early wait in the system's queue), then start the
//! server with a handler. Every connection runs in its own task, setup such
//! as a TLS handshake included, so a slow peer never holds up accepting.
//!
//! ```
//! use std::time::Duration;
//! use conduit::listener::TcpListener;
//! use conduit::serve::{Drain, Server};
//! use mimic::Flow;
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let tcp = TcpListener::bind("127.0.0.1:0".parse()?)?;
//! let server = Server::builder()
//!     .listener(tcp)
//!     .max_connections(1000)
//!     .serve(|mut flow: Flow, _drain: Drain| async move {
//!         let mut buf = [0; 64];
//!         if let Ok(n) = flow.read(&mut buf).await {
//!             let _ = flow.write_all(&buf[..n]).await;
//!         }
//!     });
//!
//! let addr = server.local_addrs()[0].to_string();
//! let mut client = tokio::net::TcpStream::connect(addr).await?;
//! client.write_all(b"ping").await?;
//! let mut reply = [0; 4];
//! client.read_exact(&mut reply).await?;
//! assert_eq!(&reply, b"ping");
//!
//! let report = server.shutdown(Duration::from_secs(5)).await;
//! assert_eq!(report.aborted, 0);
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mimic::Flow;
use mimic::flow::Addr;
use tokio::sync::{Semaphore, oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::listener::{BoxListener, Listener};
use accept::{AcceptLoop, ConnShared, log_panic};
pub use failure::Failure;
use failure::default_hook;
pub use shutdown::{Drain, ShutdownReport};

mod accept;
mod failure;
mod reclaim;
mod shutdown;

/// The default time a connection has to complete its setup (the TLS
/// handshake) before it is closed.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

type ErrorHook = Arc<dyn Fn(&Failure) + Send + Sync>;

/// Settings and listeners of a server; [`serve`](Builder::serve) starts it.
#[must_use = "a builder does nothing until `serve` is called"]
pub struct Builder {
    listeners: Vec<BoxListener>,
    max_connections: Option<usize>,
    handshake_timeout: Duration,
    on_error: ErrorHook,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("listeners", &self.listeners)
            .field("max_connections", &self.max_connections)
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// Also accepts connections from `listener`.
    pub fn listener(mut self, listener: impl Listener) -> Self {
        self.listeners.push(BoxListener::new(listener));
        self
    }

    /// At most `limit` connections at a time, across all listeners (default:
    /// no limit). At the limit, a new connection closes the ones that have
    /// waited longest for their peers (up to eight at once, as nginx closes
    /// idle keep-alive connections): handshakes still in progress, and
    /// connections their handler marked idle with [`Drain::set_idle`]
    /// (paf's servers mark them idle between requests and while a request
    /// head arrives). Without such connections, new clients wait in the
    /// system's queue until one closes. A limit of 0 is taken as 1.
    pub fn max_connections(mut self, limit: usize) -> Self {
        self.max_connections = Some(limit.clamp(1, Semaphore::MAX_PERMITS));
        self
    }

    /// How long a connection may take to complete its setup, such as the
    /// TLS handshake (default [`DEFAULT_HANDSHAKE_TIMEOUT`]).
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Called with every [`Failure`] (default: logged with `tracing`, whole
    /// chain, accept failures as warnings, handshake failures at debug
    /// level). It runs on the server's tasks and should return quickly.
    pub fn on_error(mut self, hook: impl Fn(&Failure) + Send + Sync + 'static) -> Self {
        self.on_error = Arc::new(hook);
        self
    }

    /// The listeners' addresses, in the order they were added.
    pub fn local_addrs(&self) -> Vec<Addr> {
        self.listeners.iter().map(Listener::local_addr).collect()
    }

    /// Starts serving: every connection is given to `handler`, in its own
    /// task, with a [`Drain`] that tells it when shutdown begins.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime.
    pub fn serve<H, F>(self, handler: H) -> Server
    where
        H: Fn(Flow, Drain) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let addrs = self.local_addrs();
        let (stop_tx, stop_rx) = oneshot::channel();
        let (drain_tx, drain_rx) = watch::channel(false);
        let active = Arc::new(AtomicUsize::new(0));
        let conn = ConnShared {
            handler,
            drain: drain_rx,
            handshake_timeout: self.handshake_timeout,
            on_error: self.on_error,
            active: active.clone(),
        };
        let accept = AcceptLoop::new(self.listeners, self.max_connections, conn);
        let task = tokio::spawn(accept.run(stop_rx));
        Server {
            addrs,
            stop: Some(stop_tx),
            drain: drain_tx,
            task: Some(task),
            active,
        }
    }
}

/// A running server.
///
/// [`shutdown`](Server::shutdown) stops it gracefully. Dropping the handle
/// stops it at once: listeners close and connections are aborted.
#[must_use = "dropping the server stops it at once; keep it and call `shutdown`"]
pub struct Server {
    addrs: Vec<Addr>,
    stop: Option<oneshot::Sender<()>>,
    drain: watch::Sender<bool>,
    task: Option<JoinHandle<JoinSet<()>>>,
    active: Arc<AtomicUsize>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("addrs", &self.addrs)
            .field("active_connections", &self.active_connections())
            .finish()
    }
}

impl Server {
    /// A builder with no listeners, no connection limit and the default
    /// handshake timeout.
    pub fn builder() -> Builder {
        Builder {
            listeners: Vec::new(),
            max_connections: None,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            on_error: Arc::new(default_hook),
        }
    }

    /// The listeners' addresses, in the order they were added.
    pub fn local_addrs(&self) -> &[Addr] {
        &self.addrs
    }

    /// How many connections are open (their setup included).
    pub fn active_connections(&self) -> usize {
        self.active.load(Ordering::Relaxed)
    }

    /// Stops accepting (listeners are closed, Unix socket files removed),
    /// then signals every connection's [`Drain`], waits until `grace` after
    /// the call for them to end, and aborts the rest.
    ///
    /// The report counts the connections open when shutdown began.
    pub async fn shutdown(mut self, grace: Duration) -> ShutdownReport {
        let now = tokio::time::Instant::now();
        // A grace too long to add is no deadline worth keeping: decades.
        let deadline = now
            .checked_add(grace)
            .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365 * 30));
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let mut report = ShutdownReport::default();
        let Some(task) = self.task.take() else {
            return report;
        };
        // The listeners are closed once the loop has returned: a handler
        // told to drain can count on nothing new arriving.
        let joined = task.await;
        self.drain.send_replace(true);
        let mut connections = match joined {
            Ok(connections) => connections,
            Err(err) => {
                // Its connections went with it.
                tracing::error!(%err, "conduit: the accept loop failed");
                return report;
            }
        };
        let expired = tokio::time::sleep_until(deadline);
        tokio::pin!(expired);
        loop {
            tokio::select! {
                joined = connections.join_next() => match joined {
                    Some(result) => {
                        log_panic(result);
                        report.finished += 1;
                    }
                    None => return report,
                },
                () = &mut expired => break,
            }
        }
        connections.abort_all();
        while let Some(result) = connections.join_next().await {
            match result {
                Err(err) if err.is_cancelled() => report.aborted += 1,
                result => {
                    log_panic(result);
                    report.finished += 1;
                }
            }
        }
        report
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            // Dropping the loop's connection set aborts every connection.
            task.abort();
        }
    }
}
