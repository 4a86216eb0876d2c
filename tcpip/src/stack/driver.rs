//! The task that moves frames between the link and smoltcp.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use smoltcp::iface::PollResult;
use tokio::time::Sleep;

use super::Shared;
use super::device::{Frames, syn_of};
use crate::link::Link;

/// Frames taken from the link per step, so that the lock is held briefly.
const RX_BATCH: usize = 64;
/// Steps per poll before the task yields to others.
const ROUNDS: usize = 32;

pub(crate) struct Driver<L> {
    shared: Arc<Shared>,
    link: L,
    frames: Frames,
    received: Vec<Vec<u8>>,
    sleep: Pin<Box<Sleep>>,
}

// The link is only used through `&mut`, never pinned.
impl<L> Unpin for Driver<L> {}

impl<L: Link> Driver<L> {
    pub(crate) fn new(shared: Arc<Shared>, link: L, frames: Frames) -> Driver<L> {
        Driver {
            shared,
            link,
            frames,
            received: Vec::with_capacity(RX_BATCH),
            sleep: Box::pin(tokio::time::sleep(Duration::ZERO)),
        }
    }

    /// Hands queued frames to the link; false when it pushed back.
    fn flush(&mut self, cx: &mut Context<'_>) -> bool {
        while !self.frames.tx.is_empty() {
            match self.link.poll_ready(cx) {
                Poll::Ready(Ok(())) => {
                    if let Some(frame) = self.frames.tx.pop_front()
                        && let Err(err) = self.link.send(frame)
                    {
                        tracing::debug!("tcpip: the link did not take a frame: {err}");
                    }
                }
                Poll::Ready(Err(err)) => {
                    tracing::debug!("tcpip: the link cannot send: {err}");
                    self.frames.tx.pop_front();
                }
                Poll::Pending => return false,
            }
        }
        true
    }

    fn receive(&mut self, cx: &mut Context<'_>) {
        while self.received.len() < RX_BATCH {
            match self.link.poll_recv(cx) {
                Poll::Ready(Ok(frame)) => self.received.push(frame),
                Poll::Ready(Err(err)) => {
                    tracing::debug!("tcpip: the link cannot receive: {err}");
                    break;
                }
                Poll::Pending => break,
            }
        }
    }

    /// One step under the lock: ingress, egress, listeners, DHCP, closing
    /// connections. Gives how long smoltcp may sleep.
    fn step(&mut self) -> Option<Duration> {
        let medium = self.shared.medium;
        let now = self.shared.now();
        let mut guard = self.shared.lock();
        let core = &mut *guard;
        // SYNs held for a full backlog go first, as far as there is room.
        while let Some((syn, frame)) = core.release_held(now) {
            self.frames.rx = Some(frame);
            core.iface
                .poll_ingress_single(now, &mut self.frames, &mut core.sockets);
            if let Some(id) = core.listener_id_for(&syn) {
                core.refresh(id);
            }
        }
        for frame in self.received.drain(..) {
            let syn = syn_of(&frame, medium);
            if let Some(syn) = syn
                && core.refuses(&syn)
            {
                core.hold(syn, frame, now);
                continue;
            }
            self.frames.rx = Some(frame);
            core.iface
                .poll_ingress_single(now, &mut self.frames, &mut core.sockets);
            // A listener that took a SYN is re-armed before the next frame.
            if let Some(id) = syn.and_then(|syn| core.listener_id_for(&syn)) {
                core.refresh(id);
            }
        }
        core.iface.poll_maintenance(now);
        // The bound first: every egress pass may queue a frame per socket.
        while self.frames.tx.len() < super::device::TX_QUEUE
            && core
                .iface
                .poll_egress(now, &mut self.frames, &mut core.sockets)
                == PollResult::SocketStateChanged
        {}
        core.refresh_all();
        core.unguard_acknowledged_fins();
        let addresses = core.poll_dhcp();
        core.reap(now);
        let delay = core.iface.poll_delay(now, &core.sockets);
        drop(guard);
        if let Some(addresses) = addresses {
            self.shared.addresses.send_replace(addresses);
        }
        delay.map(Into::into)
    }
}

impl<L: Link> Future for Driver<L> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.shared.driver.register(cx.waker());
        for _ in 0..ROUNDS {
            if this.shared.stopped.load(Ordering::Acquire) {
                return Poll::Ready(());
            }
            let link_ready = this.flush(cx);
            this.receive(cx);
            let received = !this.received.is_empty();
            let delay = this.step();
            let sent = !this.frames.tx.is_empty();
            let link_ready = this.flush(cx) && link_ready;
            if received || (sent && link_ready) {
                continue;
            }
            match delay {
                // smoltcp wants to send but the link pushed back: its waker
                // brings us back.
                Some(delay) if delay.is_zero() && !link_ready => return Poll::Pending,
                Some(delay) => {
                    // Asked to poll again at once but nothing went out:
                    // a short nap rather than a busy loop.
                    let delay = delay.max(Duration::from_millis(1));
                    let at = tokio::time::Instant::now() + delay;
                    this.sleep.as_mut().reset(at);
                    if this.sleep.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                }
                None => return Poll::Pending,
            }
        }
        // Still busy: let other tasks run, and come back.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
