//! Two links joined in memory.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::task::AtomicWaker;
use tokio::time::{Instant, Sleep};

use super::{Link, LinkCaps, Medium};
use crate::rng::Rng;

/// How a [`MemLink`] pair behaves. The default is a perfect Ethernet link
/// with a 1500-byte MTU and room for 1024 frames in each direction.
#[derive(Clone, Debug)]
pub struct MemLinkConfig {
    /// The MTU of both ends (default 1500; at most 65535).
    pub mtu: usize,
    /// The share of frames dropped, from 0.0 to 1.0 (default 0).
    pub loss: f64,
    /// How long each frame takes to arrive (default none).
    pub delay: Duration,
    /// A random extra delay of up to this much per frame, which reorders
    /// frames (default none).
    pub jitter: Duration,
    /// Frames in flight per direction before the sender waits (default 1024).
    pub queue: usize,
    /// Whether the stacks skip checksums (default no; see
    /// [`LinkCaps::skip_checksums`]).
    pub skip_checksums: bool,
    /// The seed of the loss and jitter draws, so a run can be repeated.
    pub seed: u64,
}

impl Default for MemLinkConfig {
    fn default() -> Self {
        MemLinkConfig {
            mtu: 1500,
            loss: 0.0,
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            queue: 1024,
            skip_checksums: false,
            seed: 0x5eed,
        }
    }
}

/// One end of an in-memory Ethernet link; [`MemLink::pair`] makes both.
///
/// What one end sends the other receives, after the configured delay and
/// jitter, unless the loss draw drops it. A sender whose direction holds
/// [`MemLinkConfig::queue`] frames waits (back pressure, as a real device
/// queue gives). When one end is dropped, the other receives nothing more
/// and what it sends is dropped.
///
/// ```
/// use tcpip::link::{Link, MemLink, MemLinkConfig};
///
/// let (a, b) = MemLink::pair(MemLinkConfig { mtu: 9000, ..MemLinkConfig::default() });
/// assert_eq!(a.caps().mtu, 9000);
/// # drop(b);
/// ```
#[derive(Debug)]
pub struct MemLink {
    tx: Arc<Pipe>,
    rx: Arc<Pipe>,
    config: MemLinkConfig,
    rng: Rng,
    sleep: Option<Pin<Box<Sleep>>>,
    /// The arrival time of frames without delay, never read.
    epoch: Instant,
}

#[derive(Debug, Default)]
struct Pipe {
    queue: Mutex<Queue>,
    /// The receiving end waits here for a frame.
    readable: AtomicWaker,
    /// The sending end waits here for room.
    writable: AtomicWaker,
}

/// Frames in flight, in the order they arrive.
#[derive(Debug, Default)]
struct Queue {
    /// Frames that keep their order (no jitter).
    fifo: VecDeque<(Instant, Vec<u8>)>,
    /// Frames with jitter, earliest first; the sequence number breaks ties.
    timed: BinaryHeap<Reverse<(Instant, u64, Vec<u8>)>>,
    seq: u64,
}

impl Queue {
    fn len(&self) -> usize {
        self.fifo.len() + self.timed.len()
    }

