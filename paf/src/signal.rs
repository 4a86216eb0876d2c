//! What a connection shares with whoever runs it: the graceful-shutdown
//! flag it checks between requests, and whether it waits for its peer
//! (told to a hook, so that a server at its connection limit can close the
//! connection that has waited longest).

use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

/// Told whether the connection waits for its peer.
type WaitingHook = Box<dyn Fn(bool) + Send + Sync>;

/// Set once; wakes the connection that waits on it.
#[derive(Default)]
pub(crate) struct Signal {
    set: AtomicBool,
    waker: AtomicWaker,
    waiting: AtomicBool,
    hook: OnceLock<WaitingHook>,
}

impl Signal {
    pub(crate) fn set(&self) {
        self.set.store(true, Ordering::Release);
        self.waker.wake();
    }

    pub(crate) fn is_set(&self) -> bool {
        self.set.load(Ordering::Acquire)
    }

    pub(crate) fn poll_set(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.is_set() {
            return Poll::Ready(());
        }
        self.waker.register(cx.waker());
        // Set between the check and the registration: seen now.
        if self.is_set() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Says whether the connection now waits for its peer (its first bytes,
    /// a request head, the next request); the hook hears of changes only.
    pub(crate) fn waiting(&self, waiting: bool) {
        if let Some(hook) = self.hook.get()
            && self.waiting.swap(waiting, Ordering::Relaxed) != waiting
        {
            hook(waiting);
        }
    }

    /// Installs the hook told of [`waiting`](Signal::waiting) changes; the
    /// first one installed stays.
    pub(crate) fn on_waiting(&self, hook: WaitingHook) {
        let _ = self.hook.set(hook);
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal")
            .field("set", &self.is_set())
            .field("waiting", &self.waiting.load(Ordering::Relaxed))
            .finish()
    }
}
