//! Listeners: sources of incoming connections as [`mimic::Flow`]s.
//!
//! A [`Listener`] accepts connections and hands each one out as a
//! [`Connecting`]: the accepted stream plus whatever per-connection setup is
//! still to do, such as a TLS handshake. [`serve`](crate::serve) runs that
//! setup in the connection's own task, so a slow or hostile peer never holds
//! up accepting the next connection.
//!
//! Built in:
//! - [`TcpListener`]: an explicit bind address, dual-stack on `[::]`,
//!   `SO_REUSEADDR`, `TCP_NODELAY` on accepted sockets.
//! - [`UnixListener`] (Unix only): clears a stale socket file, refuses to
//!   take over a live one, applies a permission mode, removes its file when
//!   dropped.
//! - [`TlsListener`]: TLS over any listener, with SNI, ALPN, client
//!   certificates and certificates that can be replaced while running
//!   through a [`TlsAcceptor`].
//!
//! Your own listener implements [`Listener`]; see its documentation for an
//! example.
//!
//! Setting a listener up fails with a [`conduit::Error`](crate::Error) for
//! which [`is_listen`](crate::Error::is_listen) holds (or
//! [`is_tls`](crate::Error::is_tls) for a TLS configuration), with advice
//! in its text: a taken address, a live Unix socket, a privileged port.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use mimic::Flow;
use mimic::flow::Addr;

mod tcp;
mod tls;
#[cfg(unix)]
mod unix;

pub use tcp::{TcpListener, TcpListenerBuilder};
pub use tls::{CaBundle, ClientAuth, Identity, TlsAcceptor, TlsAcceptorBuilder, TlsListener};
#[cfg(unix)]
pub use unix::{UnixListener, UnixListenerBuilder};

/// A boxed future that can move between threads.
type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A source of incoming connections.
///
/// `accept` waits for the next connection and returns it as a
/// [`Connecting`]. It should do no slow per-connection work itself: anything
/// that needs the peer's cooperation (a handshake, reading a proxy header)
/// belongs in the `Connecting`, which [`serve`](crate::serve) completes in
/// the connection's own task under a timeout.
///
/// An error from `accept` is reported and the caller accepts again; a
/// listener that can never accept again should keep returning errors (the
/// server backs off between them) rather than panicking. Dropping the
/// future returned by `accept` must leave the listener usable.
///
/// The trait uses `impl Future` in its signature, so it is implemented with
/// a plain `async fn`. To keep listeners of different types in one
/// collection, box them with [`BoxListener`].
///
/// # Example
///
/// A listener fed by a channel of in-memory streams, as a test harness or
/// an in-process transport might have:
///
/// ```
/// use std::io;
/// use conduit::listener::{Connecting, Listener};
/// use mimic::flow::Addr;
/// use mimic::{Flow, Info};
/// use tokio::io::DuplexStream;
/// use tokio::sync::mpsc;
///
/// struct MemListener {
///     name: String,
///     incoming: mpsc::Receiver<DuplexStream>,
/// }
///
/// impl Listener for MemListener {
///     async fn accept(&mut self) -> io::Result<Connecting> {
///         match self.incoming.recv().await {
///             Some(stream) => {
///                 let info = Info::new("mem").with_local_addr(self.local_addr());
///                 Ok(Connecting::ready(Flow::new(stream, info)))
///             }
///             // No sender is left: nothing will ever arrive again.
///             None => std::future::pending().await,
///         }
///     }
///
///     fn local_addr(&self) -> Addr {
///         Addr::Mem(self.name.clone())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> io::Result<()> {
/// let (tx, rx) = mpsc::channel(8);
/// let mut listener = MemListener { name: "test".into(), incoming: rx };
/// let (client, server) = tokio::io::duplex(1024);
/// tx.send(server).await.expect("the listener is alive");
/// let flow = listener.accept().await?.await?;
/// assert_eq!(flow.info().protocol(), "mem");
/// # drop(client);
/// # Ok(())
/// # }
/// ```
pub trait Listener: Send + 'static {
    /// Waits for the next connection.
    fn accept(&mut self) -> impl Future<Output = io::Result<Connecting>> + Send;

    /// The address this listener accepts on, such as the port the system
    /// chose for a bind to port 0.
    fn local_addr(&self) -> Addr;
}

