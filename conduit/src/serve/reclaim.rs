//! Room at the connection limit: connections that wait for their peer
//! (a handshake in progress, an idle keep-alive, a request head still
//! arriving) can be closed, oldest first, when a new connection needs their
//! slot. nginx does the same with idle keep-alive connections; counting
//! unfinished handshakes and heads too means slow clients cannot hold every
//! slot.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tokio::task::AbortHandle;
use tokio::time::Instant;

/// One connection's state, shared by its [`Drain`](super::Drain) and the
/// accept loop.
#[derive(Debug)]
pub(crate) struct Slot {
    /// When the connection started waiting for its peer, in nanoseconds
    /// after the server's start (plus one); 0 while it works.
    waiting_since: AtomicU64,
    /// Set once the connection's task is spawned.
    task: OnceLock<AbortHandle>,
    epoch: Instant,
}

impl Slot {
    /// Marks the connection as waiting for its peer (reclaimable) or not.
    pub(crate) fn set_waiting(&self, waiting: bool) {
        let since = if waiting {
            let nanos = self.epoch.elapsed().as_nanos();
            u64::try_from(nanos).unwrap_or(u64::MAX - 1) + 1
        } else {
            0
        };
        self.waiting_since.store(since, Ordering::Relaxed);
    }

    fn waiting_since(&self) -> Option<u64> {
        match self.waiting_since.load(Ordering::Relaxed) {
            0 => None,
            since => Some(since),
        }
    }
}

/// Every open connection's [`Slot`].
#[derive(Debug)]
pub(super) struct Reclaim {
    slots: Mutex<Vec<Arc<Slot>>>,
    epoch: Instant,
}

impl Reclaim {
    pub(super) fn new() -> Reclaim {
        Reclaim {
            slots: Mutex::new(Vec::new()),
            epoch: Instant::now(),
        }
    }

    /// A slot for a new connection, waiting for its peer (its setup is
    /// still to come).
    pub(super) fn open(&self) -> Arc<Slot> {
        let slot = Arc::new(Slot {
            waiting_since: AtomicU64::new(0),
            task: OnceLock::new(),
            epoch: self.epoch,
        });
        slot.set_waiting(true);
        self.lock().push(slot.clone());
        slot
    }

    /// Records the task running `slot`'s connection.
    pub(super) fn started(&self, slot: &Slot, task: AbortHandle) {
        let _ = slot.task.set(task);
    }

    /// Forgets a connection that ended.
    pub(super) fn close(&self, slot: &Arc<Slot>) {
        let mut slots = self.lock();
        if let Some(at) = slots.iter().position(|s| Arc::ptr_eq(s, slot)) {
            slots.swap_remove(at);
        }
    }

    /// Aborts the (at most) `count` connections that have waited for their
    /// peers the longest; how many there were.
    pub(super) fn reclaim_oldest(&self, count: usize) -> usize {
        let slots = self.lock();
        let mut waiting: Vec<(u64, &Arc<Slot>)> = slots
            .iter()
            .filter(|slot| slot.task.get().is_some())
            .filter_map(|slot| Some((slot.waiting_since()?, slot)))
            .collect();
        let count = count.min(waiting.len());
        if count == 0 {
            return 0;
        }
        waiting.select_nth_unstable_by_key(count - 1, |(since, _)| *since);
        for (_, slot) in &waiting[..count] {
            // Not chosen again while its task winds down.
            slot.set_waiting(false);
            if let Some(task) = slot.task.get() {
                task.abort();
            }
        }
        count
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Slot>>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_longest_waiting_connection_is_reclaimed_first() {
        let reclaim = Reclaim::new();
        let never = || tokio::spawn(std::future::pending::<()>());
        let (a, b, c) = (reclaim.open(), reclaim.open(), reclaim.open());
        let tasks = [never(), never(), never()];
        for (slot, task) in [&a, &b, &c].into_iter().zip(&tasks) {
            reclaim.started(slot, task.abort_handle());
        }
        a.set_waiting(false);
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        c.set_waiting(true);
        // `b` has waited since it opened; `a` works; `c` just started waiting.
        assert_eq!(reclaim.reclaim_oldest(1), 1);
        tokio::task::yield_now().await;
        assert!(tasks[1].is_finished());
        assert!(!tasks[0].is_finished() && !tasks[2].is_finished());
        reclaim.close(&b);
        assert_eq!(reclaim.reclaim_oldest(8), 1, "only `c` waits");
        tokio::task::yield_now().await;
        assert!(tasks[2].is_finished() && !tasks[0].is_finished());
        assert_eq!(reclaim.reclaim_oldest(8), 0, "no connection waits");
    }
}
