//! Serving connections from several listeners, with a connection limit and
//! graceful shutdown.
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
use std::future::{Future, poll_fn};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::time::Duration;

use mimic::Flow;
use mimic::flow::Addr;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot, watch};
use tokio::task::{JoinError, JoinHandle, JoinSet};

use crate::listener::{BoxListener, Connecting, Listener};
pub use crate::shutdown::{Drain, ShutdownReport};

/// The default time a connection has to complete its setup (the TLS
/// handshake) before it is closed.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The first pause after an accept error such as running out of file
/// descriptors; it doubles with each error in a row up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(50);
/// The longest pause after accept errors.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

type ErrorHook = Arc<dyn Fn(&ServeError) + Send + Sync>;

/// Something that went wrong while serving, given to the
/// [`on_error`](Builder::on_error) hook. None of them stops the server.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServeError {
    /// Accepting failed; the server pauses for `retry_in`, then accepts again.
    Accept {
        /// The listener's address.
        listener: Addr,
        /// Why.
        error: io::Error,
        /// How long the server waits before accepting again.
        retry_in: Duration,
    },
    /// A connection's setup (its TLS handshake) failed; it was closed.
    Handshake {
        /// The listener's address.
        listener: Addr,
        /// The peer's address, when known.
        peer: Option<Addr>,
        /// Why.
        error: io::Error,
    },
    /// A connection's setup took longer than the handshake timeout; it was closed.
    HandshakeTimeout {
        /// The listener's address.
        listener: Addr,
        /// The peer's address, when known.
        peer: Option<Addr>,
        /// The timeout.
        after: Duration,
    },
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let peer = |peer: &Option<Addr>| {
            peer.as_ref()
                .map_or("a client".to_string(), Addr::to_string)
        };
        match self {
            ServeError::Accept {
                listener,
                error,
                retry_in,
            } => {
                write!(
                    f,
                    "accepting on {listener} failed: {error}; retrying in {retry_in:?}"
                )?;
                if is_resource_exhaustion(error) {
                    f.write_str(
                        " (out of file descriptors or memory: raise the descriptor limit, \
                         `ulimit -n`, or lower `max_connections`)",
                    )?;
                }
                Ok(())
            }
            ServeError::Handshake {
                listener,
                peer: who,
                error,
            } => write!(
                f,
                "handshake with {} on {listener} failed: {error}",
                peer(who)
            ),
            ServeError::HandshakeTimeout {
                listener,
                peer: who,
                after,
            } => write!(
                f,
                "handshake with {} on {listener} did not complete within {after:?}",
                peer(who)
            ),
        }
    }
}

impl std::error::Error for ServeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServeError::Accept { error, .. } | ServeError::Handshake { error, .. } => Some(error),
            ServeError::HandshakeTimeout { .. } => None,
        }
    }
}

