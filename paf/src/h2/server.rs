//! The HTTP/2 server connection: the `h2` crate runs the protocol; this
//! loop accepts streams, hands each to the handler, and watches the
//! connection (shutdown, keep-alive, idleness, reset floods).
//!
//! A stream whose handler answers at once with a body already in memory is
//! answered on the spot; any other is moved to a task of its own, so slow
//! handlers run concurrently and on any worker thread.

use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::task::AtomicWaker;
use h2::server::SendResponse;
use h2::{Reason, RecvStream};
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body::Body as HttpBody;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;
use tower_service::Service;

use super::body::{Recv, SendError, send_body};
use super::ping::KeepAlive;
use super::{content_length, strip_connection_fields};
use crate::body::Body;
use crate::debug::{self, Side};
use crate::error::{BoxError, Error, Kind, Timeout};
use crate::server::Connected;
use crate::server::signal::Signal;
use crate::timer::Deadline;

/// The settings of HTTP/2 server connections.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) max_concurrent_streams: u32,
    pub(crate) initial_stream_window: u32,
    pub(crate) initial_connection_window: u32,
    pub(crate) max_frame_size: u32,
    pub(crate) max_header_list_size: u32,
    pub(crate) max_send_buffer: usize,
    pub(crate) keep_alive_interval: Option<Duration>,
    pub(crate) keep_alive_timeout: Duration,
    pub(crate) max_pending_accept_resets: usize,
    pub(crate) max_local_error_resets: usize,
    /// At most this many streams reset by the peer before their response
    /// ended, per `reset_window`.
    pub(crate) max_resets: u64,
    pub(crate) reset_window: Duration,
    pub(crate) max_body: Option<u64>,
    pub(crate) handshake_timeout: Option<Duration>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) date: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_concurrent_streams: 200,
            initial_stream_window: 1024 * 1024,
            initial_connection_window: 4 * 1024 * 1024,
            max_frame_size: 16 * 1024,
            max_header_list_size: 64 * 1024,
            max_send_buffer: 400 * 1024,
            keep_alive_interval: None,
            keep_alive_timeout: Duration::from_secs(20),
            max_pending_accept_resets: 20,
            max_local_error_resets: 1024,
            max_resets: 200,
            reset_window: Duration::from_secs(10),
            max_body: None,
            handshake_timeout: Some(Duration::from_secs(30)),
            idle_timeout: Some(Duration::from_secs(60)),
            date: true,
        }
    }
}

impl Config {
    fn builder(&self) -> h2::server::Builder {
        let mut builder = h2::server::Builder::new();
        builder
            .max_concurrent_streams(self.max_concurrent_streams)
            .initial_window_size(self.initial_stream_window)
            .initial_connection_window_size(self.initial_connection_window)
            .max_frame_size(self.max_frame_size)
            .max_header_list_size(self.max_header_list_size)
            .max_send_buffer_size(self.max_send_buffer)
            .max_pending_accept_reset_streams(self.max_pending_accept_resets)
            .max_local_error_reset_streams(Some(self.max_local_error_resets));
        builder
    }
}

/// Streams the peer reset before their response ended, counted by the
/// stream tasks and watched by the connection.
#[derive(Default)]
struct Resets {
    count: AtomicU64,
    waker: AtomicWaker,
}

impl Resets {
    fn record(&self) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.waker.wake();
    }
}

/// The connection's view of [`Resets`]: a count per fixed window.
struct ResetWindow {
    shared: Arc<Resets>,
    start: Instant,
    count_at_start: u64,
}

impl ResetWindow {
    fn poll_flooded(&mut self, config: &Config, cx: &mut Context<'_>) -> Poll<u64> {
        self.shared.waker.register(cx.waker());
        let count = self.shared.count.load(Ordering::Relaxed);
        if count == self.count_at_start {
            return Poll::Pending;
        }
        let now = Instant::now();
        if now.duration_since(self.start) > config.reset_window {
            self.start = now;
            self.count_at_start = count;
        }
        let recent = count - self.count_at_start;
        if recent > config.max_resets {
            Poll::Ready(recent)
        } else {
            Poll::Pending
        }
    }
}

/// What every stream task needs from its connection.
struct StreamContext {
    connected: Option<Connected>,
    resets: Arc<Resets>,
    config: Arc<Config>,
}

