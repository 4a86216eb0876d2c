//! One stream: the request handed to the handler, and its answer sent.
//!
//! A stream whose handler answers at once with a body already in memory is
//! answered on the spot; any other is moved to a task of its own, so slow
//! handlers run concurrently and on any worker thread.

use std::future::{Future, poll_fn};
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use futures_util::FutureExt;
use h2::RecvStream;
use h2::server::SendResponse;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Extensions, Method, Request, Response, StatusCode, Version};
use http_body::Body as HttpBody;
use tokio::time::Instant;
use tower_service::Service;

use super::Config;
use super::resets::Resets;
use crate::body::Body;
use crate::body::h2_stream::{Recv, StreamEnd};
use crate::debug::{self, Side};
use crate::error::{BoxError, Error, Kind};
use crate::h2::send::{SendError, send_body};
use crate::h2::{content_length, strip_connection_fields};

/// What every stream task needs from its connection.
pub(super) struct StreamContext {
    /// Given to every request: the connection's addresses and TLS details.
    pub(super) extensions: Extensions,
    pub(super) resets: Arc<Resets>,
    pub(super) config: Arc<Config>,
}

/// Starts answering one stream: on the spot when the handler is done at
/// once, in a task of its own otherwise. `upgraded` replaces the request
/// of stream 1 after an h2c upgrade.
pub(super) fn dispatch<S, B>(
    service: &mut S,
    req: Request<RecvStream>,
    respond: SendResponse<Bytes>,
    upgraded: Option<Request<Body>>,
    streams: &Arc<StreamContext>,
) where
    S: Service<Request<Body>, Response = Response<B>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let (mut req, request_end) = match upgraded {
        Some(req) => (req, None),
        None => match request(req, &streams.config) {
            Ok(incoming) => incoming,
            Err((status, body)) => {
                refuse(respond, status, &streams.config);
                drop(body);
                return;
            }
        },
    };
    let exchange = Exchange {
        is_head: req.method() == Method::HEAD,
        request_end,
    };
    if !streams.extensions.is_empty() {
        req.extensions_mut().extend(streams.extensions.clone());
    }
    debug::request(
        Side::Server,
        req.method(),
        req.uri(),
        req.version(),
        req.headers(),
    );
    // Errors are boxed at once: the service's own error type need not be `Send`.
    let future = service
        .call(req)
        .map(|result| result.map_err(Into::<BoxError>::into));
    let mut task = Box::pin(answer(future, respond, exchange, streams.clone()));
    // Most handlers answer at once: a poll here saves spawning a task.
    let mut cx = Context::from_waker(Waker::noop());
    if task.as_mut().poll(&mut cx).is_pending() {
        tokio::spawn(task);
    }
}

/// What answering a stream needs to know of its request.
struct Exchange {
    is_head: bool,
    /// Told when the request body stops arriving; none when it had
    /// arrived whole with the head.
    request_end: Option<Arc<StreamEnd>>,
}

/// A request as the handler sees it, with what tells when its body stopped
/// arriving.
type Incoming = (Request<Body>, Option<Arc<StreamEnd>>);

/// The request as the handler sees it; or the status refusing it, with the
/// body that is discarded once the answer is sent.
fn request(req: Request<RecvStream>, config: &Config) -> Result<Incoming, (StatusCode, Body)> {
    let (parts, recv) = req.into_parts();
    let length = content_length(&parts.headers);
    let (body, end) = if recv.is_end_stream() {
        (Body::empty(), None)
    } else {
        let end = Arc::new(StreamEnd::default());
        let recv = Recv::new(recv, length, config.max_body).discard_on_drop(end.clone());
        (Body::h2(recv), Some(end))
    };
    if let (Some(n), Some(limit)) = (length, config.max_body)
        && n > limit
    {
        return Err((StatusCode::PAYLOAD_TOO_LARGE, body));
    }
    Ok((Request::from_parts(parts, body), end))
}

