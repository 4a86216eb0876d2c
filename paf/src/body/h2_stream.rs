//! The receiving end of an HTTP/2 stream as a [`Body`](crate::Body).
//!
//! Received data is handed back to the peer's window only once the reader
//! takes it, so a slow reader holds the sender back instead of filling
//! memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use h2::RecvStream;
use http_body::Frame;

use crate::error::{Error, Kind};

/// The receiving end of a stream, as a body.
pub(crate) struct Recv {
    stream: RecvStream,
    data_done: bool,
    finished: bool,
    /// The declared length still to come, when one was declared.
    remaining: Option<u64>,
    /// How many more bytes the reader accepts, when limited.
    budget: Option<u64>,
    /// Keeps the stream counted as active while its body is read.
    _active: Option<Active>,
}

impl Recv {
    pub(crate) fn new(stream: RecvStream, length: Option<u64>, limit: Option<u64>) -> Recv {
        Recv {
            stream,
            data_done: false,
            finished: false,
            remaining: length,
            budget: limit,
            _active: None,
        }
    }

    pub(crate) fn with_guard(mut self, active: Active) -> Recv {
        self._active = Some(active);
        self
    }

    pub(crate) fn poll_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        while !self.data_done {
            match ready!(self.stream.poll_data(cx)) {
                Some(Ok(data)) => {
                    let len = data.len();
                    // Failing to release means the stream is gone, which the
                    // next poll reports.
                    let _ = self.stream.flow_control().release_capacity(len);
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
        match ready!(self.stream.poll_trailers(cx)) {
            Ok(Some(trailers)) => Poll::Ready(Some(Ok(Frame::trailers(trailers)))),
            Ok(None) => Poll::Ready(None),
            Err(err) => Poll::Ready(Some(Err(recv_error(err)))),
        }
    }

    pub(crate) fn is_end_stream(&self) -> bool {
        self.finished || self.stream.is_end_stream()
    }

    pub(crate) fn remaining(&self) -> Option<u64> {
        if self.is_end_stream() {
            return Some(0);
        }
        self.remaining
    }
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
