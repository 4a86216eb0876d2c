//! Calling the handler: the request body it reads, fed while it runs, and
//! its failures turned into the status to answer with.

use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::Poll;

use http::{Request, Response, StatusCode};
use tokio::io::{AsyncRead, AsyncWrite};
use tower_service::Service;

use super::Config;
use crate::body::{Body, pipe};
use crate::debug::{self, Side};
use crate::error::{BoxError, Error, Kind, Timeout};
use crate::h1::codec::{Decoder, Framing, RequestHead};
use crate::h1::io::Buffered;
use crate::h1::pump::{Pump, PumpError};

/// What the handler gave.
pub(super) enum Answer<B> {
    Response(Response<B>),
    /// Answer with this status and close; the handler's response, if any,
    /// is dropped.
    Refuse(StatusCode, Error),
    /// Nothing more can be written.
    Abort(Error),
}

/// The handler's view of the request body, and the pump that feeds it when
/// it is not already buffered whole. Err is the status refusing the body.
pub(super) fn request_body<I>(
    io: &mut Buffered<I>,
    head: &RequestHead,
    config: &Config,
) -> Result<(Body, Option<Box<Pump>>), StatusCode> {
    let length = match head.framing {
        Framing::Empty => return Ok((Body::empty(), None)),
        Framing::Length(n) => Some(n),
        _ => None,
    };
    if let (Some(n), Some(limit)) = (length, config.max_body)
        && n > limit
    {
        return Err(StatusCode::PAYLOAD_TOO_LARGE);
    }
    if let Some(n) = length
        && io.read_buf.len() as u64 >= n
    {
        // The whole body came with the head: no pump, no channel.
        let body = io.read_buf.split_to(n as usize).freeze();
        return Ok((Body::full(body), None));
    }
    let decoder = Decoder::new(head.framing, &config.limits);
    let (tx, rx) = pipe::pipe(length);
    let pump = Pump::new(
        decoder,
        tx,
        head.expect_continue,
        config.max_body,
        config.idle_timeout,
    );
    // Boxed: most requests have no pump, and the connection's state
    // moves what it holds on every request.
    Ok((Body::incoming(rx), Some(Box::new(pump))))
}

/// Waits until the handler can take a request; an error is the answer.
pub(super) async fn ready<S, B>(service: &mut S) -> Result<(), Answer<B>>
where
    S: Service<Request<Body>, Response = Response<B>>,
    S::Error: Into<BoxError>,
{
    poll_fn(|cx| service.poll_ready(cx)).await.map_err(|err| {
        let err = Error::user(err);
        Answer::Refuse(StatusCode::INTERNAL_SERVER_ERROR, err)
    })
}

/// Hands `req` to the handler; its future is to be pinned where it stays
/// and driven by [`drive`].
///
/// The handler's future is moved once, into the connection's state: it is
/// not wrapped (panics are caught around each poll) nor held by another
/// future, since every move of a future copies all of it, and on a busy
/// server the connection's state is cold in the cache.
#[inline(always)]
pub(super) fn start<S, B>(service: &mut S, req: Request<Body>) -> S::Future
where
    S: Service<Request<Body>, Response = Response<B>>,
{
    debug::request(
        Side::Server,
        req.method(),
        req.uri(),
        req.version(),
        req.headers(),
    );
    service.call(req)
}

/// Drives the handler's `response` while feeding it the request body.
pub(super) async fn drive<I, F, B, E>(
    mut response: Pin<&mut F>,
    pump: &mut Option<Box<Pump>>,
    io: &mut Buffered<I>,
) -> Answer<B>
where
    I: AsyncRead + AsyncWrite + Unpin,
    F: Future<Output = Result<Response<B>, E>>,
    E: Into<BoxError>,
{
    let outcome = poll_fn(|cx| {
        if let Some(p) = pump.as_mut()
            && let Poll::Ready(result) = p.poll(cx, io)
        {
            match result {
                Ok(()) => *pump = None,
                Err(err) => return Poll::Ready(Err(err)),
            }
        }
        // A panic ends this request, not the connection's task; the
        // future is not polled again.
        match catch_unwind(AssertUnwindSafe(|| response.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(result)) => Poll::Ready(Ok(Ok(result))),
            Err(panic) => Poll::Ready(Ok(Err(panic))),
        }
    })
    .await;
    match outcome {
        Ok(Ok(Ok(res))) => Answer::Response(res),
        Ok(Ok(Err(err))) => {
            let err = Error::user(err);
            tracing::warn!(error = %format_args!("{err:#}"), "handler failed");
            Answer::Refuse(StatusCode::INTERNAL_SERVER_ERROR, err)
        }
        Ok(Err(panic)) => {
            let message = crate::error::panic_message(&panic);
            tracing::error!(panic = message, "handler panicked");
            Answer::Refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                Error::with(Kind::Panic, message.to_owned()),
            )
        }
        Err(err) => pump_failed(err),
    }
}

fn pump_failed<B>(err: PumpError) -> Answer<B> {
    match err {
        PumpError::TooLarge => Answer::Refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            Error::new(Kind::BodyTooLarge),
        ),
        PumpError::Malformed(e) => {
            Answer::Refuse(StatusCode::BAD_REQUEST, Error::with(Kind::Body, e))
        }
        PumpError::Stalled => Answer::Refuse(
            StatusCode::REQUEST_TIMEOUT,
            Error::new(Kind::Timeout(Timeout::Body)),
        ),
        PumpError::Incomplete => Answer::Abort(Error::new(Kind::Incomplete)),
        PumpError::Io(e) => Answer::Abort(Error::io(e)),
    }
}