/// Runs the handler and sends its response.
async fn answer<F, B, E>(
    future: F,
    mut respond: SendResponse<Bytes>,
    exchange: Exchange,
    streams: Arc<StreamContext>,
) where
    F: Future<Output = Result<Response<B>, E>>,
    E: Into<BoxError>,
    B: HttpBody,
    B::Error: Into<BoxError>,
{
    let mut future = pin!(AssertUnwindSafe(future).catch_unwind());
    // A stream the peer resets stops its handler.
    let outcome = poll_fn(|cx| {
        if let Poll::Ready(outcome) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(outcome));
        }
        respond.poll_reset(cx).map(|_| None)
    })
    .await;
    let res = match outcome {
        None => return streams.resets.record(),
        Some(Ok(Ok(res))) => res,
        Some(Ok(Err(err))) => return failed(respond, Error::user(err)),
        Some(Err(panic)) => {
            let message = crate::error::panic_message(&panic);
            tracing::error!(panic = message, "handler panicked");
            let _ = respond.send_response(error_head(StatusCode::INTERNAL_SERVER_ERROR), true);
            return;
        }
    };
    respond_with(res, respond, &exchange, &streams).await;
}

/// Answers a stream whose handler failed.
fn failed(mut respond: SendResponse<Bytes>, err: Error) {
    let status = if err.is_body_too_large() {
        StatusCode::PAYLOAD_TOO_LARGE
    } else {
        tracing::warn!(error = %format_args!("{err:#}"), "handler failed");
        StatusCode::INTERNAL_SERVER_ERROR
    };
    let _ = respond.send_response(error_head(status), true);
}

/// Sends the handler's response, head then body.
async fn respond_with<B>(
    res: Response<B>,
    mut respond: SendResponse<Bytes>,
    exchange: &Exchange,
    streams: &StreamContext,
) where
    B: HttpBody,
    B::Error: Into<BoxError>,
{
    let (mut parts, body) = res.into_parts();
    let status = parts.status;
    let bodiless = exchange.is_head
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    prepare_head(&mut parts.headers, &body, bodiless, &streams.config);
    let request = exchange.request_end.as_deref();
    let request_done = request.is_none_or(StreamEnd::is_set);
    let end = bodiless || body.is_end_stream();
    debug::response(Side::Server, http::Version::HTTP_2, status, &parts.headers);
    let head = Response::from_parts(parts, ());
    let mut stream = match respond.send_response(head, end && request_done) {
        Ok(stream) => stream,
        Err(err) => {
            if err.is_reset() && err.is_remote() {
                streams.resets.record();
            } else {
                tracing::debug!(error = %format_args!("{err:#}"), "could not send the response head");
            }
            return;
        }
    };
    let sent = match (end, request_done) {
        (true, true) => return,
        (true, false) => send_body(Body::empty(), &mut stream, request).await,
        (false, _) => send_body(body, &mut stream, request).await,
    };
    match sent {
        Ok(()) => {}
        Err(SendError::Reset(_)) => streams.resets.record(),
        Err(err) => {
            let err = err.into_error();
            tracing::debug!(error = %format_args!("{err:#}"), "response body not sent");
        }
    }
}

/// A bodiless response head for an error status.
/// Answers a request the handler never sees: with the hook's fields and
/// body when it shapes the answer, else with the status alone.
fn refuse(mut respond: SendResponse<Bytes>, status: StatusCode, config: &Config) {
    let err = Error::new(Kind::BodyTooLarge);
    let Some((headers, body)) = config.on_error.shaped(status, Version::HTTP_2, &err) else {
        let _ = respond.send_response(error_head(status), true);
        return;
    };
    let mut head = error_head(status);
    *head.headers_mut() = headers;
    strip_connection_fields(head.headers_mut());
    head.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    let end = body.is_empty();
    if let Ok(mut stream) = respond.send_response(head, end)
        && !end
    {
        let _ = stream.send_data(body, true);
    }
}

fn error_head(status: StatusCode) -> Response<()> {
    let mut res = Response::new(());
    *res.status_mut() = status;
    res
}

/// Fields that only mean something to HTTP/1.1 are dropped (`h2` refuses
/// them, and a handler written for HTTP/1.1 may set them); the length and
/// the date are added when known.
fn prepare_head<B: HttpBody>(headers: &mut HeaderMap, body: &B, bodiless: bool, config: &Config) {
    strip_connection_fields(headers);
    if !bodiless
        && !headers.contains_key(header::CONTENT_LENGTH)
        && let Some(n) = body.size_hint().exact()
    {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
    }
    if config.date
        && !headers.contains_key(header::DATE)
        && let Some(date) = crate::date::header_value(Instant::now())
    {
        headers.insert(header::DATE, date);
    }
}
