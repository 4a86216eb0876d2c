//! Counting streams the peer reset before their response ended: the
//! "Rapid Reset" defence (CVE-2023-44487).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::task::AtomicWaker;
use tokio::time::Instant;

/// Streams the peer reset before their response ended, counted by the
/// stream tasks and watched by the connection.
#[derive(Default)]
pub(super) struct Resets {
    count: AtomicU64,
    waker: AtomicWaker,
}

impl Resets {
    pub(super) fn record(&self) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.waker.wake();
    }
}

/// The connection's view of [`Resets`]: a count per fixed window.
pub(super) struct ResetWindow {
    shared: Arc<Resets>,
    start: Instant,
    count_at_start: u64,
    max: u64,
    window: Duration,
}

impl ResetWindow {
    /// At most `max` resets per `window`.
    pub(super) fn new(shared: Arc<Resets>, max: u64, window: Duration) -> ResetWindow {
        ResetWindow {
            shared,
            start: Instant::now(),
            count_at_start: 0,
            max,
            window,
        }
    }

    /// Ready with the count once the window holds more than allowed.
    pub(super) fn poll_flooded(&mut self, cx: &mut Context<'_>) -> Poll<u64> {
        self.shared.waker.register(cx.waker());
        let count = self.shared.count.load(Ordering::Relaxed);
        if count == self.count_at_start {
            return Poll::Pending;
        }
        let now = Instant::now();
        if now.duration_since(self.start) > self.window {
            self.start = now;
            self.count_at_start = count;
        }
        let recent = count - self.count_at_start;
        if recent > self.max {
            Poll::Ready(recent)
        } else {
            Poll::Pending
        }
    }
}
