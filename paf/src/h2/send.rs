//! Sending any body on an HTTP/2 stream, with flow control: a body is
//! polled for its next frame only once the previous one fit in the peer's
//! window.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use h2::{Reason, SendStream};
use http::HeaderMap;
use http_body::Body as HttpBody;

use crate::body::h2_stream::StreamEnd;
use crate::error::{BoxError, Error, Kind};

/// How long an answer that ended before its request keeps its stream open
/// for the request's end. `h2` stops checking a stream's flow control once
/// the answer ended; frames the client sent right after its request
/// (`WINDOW_UPDATE`s that overflow the window, RFC 9113 §6.9.1) are then
/// still answered as errors, and a client that reads the answer while
/// still sending sees the stream end after its own.
const HOLD: Duration = Duration::from_millis(50);

/// How the body's last frame went out.
enum Last {
    /// With the end of the stream.
    Ended,
    /// Without it: the request still arrives. Trailers, if any, wait.
    Held(Option<HeaderMap>),
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

/// Sends `body` on `stream`, ending the stream with its last frame; or,
/// when the `request` this answers still arrives, after its end (at most
/// [`HOLD`] later).
///
/// The next frame is polled only once the peer's window has room, so at
/// most one frame per stream waits in memory (as in hyper): a body produced
/// faster than the peer reads is held back at its source.
pub(crate) async fn send_body<B>(
    body: B,
    stream: &mut SendStream<Bytes>,
    request: Option<&StreamEnd>,
) -> Result<(), SendError>
where
    B: HttpBody,
    B::Error: Into<BoxError>,
{
    let mut body = std::pin::pin!(body);
    let last = if body.is_end_stream() {
        Last::Held(None)
    } else {
        poll_fn(|cx| poll_send(body.as_mut(), stream, cx, request)).await?
    };
    let Last::Held(trailers) = last else {
        return Ok(());
    };
    if let Some(request) = request {
        hold(request, stream).await?;
    }
    match trailers {
        Some(trailers) => stream.send_trailers(trailers),
        None => stream.send_data(Bytes::new(), true),
    }
    .map_err(stream_error)
}

/// Waits for the request's end, at most [`HOLD`], unless the peer resets.
async fn hold(request: &StreamEnd, stream: &mut SendStream<Bytes>) -> Result<(), SendError> {
    if request.is_set() {
        return Ok(());
    }
    tokio::select! {
        () = request.wait() => Ok(()),
        () = tokio::time::sleep(HOLD) => Ok(()),
        reset = poll_fn(|cx| poll_reset(stream, cx)) => reset,
    }
}

fn poll_send<B>(
    mut body: Pin<&mut B>,
    stream: &mut SendStream<Bytes>,
    cx: &mut Context<'_>,
    request: Option<&StreamEnd>,
) -> Poll<Result<Last, SendError>>
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
        // The request still arriving holds the end back.
        let ends = request.is_none_or(StreamEnd::is_set);
        match frame {
            None if !ends => return Poll::Ready(Ok(Last::Held(None))),
            None => {
                let sent = stream.send_data(Bytes::new(), true);
                return Poll::Ready(sent.map(|()| Last::Ended).map_err(stream_error));
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
                    stream.send_data(data, last && ends).map_err(stream_error)?;
                    if last {
                        let last = if ends { Last::Ended } else { Last::Held(None) };
                        return Poll::Ready(Ok(last));
                    }
                }
                Err(frame) => {
                    let trailers = frame.into_trailers().unwrap_or_else(|_| HeaderMap::new());
                    if !ends {
                        return Poll::Ready(Ok(Last::Held(Some(trailers))));
                    }
                    let sent = stream.send_trailers(trailers);
                    return Poll::Ready(sent.map(|()| Last::Ended).map_err(stream_error));
                }
            },
        }
    }
}

/// While waiting: a reset by the peer ends the wait (the body is dropped).
fn poll_reset<T>(
    stream: &mut SendStream<Bytes>,
    cx: &mut Context<'_>,
) -> Poll<Result<T, SendError>> {
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
