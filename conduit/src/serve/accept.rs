//! The accept loop: taking connections from every listener under the
//! connection limit, with back-off on accept errors, and running each
//! connection in its own task.

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
use tokio::task::{JoinError, JoinSet};

use super::reclaim::{Reclaim, Slot};
use super::{Drain, ErrorHook, Failure};
use crate::listener::{BoxListener, Connecting, Listener};

/// The first pause after an accept error such as running out of file
/// descriptors; it doubles with each error in a row up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(50);
/// The longest pause after accept errors.
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// How many waiting connections one new connection at the limit closes:
/// a few at once, as nginx does with idle keep-alive connections, so that
/// a queue of new clients is not let in one scheduler round at a time.
const RECLAIM_BATCH: usize = 8;

/// What every connection task shares.
pub(super) struct ConnShared<H> {
    pub(super) handler: H,
    pub(super) drain: watch::Receiver<bool>,
    pub(super) handshake_timeout: Duration,
    pub(super) on_error: ErrorHook,
    pub(super) active: Arc<AtomicUsize>,
}

/// One listener of the accept loop, with its accept in progress if any.
struct ListenerSlot {
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

pub(super) struct AcceptLoop<H> {
    slots: Vec<ListenerSlot>,
    /// The slot polled first next time, so that a busy listener cannot
    /// starve the others.
    next: usize,
    limit: Option<Limit>,
    connections: JoinSet<()>,
    conn: Arc<ConnShared<H>>,
}

/// The connection limit: permits, and the connections that could make
/// room.
struct Limit {
    permits: Arc<Semaphore>,
    reclaim: Arc<Reclaim>,
}

/// What the loop does next.
enum Step {
    Go,
    Stop,
}

impl<H, F> AcceptLoop<H>
where
    H: Fn(Flow, Drain) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    /// A loop over `listeners`, at most `limit` connections at a time.
    pub(super) fn new(
        listeners: Vec<BoxListener>,
        limit: Option<usize>,
        conn: ConnShared<H>,
    ) -> AcceptLoop<H> {
        let slots = listeners
            .into_iter()
            .map(|listener| ListenerSlot {
                addr: listener.local_addr(),
                state: SlotState::Idle(listener),
            })
            .collect();
        AcceptLoop {
            slots,
            next: 0,
            limit: limit.map(|n| Limit {
                permits: Arc::new(Semaphore::new(n)),
                reclaim: Arc::new(Reclaim::new()),
            }),
            connections: JoinSet::new(),
            conn: Arc::new(conn),
        }
    }

