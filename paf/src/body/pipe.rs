//! A one-slot channel between a connection and the body it feeds.
//!
//! The slot gives backpressure: the connection reads the next piece from the
//! network only once the previous one was taken, so an upload that the handler
//! reads slowly is held in the socket buffers, not in memory. The receiver
//! also reports when it is first polled, which is when an HTTP/1.1 server
//! sends `100 Continue`.

use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::HeaderMap;
use http_body::Frame;

use crate::error::{Error, Kind};

/// Creates a pipe; `length` is the exact body length when it is known.
pub(crate) fn pipe(length: Option<u64>) -> (Sender, Receiver) {
    let shared = Arc::new(Mutex::new(State {
        item: None,
        end: End::Open,
        wanted: false,
        receiver_gone: false,
        remaining: length,
        rx_waker: None,
        tx_waker: None,
    }));
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

struct State {
    item: Option<Item>,
    end: End,
    wanted: bool,
    receiver_gone: bool,
    remaining: Option<u64>,
    rx_waker: Option<Waker>,
    tx_waker: Option<Waker>,
}

enum Item {
    Data(Bytes),
    Trailers(HeaderMap),
}

enum End {
    Open,
    Finished,
    Failed(Option<Error>),
}

fn lock(shared: &Mutex<State>) -> MutexGuard<'_, State> {
    // The state is plain data updated in small steps: a panic elsewhere
    // cannot leave it half-written, so a poisoned lock is still usable.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn wake(waker: &mut Option<Waker>) {
    if let Some(waker) = waker.take() {
        waker.wake();
    }
}

/// The connection's end. Dropping it before [`finish`](Sender::finish) ends
/// the body with an "incomplete" error.
pub(crate) struct Sender {
    shared: Arc<Mutex<State>>,
}

/// The receiver went away: nobody will read the rest of the body.
#[derive(Debug)]
pub(crate) struct Gone;

