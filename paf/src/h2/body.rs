//! Bodies on HTTP/2 streams: receiving into a [`Body`](crate::Body), and
//! sending any body with flow control.
//!
//! Both directions are bounded. Received data is handed back to the peer's
//! window only once the reader takes it, so a slow reader holds the sender
//! back instead of filling memory; a body being sent is polled for its next
//! frame only once the previous one fit in the peer's window.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use h2::{Reason, RecvStream, SendStream};
use http::HeaderMap;
use http_body::{Body as HttpBody, Frame};

use crate::error::{BoxError, Error, Kind};

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

/// Why sending a body stopped early.
pub(crate) enum SendError {
    /// The peer reset the stream (it no longer wants the body).
    Reset(Reason),
    /// The body itself failed; the stream was reset.
    Body(Error),
    /// The connection failed.
    Stream(Error),
}

impl SendError {
    pub(crate) fn into_error(self) -> Error {
        match self {
            SendError::Reset(reason) => {
                Error::with(Kind::Http2, format!("the peer reset the stream ({reason})"))
            }
            SendError::Body(err) | SendError::Stream(err) => err,
        }
    }
}

/// Sends `body` on `stream`, ending the stream with its last frame.
///
/// The next frame is polled only once the peer's window has room, so at
/// most one frame per stream waits in memory (as in hyper): a body produced
/// faster than the peer reads is held back at its source.
pub(crate) async fn send_body<B>(body: B, stream: &mut SendStream<Bytes>) -> Result<(), SendError>
where
    B: HttpBody,
    B::Error: Into<BoxError>,
{
    let mut body = std::pin::pin!(body);
    if body.is_end_stream() {
        return stream.send_data(Bytes::new(), true).map_err(stream_error);
    }
    poll_fn(|cx| poll_send(body.as_mut(), stream, cx)).await
}

fn poll_send<B>(
    mut body: Pin<&mut B>,
    stream: &mut SendStream<Bytes>,
    cx: &mut Context<'_>,
) -> Poll<Result<(), SendError>>
where
    B: HttpBody,
    B::Error: Into<BoxError>,
{
    loop {
        // Wait until everything sent so far fits the window.
        stream.reserve_capacity(1);
        if stream.capacity() == 0 {
            loop {
                match stream.poll_capacity(cx) {
                    Poll::Ready(Some(Ok(0))) => {}
                    Poll::Ready(Some(Ok(_))) => break,
                    Poll::Ready(Some(Err(err))) => return Poll::Ready(Err(stream_error(err))),
                    Poll::Ready(None) => return Poll::Ready(Err(closed())),
                    Poll::Pending => return poll_reset(stream, cx),
                }
            }
        }
        let frame = match body.as_mut().poll_frame(cx) {
            Poll::Ready(frame) => frame,
            Poll::Pending => return poll_reset(stream, cx),
        };
        match frame {
            None => {
                return Poll::Ready(stream.send_data(Bytes::new(), true).map_err(stream_error));
            }
            Some(Err(err)) => {
                stream.send_reset(Reason::INTERNAL_ERROR);
                return Poll::Ready(Err(SendError::Body(Error::user(err))));
            }
            Some(Ok(frame)) => match frame.into_data() {
                Ok(mut data) => {
                    let data = data.copy_to_bytes(data.remaining());
                    let last = body.is_end_stream();
                    if data.is_empty() && !last {
                        continue;
                    }
                    stream.send_data(data, last).map_err(stream_error)?;
                    if last {
                        return Poll::Ready(Ok(()));
                    }
                }
                Err(frame) => {
                    let trailers = frame.into_trailers().unwrap_or_else(|_| HeaderMap::new());
                    return Poll::Ready(stream.send_trailers(trailers).map_err(stream_error));
                }
            },
        }
    }
}

/// While waiting: a reset by the peer ends the wait (the body is dropped).
fn poll_reset(stream: &mut SendStream<Bytes>, cx: &mut Context<'_>) -> Poll<Result<(), SendError>> {
    match stream.poll_reset(cx) {
        Poll::Ready(Ok(reason)) => Poll::Ready(Err(SendError::Reset(reason))),
        Poll::Ready(Err(err)) => Poll::Ready(Err(stream_error(err))),
        Poll::Pending => Poll::Pending,
    }
}

fn stream_error(err: h2::Error) -> SendError {
    match err.reason() {
        Some(reason) if err.is_reset() && err.is_remote() => SendError::Reset(reason),
        _ => SendError::Stream(Error::h2(err)),
    }
}

fn closed() -> SendError {
    SendError::Stream(Error::new(Kind::Closed))
}