    /// Accepts until `stop` fires; gives back the connections still running.
    pub(super) async fn run(mut self, mut stop: oneshot::Receiver<()>) -> JoinSet<()> {
        let mut permit: Option<OwnedSemaphorePermit> = None;
        let mut backoff = MIN_BACKOFF;
        loop {
            if let Some(limit) = &self.limit
                && permit.is_none()
            {
                permit = limit.permits.clone().try_acquire_owned().ok();
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
            let step = match result {
                Ok(connecting) => {
                    backoff = MIN_BACKOFF;
                    self.admit(connecting, index, permit.take(), &mut stop)
                        .await
                }
                Err(error) => {
                    self.accept_failed(error, index, &mut backoff, &mut stop)
                        .await
                }
            };
            if let Step::Stop = step {
                break;
            }
        }
        // Closes the listeners, and removes Unix socket files.
        drop(self.slots);
        while let Some(done) = self.connections.try_join_next() {
            log_panic(done);
        }
        self.connections
    }

    /// Starts a new connection. At the limit, the connections that have
    /// waited longest for their peers are closed to make room; without
    /// one, the new connection waits for a slot (and nothing else is
    /// accepted).
    async fn admit(
        &mut self,
        connecting: Connecting,
        index: usize,
        mut permit: Option<OwnedSemaphorePermit>,
        stop: &mut oneshot::Receiver<()>,
    ) -> Step {
        if let Some(limit) = &self.limit
            && permit.is_none()
        {
            let closed = limit.reclaim.reclaim_oldest(RECLAIM_BATCH);
            if closed > 0 {
                tracing::debug!(
                    closed,
                    "conduit: at the connection limit, closed the longest idle"
                );
            }
            let permits = limit.permits.clone();
            permit = loop {
                tokio::select! {
                    biased;
                    _ = &mut *stop => return Step::Stop,
                    Some(done) = self.connections.join_next() => log_panic(done),
                    acquired = permits.clone().acquire_owned() => break acquired.ok(),
                }
            };
        }
        let listener = self.slots[index].addr.clone();
        self.spawn(connecting, listener, permit);
        Step::Go
    }

    /// Reports an accept error and backs off, unless the error was only the
    /// new connection's.
    async fn accept_failed(
        &mut self,
        error: io::Error,
        index: usize,
        backoff: &mut Duration,
        stop: &mut oneshot::Receiver<()>,
    ) -> Step {
        if is_connection_error(&error) {
            tracing::debug!(%error, "conduit: a connection failed while being accepted");
            return Step::Go;
        }
        let retry_in = *backoff;
        *backoff = (*backoff * 2).min(MAX_BACKOFF);
        (self.conn.on_error)(&Failure::Accept {
            listener: self.slots[index].addr.clone(),
            error,
            retry_in,
        });
        tokio::select! {
            biased;
            _ = stop => Step::Stop,
            () = tokio::time::sleep(retry_in) => Step::Go,
        }
    }

    fn spawn(
        &mut self,
        connecting: Connecting,
        listener: Addr,
        permit: Option<OwnedSemaphorePermit>,
    ) {
        let conn = self.conn.clone();
        let guard = ActiveGuard::new(conn.active.clone());
        let reclaim = self.limit.as_ref().map(|limit| limit.reclaim.clone());
        let slot = reclaim
            .as_ref()
            .map(|reclaim| SlotGuard::open(reclaim.clone()));
        let tracked = slot.as_ref().map(|guard| guard.slot.clone());
        let drain_slot = tracked.clone();
        let task = self.connections.spawn(async move {
            let _permit = permit;
            let _guard = guard;
            let _slot = slot;
            let drain = Drain::new(conn.drain.clone(), drain_slot);
            let peer = connecting.peer_addr().cloned();
            let setup = tokio::time::timeout(conn.handshake_timeout, connecting);
            let flow = tokio::select! {
                result = setup => match result {
                    Ok(Ok(flow)) => flow,
                    Ok(Err(error)) => {
                        (conn.on_error)(&Failure::Handshake { listener, peer, error });
                        return;
                    }
                    Err(_) => {
                        (conn.on_error)(&Failure::HandshakeTimeout {
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
            // The handler says when it waits for its peer, if it does.
            drain.set_idle(false);
            (conn.handler)(flow, drain).await;
        });
        if let (Some(reclaim), Some(slot)) = (reclaim, tracked) {
            reclaim.started(&slot, task);
        }
    }
}

/// Waits for a connection on any listener. Accepts in progress are kept
/// between calls, so nothing is lost when the caller stops waiting.
async fn accept_any(
    slots: &mut [ListenerSlot],
    next: &mut usize,
) -> (usize, io::Result<Connecting>) {
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

/// A connection's [`Slot`], forgotten when the connection ends.
struct SlotGuard {
    reclaim: Arc<Reclaim>,
    slot: Arc<Slot>,
}

impl SlotGuard {
    fn open(reclaim: Arc<Reclaim>) -> SlotGuard {
        let slot = reclaim.open();
        SlotGuard { reclaim, slot }
    }
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.reclaim.close(&self.slot);
    }
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

pub(super) fn log_panic(result: Result<(), JoinError>) {
    if let Err(err) = result
        && err.is_panic()
    {
        tracing::error!("conduit: a connection handler panicked");
    }
}
