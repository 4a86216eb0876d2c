//! Sending any body on an HTTP/2 stream, with flow control: a body is
//! polled for its next frame only once the previous one fit in the peer's
//! window.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use h2::{Reason, SendStream};
use http::HeaderMap;
use http_body::Body as HttpBody;

use crate::error::{BoxError, Error, Kind};

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