/// Serves HTTP/2 on `io` (after the client's preface, if any was read
/// ahead, has been put back). `first` is the request of an h2c upgrade,
/// answered on stream 1.
pub(crate) async fn serve<I, S, B>(
    io: I,
    mut service: S,
    config: Arc<Config>,
    connected: Option<Connected>,
    signal: Arc<Signal>,
    mut first: Option<Request<Body>>,
) -> Result<(), Error>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Service<Request<Body>, Response = Response<B>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let handshake = config.builder().handshake::<_, Bytes>(io);
    let mut conn = match config.handshake_timeout {
        Some(limit) => match tokio::time::timeout(limit, handshake).await {
            Ok(conn) => conn,
            Err(_) => return Err(Error::new(Kind::Timeout(Timeout::Head))),
        },
        None => handshake.await,
    }
    .map_err(Error::h2)?;

    let mut keep_alive = config.keep_alive_interval.and_then(|interval| {
        let ping = conn.ping_pong()?;
        Some(KeepAlive::new(ping, interval, config.keep_alive_timeout))
    });
    let resets = Arc::new(Resets::default());
    let mut window = ResetWindow {
        shared: resets.clone(),
        start: Instant::now(),
        count_at_start: 0,
    };
    let streams = Arc::new(StreamContext {
        connected,
        resets,
        config: config.clone(),
    });
    let mut idle = Deadline::default();
    let mut going_away = false;
    // Re-armed whenever streams come: the idle timeout while open; once
    // going away, how long a client may leave the GOAWAY's PING unanswered
    // while no stream is open (`h2` waits for that answer before closing).
    let rearm = |going_away: bool| {
        let wait = if going_away {
            Some(config.keep_alive_timeout)
        } else {
            config.idle_timeout
        };
        wait.map(crate::timer::after)
    };
    idle.set(rearm(false));
    // Streams accepted and not yet handed to the service.
    let mut waiting = VecDeque::new();

    enum Event {
        Closed(Result<(), h2::Error>),
        ServiceFailed(BoxError),
        Shutdown,
        Flood(u64),
        Dead(Error),
        IdleCheck,
    }
    loop {
        let event = poll_fn(|cx| {
            if !going_away && signal.poll_set(cx).is_ready() {
                return Poll::Ready(Event::Shutdown);
            }
            if let Poll::Ready(count) = window.poll_flooded(&config, cx) {
                return Poll::Ready(Event::Flood(count));
            }
            if let Some(Poll::Ready(err)) = keep_alive.as_mut().map(|k| k.poll_dead(cx)) {
                return Poll::Ready(Event::Dead(err));
            }
            if idle.poll_expired(cx).is_ready() {
                return Poll::Ready(Event::IdleCheck);
            }
            loop {
                // Every stream that arrived is taken before any is answered:
                // polling the connection writes what is queued, so the
                // answers to one read of requests leave in one write.
                let closed = loop {
                    match conn.poll_accept(cx) {
                        Poll::Ready(Some(Ok(stream))) => waiting.push_back(stream),
                        Poll::Ready(Some(Err(err))) => break Some(Err(err)),
                        Poll::Ready(None) => break Some(Ok(())),
                        Poll::Pending => break None,
                    }
                };
                let mut answered = false;
                while !waiting.is_empty() {
                    match service.poll_ready(cx) {
                        Poll::Ready(Ok(())) => {}
                        Poll::Ready(Err(err)) => {
                            return Poll::Ready(Event::ServiceFailed(err.into()));
                        }
                        // Woken when ready; the connection keeps moving (other
                        // streams' data, PINGs) meanwhile.
                        Poll::Pending => break,
                    }
                    let Some((req, respond)) = waiting.pop_front() else {
                        break;
                    };
                    let upgraded = first.take_if(|_| respond.stream_id().as_u32() == 1);
                    dispatch(&mut service, req, respond, upgraded, &streams);
                    answered = true;
                }
                if let Some(result) = closed {
                    return Poll::Ready(Event::Closed(result));
                }
                if !answered {
                    return Poll::Pending;
                }
                idle.set(rearm(going_away));
                // Round again: the answers are written, and whatever came
                // meanwhile is taken.
            }
        })
        .await;
        match event {
            Event::Closed(result) => return result.or_else(closed_quietly),
            Event::ServiceFailed(err) => {
                let err = Error::user(err);
                tracing::warn!(error = %err, "service failed; closing the connection");
                conn.abrupt_shutdown(Reason::INTERNAL_ERROR);
                let _ = poll_fn(|cx| conn.poll_closed(cx)).await;
                return Err(err);
            }
            Event::Shutdown => {
                going_away = true;
                conn.graceful_shutdown();
                idle.set(rearm(true));
            }
            Event::Flood(count) => {
                tracing::warn!(resets = count, "HTTP/2 reset flood; closing the connection");
                conn.abrupt_shutdown(Reason::ENHANCE_YOUR_CALM);
                let _ = tokio::time::timeout(
                    Duration::from_secs(1),
                    poll_fn(|cx| conn.poll_closed(cx)),
                )
                .await;
                return Err(Error::with(
                    Kind::Http2,
                    format!(
                        "the peer reset {count} streams within {:?}",
                        config.reset_window
                    ),
                ));
            }
            Event::Dead(err) => return Err(err),
            Event::IdleCheck if conn.has_streams() => idle.set(rearm(going_away)),
            Event::IdleCheck if going_away => {
                // The client never answered: close without waiting longer.
                conn.abrupt_shutdown(Reason::NO_ERROR);
                let closing = poll_fn(|cx| conn.poll_closed(cx));
                let _ = tokio::time::timeout(Duration::from_secs(1), closing).await;
                return Ok(());
            }
            Event::IdleCheck => {
                going_away = true;
                conn.graceful_shutdown();
                idle.set(rearm(true));
            }
        }
    }
}

