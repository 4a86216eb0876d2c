//! The signal that tells connections to finish, and what shutdown did.

use std::sync::Arc;

use tokio::sync::watch;

use super::reclaim::Slot;

/// Tells a connection handler that the server is shutting down.
///
/// Every handler gets one. When [`signaled`](Drain::signaled) completes the
/// handler should finish what it is doing and close: an HTTP server stops
/// keeping connections alive after the current request and sends HTTP/2
/// `GOAWAY`. Handlers that are still running when the shutdown deadline
/// passes are aborted.
///
/// ```
/// use conduit::serve::Drain;
/// use mimic::Flow;
/// use tokio::io::AsyncReadExt;
///
/// async fn handle(mut flow: Flow, drain: Drain) {
///     let mut buf = [0; 1024];
///     loop {
///         tokio::select! {
///             read = flow.read(&mut buf) => match read {
///                 Ok(0) | Err(_) => return,
///                 Ok(_) => { /* a request */ }
///             },
///             () = drain.signaled() => return, // between requests: close now
///         }
///     }
/// }
/// # let _ = handle;
/// ```
///
/// At a [connection limit](super::Builder::max_connections), a handler can
/// also say when its connection only waits for the peer
/// ([`set_idle`](Drain::set_idle)), so that the server may close it to make
/// room for a new one.
#[derive(Clone, Debug)]
pub struct Drain {
    rx: watch::Receiver<bool>,
    slot: Option<Arc<Slot>>,
}

impl Drain {
    pub(crate) fn new(rx: watch::Receiver<bool>, slot: Option<Arc<Slot>>) -> Drain {
        Drain { rx, slot }
    }

    /// Says whether the connection waits for its peer: idle between
    /// requests, or a request still arriving (true), or works on a request
    /// (false, the state a handler starts in).
    ///
    /// At its connection limit, the server closes the connection that has
    /// waited longest to make room for a new one, as nginx closes idle
    /// keep-alive connections; connections whose handshake is still in
    /// progress count as waiting too. Without a limit this does nothing.
    /// Cheap enough to call for every request.
    pub fn set_idle(&self, idle: bool) {
        if let Some(slot) = &self.slot {
            slot.set_waiting(idle);
        }
    }

    /// Completes once shutdown has begun (at once if it already has).
    /// Cancel-safe: it can be a branch of a `select!` in a loop.
    pub async fn signaled(&self) {
        let mut rx = self.rx.clone();
        // An error means the server is gone: that is a shutdown too.
        let _ = rx.wait_for(|draining| *draining).await;
    }

    /// Whether shutdown has begun.
    pub fn is_signaled(&self) -> bool {
        *self.rx.borrow() || self.rx.has_changed().is_err()
    }
}

/// What a graceful shutdown did with the connections open when it began.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Connections that ended by themselves before the deadline (handshakes
    /// that had not completed are closed at once and counted here).
    pub finished: usize,
    /// Connections still running at the deadline, which were aborted.
    pub aborted: usize,
}