impl Sender {
    /// Ready when the slot is free for the next piece.
    pub(crate) fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Gone>> {
        let mut state = lock(&self.shared);
        if state.receiver_gone {
            return Poll::Ready(Err(Gone));
        }
        if state.item.is_none() {
            return Poll::Ready(Ok(()));
        }
        state.tx_waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Ready once the receiver has asked for data (polled the body).
    pub(crate) fn poll_wanted(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Gone>> {
        let mut state = lock(&self.shared);
        if state.receiver_gone {
            return Poll::Ready(Err(Gone));
        }
        if state.wanted {
            return Poll::Ready(Ok(()));
        }
        state.tx_waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Whether the receiver was dropped; if not, the task is woken when it
    /// is. A connection waiting on the network for the next piece calls
    /// this, so that a body dropped meanwhile is noticed then, not when
    /// the peer sends more (a silent peer never would).
    pub(crate) fn poll_gone(&mut self, cx: &mut Context<'_>) -> bool {
        let mut state = lock(&self.shared);
        if state.receiver_gone {
            return true;
        }
        if !state
            .tx_waker
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            state.tx_waker = Some(cx.waker().clone());
        }
        false
    }

    /// Whether the receiver was dropped.
    pub(crate) fn is_gone(&self) -> bool {
        lock(&self.shared).receiver_gone
    }

    /// Puts data in the slot; call after [`poll_ready`](Sender::poll_ready).
    pub(crate) fn send_data(&mut self, data: Bytes) {
        self.put(Item::Data(data));
    }

    /// Puts trailers in the slot; call after [`poll_ready`](Sender::poll_ready).
    pub(crate) fn send_trailers(&mut self, trailers: HeaderMap) {
        self.put(Item::Trailers(trailers));
    }

    fn put(&mut self, item: Item) {
        let mut state = lock(&self.shared);
        debug_assert!(state.item.is_none(), "send without poll_ready");
        state.item = Some(item);
        wake(&mut state.rx_waker);
    }

    /// Ends the body normally after the pieces already sent.
    pub(crate) fn finish(self) {
        self.end(End::Finished);
    }

    /// Ends the body with an error, after the pieces already sent.
    pub(crate) fn fail(self, error: Error) {
        self.end(End::Failed(Some(error)));
    }

    fn end(&self, end: End) {
        let mut state = lock(&self.shared);
        if matches!(state.end, End::Open) {
            state.end = end;
            wake(&mut state.rx_waker);
        }
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.end(End::Failed(Some(Error::new(Kind::Incomplete))));
    }
}

/// The body's end.
pub(crate) struct Receiver {
    shared: Arc<Mutex<State>>,
}

impl Receiver {
    pub(crate) fn poll_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let mut state = lock(&self.shared);
        if !state.wanted {
            state.wanted = true;
            wake(&mut state.tx_waker);
        }
        if let Some(item) = state.item.take() {
            wake(&mut state.tx_waker);
            return Poll::Ready(Some(Ok(match item {
                Item::Data(data) => {
                    if let Some(remaining) = &mut state.remaining {
                        *remaining = remaining.saturating_sub(data.len() as u64);
                    }
                    Frame::data(data)
                }
                Item::Trailers(trailers) => Frame::trailers(trailers),
            })));
        }
        match &mut state.end {
            End::Open => {
                state.rx_waker = Some(cx.waker().clone());
                Poll::Pending
            }
            End::Finished => Poll::Ready(None),
            End::Failed(error) => match error.take() {
                Some(error) => Poll::Ready(Some(Err(error))),
                None => Poll::Ready(None),
            },
        }
    }

    pub(crate) fn is_end_stream(&self) -> bool {
        let state = lock(&self.shared);
        state.item.is_none() && matches!(state.end, End::Finished | End::Failed(None))
    }

    /// The exact number of bytes still to come, when known.
    pub(crate) fn remaining(&self) -> Option<u64> {
        let state = lock(&self.shared);
        match state.end {
            End::Open => state.remaining,
            _ => None,
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let mut state = lock(&self.shared);
        state.receiver_gone = true;
        state.item = None;
        wake(&mut state.tx_waker);
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;

    use super::*;

    #[tokio::test]
    async fn pieces_arrive_in_order_then_the_end() {
        let (mut tx, mut rx) = pipe(Some(5));
        poll_fn(|cx| tx.poll_ready(cx))
            .await
            .expect("receiver alive");
        tx.send_data(Bytes::from_static(b"hello"));
        // The slot is full until the receiver takes the piece.
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(tx.poll_ready(&mut cx).is_pending());
        let frame = poll_fn(|cx| rx.poll_frame(cx)).await;
        let data = frame.and_then(Result::ok).and_then(|f| f.into_data().ok());
        assert_eq!(data.as_deref(), Some(&b"hello"[..]));
        tx.finish();
        assert!(poll_fn(|cx| rx.poll_frame(cx)).await.is_none());
    }

    #[test]
    fn dropping_the_receiver_wakes_a_sender_waiting_for_the_network() {
        struct Count(std::sync::atomic::AtomicUsize);
        impl std::task::Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let woken = Arc::new(Count(Default::default()));
        let count = || woken.0.load(std::sync::atomic::Ordering::SeqCst);
        let waker = Waker::from(woken.clone());
        let mut cx = Context::from_waker(&waker);
        let (mut tx, rx) = pipe(None);
        // The slot is free: the connection goes to read the network.
        assert!(matches!(tx.poll_ready(&mut cx), Poll::Ready(Ok(()))));
        assert!(!tx.poll_gone(&mut cx));
        assert_eq!(count(), 0);
        drop(rx);
        assert_eq!(count(), 1);
        assert!(tx.poll_gone(&mut cx));
    }

    #[tokio::test]
    async fn a_dropped_sender_is_an_incomplete_body() {
        let (tx, mut rx) = pipe(None);
        drop(tx);
        let end = poll_fn(|cx| rx.poll_frame(cx)).await;
        assert!(matches!(end, Some(Err(e)) if e.is_incomplete()));
    }

    #[tokio::test]
    async fn the_sender_learns_when_the_body_is_wanted_and_when_it_is_dropped() {
        let (mut tx, mut rx) = pipe(None);
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(tx.poll_wanted(&mut cx).is_pending());
        assert!(rx.poll_frame(&mut cx).is_pending());
        assert!(matches!(tx.poll_wanted(&mut cx), Poll::Ready(Ok(()))));
        drop(rx);
        assert!(tx.is_gone());
        assert!(tx.poll_gone(&mut cx));
        assert!(matches!(tx.poll_ready(&mut cx), Poll::Ready(Err(Gone))));
    }
}