/// An accepted connection whose setup may not be complete yet.
///
/// Awaiting it runs the rest of the setup (for TLS, the handshake) and gives
/// the [`Flow`]. The peer's address is known before that, for logging.
#[must_use = "a connection does nothing until awaited"]
pub struct Connecting {
    peer: Option<Addr>,
    state: State,
}

enum State {
    Ready(Flow),
    Pending(BoxFuture<'static, io::Result<Flow>>),
    Done,
}

impl Connecting {
    /// A connection that needs no further setup.
    pub fn ready(flow: Flow) -> Connecting {
        Connecting {
            peer: flow.info().peer_addr().cloned(),
            state: State::Ready(flow),
        }
    }

    /// A connection whose setup `future` completes.
    pub fn pending<F>(peer: Option<Addr>, future: F) -> Connecting
    where
        F: Future<Output = io::Result<Flow>> + Send + 'static,
    {
        Connecting {
            peer,
            state: State::Pending(Box::pin(future)),
        }
    }

    /// The peer's address, when the listener knows it.
    pub fn peer_addr(&self) -> Option<&Addr> {
        self.peer.as_ref()
    }

    /// Adds a setup step: once this connection's flow is ready, `step`
    /// turns it into the final one (a TLS layer, for one).
    pub fn then<F, Fut>(self, step: F) -> Connecting
    where
        F: FnOnce(Flow) -> Fut + Send + 'static,
        Fut: Future<Output = io::Result<Flow>> + Send + 'static,
    {
        let peer = self.peer.clone();
        Connecting::pending(peer, async move { step(self.await?).await })
    }
}

impl From<Flow> for Connecting {
    fn from(flow: Flow) -> Connecting {
        Connecting::ready(flow)
    }
}

impl Future for Connecting {
    type Output = io::Result<Flow>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<Flow>> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Ready(flow) => Poll::Ready(Ok(flow)),
            State::Pending(mut future) => {
                let poll = future.as_mut().poll(cx);
                if poll.is_pending() {
                    self.state = State::Pending(future);
                }
                poll
            }
            State::Done => Poll::Ready(Err(io::Error::other(
                "conduit: a Connecting was polled after it completed",
            ))),
        }
    }
}

impl fmt::Debug for Connecting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Ready(_) => "ready",
            State::Pending(_) => "pending",
            State::Done => "done",
        };
        f.debug_struct("Connecting")
            .field("peer", &self.peer)
            .field("state", &state)
            .finish()
    }
}

/// The object-safe face of [`Listener`], for [`BoxListener`] and the server.
pub(crate) trait DynListener: Send + 'static {
    fn accept_boxed(&mut self) -> BoxFuture<'_, io::Result<Connecting>>;
    fn local_addr_dyn(&self) -> Addr;
}

impl<L: Listener> DynListener for L {
    fn accept_boxed(&mut self) -> BoxFuture<'_, io::Result<Connecting>> {
        Box::pin(self.accept())
    }

    fn local_addr_dyn(&self) -> Addr {
        self.local_addr()
    }
}

/// A listener of any type, boxed: for collections of different listeners.
pub struct BoxListener(Box<dyn DynListener>);

impl BoxListener {
    /// Boxes `listener`.
    pub fn new<L: Listener>(listener: L) -> BoxListener {
        BoxListener(Box::new(listener))
    }

    /// Accepts with an owned future, which the server keeps across polls.
    pub(crate) fn accept_owned(
        mut self,
    ) -> BoxFuture<'static, (BoxListener, io::Result<Connecting>)> {
        Box::pin(async move {
            let result = self.0.accept_boxed().await;
            (self, result)
        })
    }
}

impl Listener for BoxListener {
    fn accept(&mut self) -> impl Future<Output = io::Result<Connecting>> + Send {
        self.0.accept_boxed()
    }

    fn local_addr(&self) -> Addr {
        self.0.local_addr_dyn()
    }
}

impl fmt::Debug for BoxListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BoxListener")
            .field(&self.local_addr())
            .finish()
    }
}
