//! A connection's deadline, cheap to move.
//!
//! Every request moves the deadline, but resetting a timer costs a trip to
//! the timer wheel. The sleep is only re-armed when it would fire too late;
//! when it fires early the real deadline is checked and it sleeps again.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// `now + d`, or a time decades ahead when that overflows: a configured
/// `Duration::MAX` means "never", not a panic.
pub(crate) fn after(d: Duration) -> Instant {
    after_from(Instant::now(), d)
}

/// `start + d`, or decades after `start` when that overflows.
pub(crate) fn after_from(start: Instant, d: Duration) -> Instant {
    start
        .checked_add(d)
        .unwrap_or_else(|| start + Duration::from_secs(86_400 * 365 * 30))
}

#[derive(Default)]
pub(crate) struct Deadline {
    sleep: Option<Pin<Box<Sleep>>>,
    armed: Option<Instant>,
    target: Option<Instant>,
}

impl Deadline {
    pub(crate) fn set(&mut self, target: Option<Instant>) {
        self.target = target;
    }

    /// Ready once the deadline has passed; never without a deadline.
    pub(crate) fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(target) = self.target else {
            return Poll::Pending;
        };
        let sleep = match &mut self.sleep {
            Some(sleep) => {
                if self.armed.is_none_or(|armed| armed > target) {
                    sleep.as_mut().reset(target);
                    self.armed = Some(target);
                }
                sleep
            }
            None => {
                self.armed = Some(target);
                self.sleep
                    .insert(Box::pin(tokio::time::sleep_until(target)))
            }
        };
        loop {
            ready!(sleep.as_mut().poll(cx));
            if Instant::now() >= target {
                return Poll::Ready(());
            }
            sleep.as_mut().reset(target);
            self.armed = Some(target);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn fires_at_the_latest_target_not_the_first() {
        let start = Instant::now();
        let mut deadline = Deadline::default();
        deadline.set(Some(start + Duration::from_secs(1)));
        let waker = futures_util::task::noop_waker();
        assert!(
            deadline
                .poll_expired(&mut Context::from_waker(&waker))
                .is_pending()
        );
        // Moved later without re-arming: the early wake-up goes back to sleep.
        deadline.set(Some(start + Duration::from_secs(5)));
        poll_fn(|cx| deadline.poll_expired(cx)).await;
        assert_eq!(Instant::now() - start, Duration::from_secs(5));
        // Moved earlier: re-armed.
        deadline.set(Some(Instant::now() + Duration::from_millis(10)));
        poll_fn(|cx| deadline.poll_expired(cx)).await;
        assert_eq!(Instant::now() - start, Duration::from_millis(5010));
    }
}
