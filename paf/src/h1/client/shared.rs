//! What the handles and the connection loop share: the request channel and
//! the connection's state, readable without a round trip to the loop.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use http::{Request, Response};
use tokio::sync::{Notify, oneshot};

use crate::body::Body;
use crate::error::Error;

/// A request's outcome: its response, once the head has arrived.
pub(super) type Answer = Result<Response<Body>, Error>;

/// Where the connection sends a request's outcome.
pub(super) type Reply = oneshot::Sender<Answer>;

/// A request on its way to the connection.
pub(super) type Envelope = (Request<Body>, Reply);

pub(super) struct Shared {
    /// Set once the connection takes no more requests.
    closed: AtomicBool,
    /// Requests sent and not yet finished (response body read, request body
    /// written).
    busy: AtomicUsize,
    pipeline: bool,
    /// Wakes `ready()` callers when the connection becomes idle or closes.
    changed: Notify,
}

impl Shared {
    pub(super) fn new(pipeline: bool) -> Shared {
        Shared {
            closed: AtomicBool::new(false),
            busy: AtomicUsize::new(0),
            pipeline,
            changed: Notify::new(),
        }
    }

    pub(super) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Whether a request sent now would be written without waiting.
    pub(super) fn is_ready(&self) -> bool {
        !self.is_closed() && (self.pipeline || self.busy.load(Ordering::Acquire) == 0)
    }

    pub(super) fn close(&self) {
        if !self.closed.swap(true, Ordering::AcqRel) {
            self.changed.notify_waiters();
        }
    }

    /// Requests sent and not yet finished.
    pub(super) fn busy(&self) -> usize {
        self.busy.load(Ordering::Acquire)
    }

    /// Counts a request about to be queued.
    pub(super) fn begin(&self) {
        self.busy.fetch_add(1, Ordering::AcqRel);
    }

    /// Counts `n` requests finished (or never queued).
    pub(super) fn finish(&self, n: usize) {
        if self.busy.fetch_sub(n, Ordering::AcqRel) == n {
            self.changed.notify_waiters();
        }
    }

    /// Waits until the connection is ready or closed; true when ready.
    pub(super) async fn wait_ready(&self) -> bool {
        loop {
            let changed = self.changed.notified();
            let mut changed = std::pin::pin!(changed);
            // Registered before the check, so a change in between is seen.
            changed.as_mut().enable();
            if self.is_closed() {
                return false;
            }
            if self.is_ready() {
                return true;
            }
            changed.await;
        }
    }
}

/// Closes the shared state when the connection loop goes away, however it
/// ends (even when its future is dropped).
pub(super) struct CloseOnDrop(pub(super) std::sync::Arc<Shared>);

impl std::ops::Deref for CloseOnDrop {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.close();
    }
}
