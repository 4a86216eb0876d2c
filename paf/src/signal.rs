//! The graceful-shutdown flag a connection checks between requests.

use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

/// Set once; wakes the connection that waits on it.
#[derive(Default)]
pub(crate) struct Signal {
    set: AtomicBool,
    waker: AtomicWaker,
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
}