fn default_hook(error: &ServeError) {
    match error {
        ServeError::Accept { .. } => tracing::warn!(%error, "conduit"),
        _ => tracing::debug!(%error, "conduit"),
    }
}

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
    /// no limit). At the limit the server stops accepting: new clients wait
    /// in the system's queue until a connection closes. A limit of 0 is
    /// taken as 1.
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

    /// Called with every [`ServeError`] (default: logged with `tracing`,
    /// accept errors as warnings, handshake errors at debug level). It runs
    /// on the server's tasks and should return quickly.
    pub fn on_error(mut self, hook: impl Fn(&ServeError) + Send + Sync + 'static) -> Self {
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
        let accept = AcceptLoop {
            slots: self
                .listeners
                .into_iter()
                .map(|listener| Slot {
                    addr: listener.local_addr(),
                    state: SlotState::Idle(listener),
                })
                .collect(),
            next: 0,
            limit: self.max_connections.map(|n| Arc::new(Semaphore::new(n))),
            connections: JoinSet::new(),
            conn: Arc::new(ConnShared {
                handler,
                drain: drain_rx,
                handshake_timeout: self.handshake_timeout,
                on_error: self.on_error,
                active: active.clone(),
            }),
        };
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

fn log_panic(result: Result<(), JoinError>) {
    if let Err(err) = result
        && err.is_panic()
    {
        tracing::error!("conduit: a connection handler panicked");
    }
}

/// What every connection task shares.
struct ConnShared<H> {
    handler: H,
    drain: watch::Receiver<bool>,
    handshake_timeout: Duration,
    on_error: ErrorHook,
    active: Arc<AtomicUsize>,
}

/// One listener of the accept loop, with its accept in progress if any.
struct Slot {
    addr: Addr,
    state: SlotState,
}

type AcceptFuture = Pin<Box<dyn Future<Output = (BoxListener, io::Result<Connecting>)> + Send>>;

enum SlotState {
    Idle(BoxListener),
    Accepting(AcceptFuture),
    /// Only while switching between the two others.
    Empty,
}

struct AcceptLoop<H> {
    slots: Vec<Slot>,
    /// The slot polled first next time, so that a busy listener cannot
    /// starve the others.
    next: usize,
    limit: Option<Arc<Semaphore>>,
    connections: JoinSet<()>,
    conn: Arc<ConnShared<H>>,
}

impl<H, F> AcceptLoop<H>
where
    H: Fn(Flow, Drain) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    async fn run(mut self, mut stop: oneshot::Receiver<()>) -> JoinSet<()> {
        let mut permit: Option<OwnedSemaphorePermit> = None;
        let mut backoff = MIN_BACKOFF;
        loop {
            // A permit first: at the limit, connections stay in the system's
            // queue instead of being accepted and left waiting.
            if let Some(limit) = &self.limit
                && permit.is_none()
            {
                tokio::select! {
                    biased;
                    _ = &mut stop => break,
                    Some(done) = self.connections.join_next() => log_panic(done),
                    acquired = limit.clone().acquire_owned() => match acquired {
                        Ok(acquired) => permit = Some(acquired),
                        Err(_) => break, // never closed
                    },
                }
                continue;
            }
            let (index, result) = tokio::select! {
                biased;
                _ = &mut stop => break,
                Some(done) = self.connections.join_next() => {
                    log_panic(done);
                    continue;
                }
                accepted = accept_any(&mut self.slots, &mut self.next) => accepted,
            };
            match result {
                Ok(connecting) => {
                    backoff = MIN_BACKOFF;
                    let listener = self.slots[index].addr.clone();
                    self.spawn(connecting, listener, permit.take());
                }
                Err(error) if is_connection_error(&error) => {
                    tracing::debug!(%error, "conduit: a connection failed while being accepted");
                }
                Err(error) => {
                    let retry_in = backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    (self.conn.on_error)(&ServeError::Accept {
                        listener: self.slots[index].addr.clone(),
                        error,
                        retry_in,
                    });
                    tokio::select! {
                        biased;
                        _ = &mut stop => break,
                        () = tokio::time::sleep(retry_in) => {}
                    }
                }
            }
        }
        // Closes the listeners, and removes Unix socket files.
        drop(self.slots);
        while let Some(done) = self.connections.try_join_next() {
            log_panic(done);
        }
        self.connections
    }

    fn spawn(
        &mut self,
        connecting: Connecting,
        listener: Addr,
        permit: Option<OwnedSemaphorePermit>,
    ) {
        let conn = self.conn.clone();
        let guard = ActiveGuard::new(conn.active.clone());
        self.connections.spawn(async move {
            let _permit = permit;
            let _guard = guard;
            let drain = Drain::new(conn.drain.clone());
            let peer = connecting.peer_addr().cloned();
            let setup = tokio::time::timeout(conn.handshake_timeout, connecting);
            let flow = tokio::select! {
                result = setup => match result {
                    Ok(Ok(flow)) => flow,
                    Ok(Err(error)) => {
                        (conn.on_error)(&ServeError::Handshake { listener, peer, error });
                        return;
                    }
                    Err(_) => {
                        (conn.on_error)(&ServeError::HandshakeTimeout {
                            listener,
                            peer,
                            after: conn.handshake_timeout,
                        });
                        return;
                    }
                },
                // Shutting down: no request was made on it yet, close it.
                () = drain.signaled() => return,
            };
            (conn.handler)(flow, drain).await;
        });
    }
}

/// Waits for a connection on any listener. Accepts in progress are kept
/// between calls, so nothing is lost when the caller stops waiting.
async fn accept_any(slots: &mut [Slot], next: &mut usize) -> (usize, io::Result<Connecting>) {
    poll_fn(|cx| {
        let count = slots.len();
        for offset in 0..count {
            let index = (*next + offset) % count;
            let slot = &mut slots[index];
            let mut future = match std::mem::replace(&mut slot.state, SlotState::Empty) {
                SlotState::Idle(listener) => listener.accept_owned(),
                SlotState::Accepting(future) => future,
                SlotState::Empty => continue,
            };
            match future.as_mut().poll(cx) {
                Poll::Ready((listener, result)) => {
                    slot.state = SlotState::Idle(listener);
                    *next = (index + 1) % count;
                    return Poll::Ready((index, result));
                }
                Poll::Pending => slot.state = SlotState::Accepting(future),
            }
        }
        Poll::Pending
    })
    .await
}

/// Counts a connection as active for as long as it lives.
struct ActiveGuard(Arc<AtomicUsize>);

impl ActiveGuard {
    fn new(active: Arc<AtomicUsize>) -> ActiveGuard {
        active.fetch_add(1, Ordering::Relaxed);
        ActiveGuard(active)
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Errors of one connection that the system reports through accept: the
/// listener is fine, accept again at once.
fn is_connection_error(error: &io::Error) -> bool {
    use io::ErrorKind::*;
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted | WouldBlock
    ) {
        return true;
    }
    // Linux passes pending network errors of the new socket on (accept(2)).
    #[cfg(target_os = "linux")]
    if let Some(code) = error.raw_os_error() {
        return matches!(
            code,
            libc::ENETDOWN
                | libc::EPROTO
                | libc::ENOPROTOOPT
                | libc::EHOSTDOWN
                | libc::ENONET
                | libc::EHOSTUNREACH
                | libc::EOPNOTSUPP
                | libc::ENETUNREACH
                | libc::EPERM
        );
    }
    false
}

/// Running out of descriptors or memory: accepting again at once would spin.
fn is_resource_exhaustion(error: &io::Error) -> bool {
    if error.kind() == io::ErrorKind::OutOfMemory {
        return true;
    }
    #[cfg(unix)]
    if let Some(code) = error.raw_os_error() {
        return matches!(
            code,
            libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM
        );
    }
    false
}