    fn next_due(&self) -> Option<Instant> {
        let fifo = self.fifo.front().map(|(at, _)| *at);
        let timed = self.timed.peek().map(|Reverse((at, _, _))| *at);
        match (fifo, timed) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn pop_due(&mut self, now: Instant) -> Option<Vec<u8>> {
        let fifo = self.fifo.front().map(|(at, _)| *at);
        let timed = self.timed.peek().map(|Reverse((at, _, _))| *at);
        match (fifo, timed) {
            (Some(a), b) if a <= now && b.is_none_or(|b| a <= b) => {
                self.fifo.pop_front().map(|(_, frame)| frame)
            }
            (_, Some(b)) if b <= now => self.timed.pop().map(|Reverse((_, _, frame))| frame),
            _ => None,
        }
    }
}

fn lock(pipe: &Pipe) -> MutexGuard<'_, Queue> {
    // A panic while holding the lock leaves a queue of whole frames: still usable.
    pipe.queue
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl MemLink {
    /// Two ends of one link.
    pub fn pair(config: MemLinkConfig) -> (MemLink, MemLink) {
        let (ab, ba) = (Arc::new(Pipe::default()), Arc::new(Pipe::default()));
        let mut config = config;
        config.mtu = config.mtu.clamp(576, 65535);
        config.queue = config.queue.max(1);
        let end = |tx: &Arc<Pipe>, rx: &Arc<Pipe>, seed: u64| MemLink {
            tx: tx.clone(),
            rx: rx.clone(),
            rng: Rng::new(seed),
            config: config.clone(),
            sleep: None,
            epoch: Instant::now(),
        };
        let a = end(&ab, &ba, config.seed);
        let b = end(&ba, &ab, config.seed ^ 0x9e37_79b9_7f4a_7c15);
        (a, b)
    }

    /// Whether frames arrive at once: no delay, no jitter.
    fn immediate(&self) -> bool {
        self.config.delay.is_zero() && self.config.jitter.is_zero()
    }

    fn wait_until(&mut self, cx: &mut Context<'_>, at: Instant) -> Poll<()> {
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        if sleep.deadline() != at {
            sleep.as_mut().reset(at);
        }
        sleep.as_mut().poll(cx)
    }
}

impl Link for MemLink {
    fn caps(&self) -> LinkCaps {
        LinkCaps {
            medium: Medium::Ethernet,
            mtu: self.config.mtu,
            skip_checksums: self.config.skip_checksums,
        }
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Vec<u8>>> {
        loop {
            let due = {
                let mut queue = lock(&self.rx);
                let full = queue.len() >= self.config.queue;
                let frame = if self.immediate() {
                    // No delay: no clock to read.
                    queue.fifo.pop_front().map(|(_, frame)| frame)
                } else {
                    queue.pop_due(Instant::now())
                };
                if let Some(frame) = frame {
                    drop(queue);
                    // Only a full queue can have a sender waiting.
                    if full {
                        self.rx.writable.wake();
                    }
                    return Poll::Ready(Ok(frame));
                }
                self.rx.readable.register(cx.waker());
                queue.next_due()
            };
            match due {
                // Nothing in flight: the sender's push wakes us.
                None => return Poll::Pending,
                Some(at) => {
                    if self.wait_until(cx, at).is_pending() {
                        return Poll::Pending;
                    }
                }
            }
        }
    }

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if lock(&self.tx).len() < self.config.queue {
            return Poll::Ready(Ok(()));
        }
        self.tx.writable.register(cx.waker());
        // The receiver may have made room between the check and the register.
        if lock(&self.tx).len() < self.config.queue {
            return Poll::Ready(Ok(()));
        }
        Poll::Pending
    }

    fn send(&mut self, frame: Vec<u8>) -> io::Result<()> {
        if frame.len() > self.caps().max_frame() {
            tracing::debug!(
                len = frame.len(),
                "tcpip: mem link drops a frame over its MTU"
            );
            return Ok(());
        }
        if self.config.loss > 0.0 && self.rng.unit() < self.config.loss {
            return Ok(());
        }
        if self.immediate() {
            let mut queue = lock(&self.tx);
            let was_empty = queue.len() == 0;
            queue.fifo.push_back((self.epoch, frame));
            drop(queue);
            // A receiver waits only on an empty queue.
            if was_empty {
                self.tx.readable.wake();
            }
            return Ok(());
        }
        let mut at = Instant::now() + self.config.delay;
        {
            let mut queue = lock(&self.tx);
            if self.config.jitter.is_zero() {
                queue.fifo.push_back((at, frame));
            } else {
                at += self.config.jitter.mul_f64(self.rng.unit());
                queue.seq += 1;
                let seq = queue.seq;
                queue.timed.push(Reverse((at, seq, frame)));
            }
        }
        self.tx.readable.wake();
        Ok(())
    }
}