/// A peer that closes the connection (or goes away without an error)
/// ended it normally.
fn closed_quietly(err: h2::Error) -> Result<(), Error> {
    let quiet = err.is_go_away() && err.reason() == Some(Reason::NO_ERROR)
        || err
            .get_io()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe);
    if quiet { Ok(()) } else { Err(Error::h2(err)) }
}

/// Starts answering one stream: on the spot when the handler is done at
/// once, in a task of its own otherwise.
fn dispatch<S, B>(
    service: &mut S,
    req: Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
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
    let (parts, recv) = req.into_parts();
    let mut req = match upgraded {
        Some(req) => req,
        None => {
            let length = content_length(&parts.headers);
            if let (Some(n), Some(limit)) = (length, streams.config.max_body)
                && n > limit
            {
                let _ = respond.send_response(error_head(StatusCode::PAYLOAD_TOO_LARGE), true);
                return;
            }
            let body = if recv.is_end_stream() {
                Body::empty()
            } else {
                Body::h2(Recv::new(recv, length, streams.config.max_body))
            };
            Request::from_parts(parts, body)
        }
    };
    let is_head = req.method() == Method::HEAD;
    if let Some(connected) = &streams.connected {
        req.extensions_mut().insert(connected.clone());
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
    let mut task = Box::pin(answer(future, respond, is_head, streams.clone()));
    // Most handlers answer at once: a poll here saves spawning a task.
    let mut cx = Context::from_waker(Waker::noop());
    if task.as_mut().poll(&mut cx).is_pending() {
        tokio::spawn(task);
    }
}

/// Runs the handler and sends its response.
async fn answer<F, B, E>(
    future: F,
    mut respond: SendResponse<Bytes>,
    is_head: bool,
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
        Some(Ok(Err(err))) => {
            let err = Error::user(err);
            let status = if err.is_body_too_large() {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                tracing::warn!(error = %err, "handler failed");
                StatusCode::INTERNAL_SERVER_ERROR
            };
            let _ = respond.send_response(error_head(status), true);
            return;
        }
        Some(Err(panic)) => {
            tracing::error!(
                panic = crate::error::panic_message(&panic),
                "handler panicked"
            );
            let _ = respond.send_response(error_head(StatusCode::INTERNAL_SERVER_ERROR), true);
            return;
        }
    };
    let (mut parts, body) = res.into_parts();
    let status = parts.status;
    let bodiless = is_head
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    prepare_head(&mut parts.headers, &body, bodiless, &streams.config);
    let end = bodiless || body.is_end_stream();
    debug::response(Side::Server, http::Version::HTTP_2, status, &parts.headers);
    let head = Response::from_parts(parts, ());
    let mut stream = match respond.send_response(head, end) {
        Ok(stream) => stream,
        Err(err) => {
            if err.is_reset() && err.is_remote() {
                streams.resets.record();
            } else {
                tracing::debug!(error = %err, "could not send the response head");
            }
            return;
        }
    };
    if end {
        return;
    }
    match send_body(body, &mut stream).await {
        Ok(()) => {}
        Err(SendError::Reset(_)) => streams.resets.record(),
        Err(err) => {
            let err = err.into_error();
            tracing::debug!(error = %err, "response body not sent");
        }
    }
}

/// A bodiless response head for an error status.
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
