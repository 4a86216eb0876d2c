//! The receiving end of an HTTP/2 stream as a [`Body`](crate::Body).
//!
//! Received data is handed back to the peer's window only once the reader
//! takes it, so a slow reader holds the sender back instead of filling
//! memory.
//!
//! A server's request body dropped before its end is read on and thrown
//! away for a while ([`linger`](crate::linger)) in a task of its own: the
//! stream stays open, so a client still sending is not reset under the
//! answer it is about to read, and frames that break the protocol on that
//! stream are still answered as RFC 9113 requires.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use h2::RecvStream;
use http_body::Frame;
use tokio::sync::Notify;

use crate::error::{Error, Kind};
use crate::linger;

/// The receiving end of a stream, as a body.
pub(crate) struct Recv {
    /// Taken only when dropped.
    stream: Option<RecvStream>,
    data_done: bool,
    finished: bool,
    /// The declared length still to come, when one was declared.
    remaining: Option<u64>,
    /// How many more bytes the reader accepts, when limited.
    budget: Option<u64>,
    /// Keeps the stream counted as active while its body is read.
    _active: Option<Active>,
    /// Whether an unread rest is discarded when dropped (a server's
    /// request body); a client's response body is reset instead.
    discard: bool,
    /// Told when the stream's receiving side is over.
    ended: Option<Arc<StreamEnd>>,
}

/// Whether a request's stream has stopped arriving (ended, reset, or given
/// up on), told by its body to whoever answers it.
#[derive(Debug, Default)]
pub(crate) struct StreamEnd {
    ended: AtomicBool,
    notify: Notify,
}

impl StreamEnd {
    fn set(&self) {
        self.ended.store(true, Ordering::Release);
        self.notify.notify_waiters();
    }

    pub(crate) fn is_set(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }

    /// Completes once the stream stopped arriving.
    pub(crate) async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.is_set() {
                return;
            }
            notified.await;
        }
    }
}

impl Recv {
    pub(crate) fn new(stream: RecvStream, length: Option<u64>, limit: Option<u64>) -> Recv {
        Recv {
            stream: Some(stream),
            data_done: false,
            finished: false,
            remaining: length,
            budget: limit,
            _active: None,
            discard: false,
            ended: None,
        }
    }

    /// Discards what is left unread when dropped, as a server does, and
    /// tells `ended` when the stream stopped arriving.
    pub(crate) fn discard_on_drop(mut self, ended: Arc<StreamEnd>) -> Recv {
        self.discard = true;
        self.ended = Some(ended);
        self
    }

    pub(crate) fn with_guard(mut self, active: Active) -> Recv {
        self._active = Some(active);
        self
    }

    pub(crate) fn poll_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let frame = self.poll_next(cx);
        if self.finished
            && let Some(ended) = &self.ended
        {
            ended.set();
        }
        frame
    }

    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let Some(stream) = self.stream.as_mut() else {
            return Poll::Ready(None);
        };
        while !self.data_done {
            match ready!(stream.poll_data(cx)) {
                Some(Ok(data)) => {
                    let len = data.len();
                    // Failing to release means the stream is gone, which the
                    // next poll reports.
                    let _ = stream.flow_control().release_capacity(len);
                    if len == 0 {
                        continue;
                    }
                    if let Some(budget) = &mut self.budget {
                        if len as u64 > *budget {
                            self.data_done = true;
                            self.finished = true;
                            return Poll::Ready(Some(Err(Error::new(Kind::BodyTooLarge))));
                        }
                        *budget -= len as u64;
                    }
                    if let Some(remaining) = &mut self.remaining {
                        *remaining = remaining.saturating_sub(len as u64);
                    }
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Some(Err(err)) => {
                    self.finished = true;
                    self.data_done = true;
                    return Poll::Ready(Some(Err(recv_error(err))));
                }
                None => self.data_done = true,
            }
        }
        if self.finished {
            return Poll::Ready(None);
        }
        self.finished = true;
        match ready!(stream.poll_trailers(cx)) {
            Ok(Some(trailers)) => Poll::Ready(Some(Ok(Frame::trailers(trailers)))),
            Ok(None) => Poll::Ready(None),
            Err(err) => Poll::Ready(Some(Err(recv_error(err)))),
        }
    }

    pub(crate) fn is_end_stream(&self) -> bool {
        self.finished || self.stream.as_ref().is_none_or(RecvStream::is_end_stream)
    }

    pub(crate) fn remaining(&self) -> Option<u64> {
        if self.is_end_stream() {
            return Some(0);
        }
        self.remaining
    }
}

impl Drop for Recv {
    fn drop(&mut self) {
        let ended = self.ended.take();
        if !self.discard || self.is_end_stream() {
            ended.inspect(|ended| ended.set());
            return;
        }
        // Outside a runtime (a body moved elsewhere) the stream is reset.
        match (self.stream.take(), tokio::runtime::Handle::try_current()) {
            (Some(stream), Ok(runtime)) => drop(runtime.spawn(discard(stream, ended))),
            _ => drop(ended.inspect(|ended| ended.set())),
        }
    }
}

/// Reads and throws away the rest of a stream, within [`linger`]'s bounds;
/// the stream is reset (`NO_ERROR` once answered) if more is left.
async fn discard(stream: RecvStream, ended: Option<Arc<StreamEnd>>) {
    discard_rest(stream).await;
    if let Some(ended) = ended {
        ended.set();
    }
}

async fn discard_rest(mut stream: RecvStream) {
    let read = async {
        let mut left = linger::BYTES;
        loop {
            let next = tokio::time::timeout(linger::QUIET, stream.data()).await;
            let Ok(Some(Ok(data))) = next else {
                break;
            };
            let _ = stream.flow_control().release_capacity(data.len());
            left = left.saturating_sub(data.len() as u64);
            if left == 0 {
                return;
            }
        }
        if stream.is_end_stream() {
            return;
        }
        // The data ended: trailers, if any, end the stream.
        let _ = tokio::time::timeout(linger::QUIET, stream.trailers()).await;
    };
    let _ = tokio::time::timeout(linger::TIME, read).await;
}

/// Counts a stream as active until dropped.
pub(crate) struct Active(Arc<AtomicUsize>);

impl Active {
    pub(crate) fn new(count: &Arc<AtomicUsize>) -> Active {
        count.fetch_add(1, Ordering::AcqRel);
        Active(count.clone())
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A body cut short: the peer reset the stream or the connection failed.
fn recv_error(err: h2::Error) -> Error {
    if err.is_reset() || err.is_go_away() || err.is_io() {
        Error::with(Kind::Incomplete, err)
    } else {
        Error::h2(err)
    }
}
