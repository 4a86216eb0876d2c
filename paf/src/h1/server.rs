//! The HTTP/1.1 server connection: one loop that reads requests, calls the
//! handler and writes responses, strictly in order.
//!
//! Pipelined requests are parsed straight from the read buffer; their
//! responses are queued and leave in one vectored write when the buffer runs
//! dry (or the queue grows large), which is what makes pipelining cheap.

use std::future::{Future, poll_fn};
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::FutureExt;
use http::header::CONTENT_LENGTH;
use http::{HeaderMap, Method, Request, Response, StatusCode, Version};
use http_body::Body as HttpBody;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;
use tower_service::Service;

use super::codec::{
    self, Decoder, Encoder, Framing, HeadError, Limits, RequestHead, ResponseHeadOut,
};
use super::io::{Buffered, WRITE_HIGH_WATER};
use super::outgoing::{Step, poll_encode};
use super::pump::{Pump, PumpError};
use crate::body::{Body, pipe};
use crate::date;
use crate::debug::{self, Side};
use crate::error::{BoxError, Error, Kind, Timeout};
use crate::h2::h2c;
use crate::server::Connected;
use crate::server::signal::Signal;
use crate::timer::{self, Deadline};
use crate::upgrade::{OnUpgrade, Upgraded};

/// How long a closing connection keeps reading (and discarding) so that the
/// peer receives the last response before the close resets the connection.
const LINGER: Duration = Duration::from_secs(2);
/// Lingering stops earlier when the client is quiet this long.
const LINGER_QUIET: Duration = Duration::from_millis(500);
const LINGER_BYTES: usize = 64 * 1024 * 1024;

/// The settings of HTTP/1.1 connections.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) limits: Limits,
    pub(crate) max_body: Option<u64>,
    pub(crate) head_timeout: Option<Duration>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) keep_alive: bool,
    pub(crate) max_drain: u64,
    pub(crate) date: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            limits: Limits::default(),
            max_body: None,
            head_timeout: Some(Duration::from_secs(30)),
            idle_timeout: Some(Duration::from_secs(60)),
            keep_alive: true,
            max_drain: 256 * 1024,
            date: true,
        }
    }
}

/// What reading the next request head gave. Not boxed: an allocation per
/// request would cost more than moving the head.
#[allow(clippy::large_enum_variant)]
enum Next {
    Request(RequestHead),
    /// The connection ends without a response: the client closed it or it
    /// was idle too long, or the server is shutting down.
    Close(Option<Error>),
    /// The client misbehaved; answer with this status and close.
    Refuse(StatusCode, Error),
}

/// What the handler gave.
enum Answer<B> {
    Response(Response<B>),
    /// Answer with this status and close; the handler's response, if any,
    /// is dropped.
    Refuse(StatusCode, Error),
    /// Nothing more can be written.
    Abort(Error),
}

/// What a connection has besides its stream and settings.
pub(crate) struct Extras {
    /// Bytes already read from the stream (while choosing the protocol).
    pub(crate) early: BytesMut,
    pub(crate) connected: Option<Connected>,
    pub(crate) signal: Arc<Signal>,
    /// Whether `Upgrade: h2c` requests are granted.
    pub(crate) h2c: bool,
}

/// An h2c upgrade granted (`101` is written): the stream, what was read
/// after the request, the request itself, and the handler, for HTTP/2 to
/// carry on with.
pub(crate) struct Switch<I, S> {
    pub(crate) io: I,
    pub(crate) early: BytesMut,
    pub(crate) head: RequestHead,
    pub(crate) service: S,
}

/// Serves requests on `io` until the client closes, an error, or shutdown;
/// or until an h2c upgrade is granted.
pub(crate) async fn serve<I, S, B>(
    io: I,
    mut service: S,
    config: Arc<Config>,
    extras: Extras,
) -> Result<Option<Switch<I, S>>, Error>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Service<Request<Body>, Response = Response<B>>,
    S::Error: Into<BoxError>,
    B: HttpBody,
    B::Error: Into<BoxError>,
{
    let Extras {
        early,
        connected,
        signal,
        h2c,
    } = extras;
    let mut io = Buffered::with_read_buf(io, early);
    let mut deadline = Deadline::default();
    deadline.set(config.head_timeout.map(timer::after));
    // When the last response was written; none before the first request.
    let mut last_response = None;
    loop {
        let head = match read_head(&mut io, &config, &signal, &mut deadline, last_response).await {
            Next::Request(head) => head,
            Next::Close(err) => return close(&mut io, err).await.map(|()| None),
            Next::Refuse(status, err) => {
                return refuse(&mut io, &config, status, err).await.map(|()| None);
            }
        };
        if h2c && h2c::wants_upgrade(&head) && !signal.is_set() {
            io.write_buf.push(Bytes::from_static(h2c::SWITCHING));
            poll_fn(|cx| io.poll_flush(cx)).await.map_err(Error::io)?;
            return Ok(Some(Switch {
                io: io.io,
                early: io.read_buf,
                head,
                service,
            }));
        }
        let is_head = head.method == Method::HEAD;
        let is_connect = head.method == Method::CONNECT;
        let mut keep_alive = head.keep_alive && config.keep_alive && !signal.is_set();

        let (body, mut pump) = match request_body(&mut io, &head, &config) {
            Ok(pair) => pair,
            Err(status) => {
                let err = Error::new(Kind::BodyTooLarge);
                return refuse(&mut io, &config, status, err).await.map(|()| None);
            }
        };
        let mut upgrade = None;
        let mut req = Request::new(body);
        *req.method_mut() = head.method;
        *req.uri_mut() = head.uri;
        *req.version_mut() = head.version;
        *req.headers_mut() = head.headers;
        if let Some(connected) = &connected {
            req.extensions_mut().insert(connected.clone());
        }
        if head.upgrade {
            let (tx, on_upgrade) = OnUpgrade::pair();
            req.extensions_mut().insert(on_upgrade);
            upgrade = Some(tx);
        }

        let res = match call(&mut service, req, &mut pump, &mut io).await {
            Answer::Response(res) => res,
            Answer::Refuse(status, err) => {
                return refuse(&mut io, &config, status, err).await.map(|()| None);
            }
            Answer::Abort(err) => return Err(err),
        };

        let (parts, body) = res.into_parts();
        let status = parts.status;
        if codec::connection_has(&parts.headers, "close") {
            keep_alive = false;
        }
        let switching = upgrade.is_some()
            && (status == StatusCode::SWITCHING_PROTOCOLS || (is_connect && status.is_success()));
        if let Some(pump) = pump.as_mut()
            && pump.awaits_continue()
        {
            // The client holds its body back until told to send it; the
            // handler never asked, so the connection cannot be reused. The
            // final response now takes the place of `100 Continue`.
            keep_alive = false;
            pump.skip_continue();
        }
        let framing = if switching {
            // The stream is not HTTP any more: no length, no chunking, and
            // no framing header (a `content-length: 0` would be wrong).
            Framing::CloseDelimited
        } else {
            response_framing(status, &parts.headers, &body, head.version, is_head)
        };
        if framing == Framing::CloseDelimited || signal.is_set() {
            keep_alive = false;
        }
        let connection = match (keep_alive, head.version) {
            (false, _) if !switching => Some("close"),
            (true, Version::HTTP_10) => Some("keep-alive"),
            _ => None,
        };
        let now = Instant::now();
        last_response = Some(now);
        write_head(
            &mut io,
            now,
            &config,
            status,
            &parts.headers,
            framing,
            connection,
        );

        let sends_body = !(is_head || switching || framing == Framing::Empty);
        if sends_body {
            if let Err(err) = write_body(&mut io, body, framing, &mut pump, &mut keep_alive).await {
                // The response cannot be completed: closing tells the client.
                let _ = poll_fn(|cx| io.poll_shutdown(cx)).await;
                return Err(err);
            }
        } else {
            drop(body);
        }

        if switching {
            poll_fn(|cx| io.poll_flush(cx)).await.map_err(Error::io)?;
            if let Some(tx) = upgrade.take() {
                let early = io.read_buf.split().freeze();
                let _ = tx.send(Upgraded::new(io.io, early));
            }
            return Ok(None);
        }
        drop(upgrade);

        let mut unread = pump.as_ref().is_some_and(|pump| !pump.is_done());
        if let Some(pump) = pump.take()
            && unread
            && keep_alive
        {
            keep_alive = finish_body(&mut io, pump, &config, &mut deadline).await;
            unread = !keep_alive;
        }
        if !keep_alive {
            let closed = close(&mut io, None).await;
            if unread {
                // The client may still be sending the body: closing with
                // unread bytes would reset the connection under the response.
                linger(&mut io).await;
            }
            return closed.map(|()| None);
        }
        if io.read_buf.is_empty() || io.write_buf.len() >= WRITE_HIGH_WATER {
            poll_fn(|cx| io.poll_flush(cx)).await.map_err(Error::io)?;
        }
    }
}

/// Reads until a whole request head is buffered.
async fn read_head<I>(
    io: &mut Buffered<I>,
    config: &Config,
    signal: &Signal,
    deadline: &mut Deadline,
    last_response: Option<Instant>,
) -> Next
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    // The first request's head is timed from the connection's start.
    let mut idle = false;
    if let Some(last) = last_response {
        if io.read_buf.is_empty() {
            idle = true;
            deadline.set(config.idle_timeout.map(|t| timer::after_from(last, t)));
        } else {
            deadline.set(config.head_timeout.map(timer::after));
        }
    }
    loop {
        match codec::parse_request(&mut io.read_buf, &config.limits) {
            Ok(Some(head)) => return Next::Request(head),
            Ok(None) => {}
            Err(err) => return Next::Refuse(err.status(), parse_error(err)),
        }
        if !io.write_buf.is_empty()
            && let Err(err) = poll_fn(|cx| io.poll_flush(cx)).await
        {
            return Next::Close(Some(Error::io(err)));
        }
        enum Event {
            Read(std::io::Result<usize>),
            Shutdown,
            Expired,
        }
        let event = poll_fn(|cx| {
            if let Poll::Ready(read) = io.poll_read_head(cx) {
                return Poll::Ready(Event::Read(read));
            }
            if io.read_buf.is_empty() && signal.poll_set(cx).is_ready() {
                return Poll::Ready(Event::Shutdown);
            }
            if deadline.poll_expired(cx).is_ready() {
                return Poll::Ready(Event::Expired);
            }
            Poll::Pending
        })
        .await;
        match event {
            Event::Read(Ok(0)) => {
                // A client may close between requests; in the middle of a
                // head there is nobody left to answer.
                let err = (!io.read_buf.is_empty()).then(|| Error::new(Kind::Incomplete));
                return Next::Close(err);
            }
            Event::Read(Ok(_)) => {
                if idle {
                    idle = false;
                    deadline.set(config.head_timeout.map(timer::after));
                }
            }
            Event::Read(Err(err)) => return Next::Close(Some(Error::io(err))),
            Event::Shutdown => return Next::Close(None),
            Event::Expired if io.read_buf.is_empty() => {
                let kind = if idle { Timeout::Idle } else { Timeout::Head };
                return Next::Close(Some(Error::new(Kind::Timeout(kind))));
            }
            Event::Expired => {
                return Next::Refuse(
                    StatusCode::REQUEST_TIMEOUT,
                    Error::new(Kind::Timeout(Timeout::Head)),
                );
            }
        }
    }
}

fn parse_error(err: HeadError) -> Error {
    Error::with(Kind::Parse, err)
}

/// The handler's view of the request body, and the pump that feeds it when
/// it is not already buffered whole. Err is the status refusing the body.
fn request_body<I>(
    io: &mut Buffered<I>,
    head: &RequestHead,
    config: &Config,
) -> Result<(Body, Option<Pump>), StatusCode> {
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
    Ok((Body::incoming(rx), Some(pump)))
}

/// Calls the handler while feeding it the request body.
async fn call<I, S, B>(
    service: &mut S,
    req: Request<Body>,
    pump: &mut Option<Pump>,
    io: &mut Buffered<I>,
) -> Answer<B>
where
    I: AsyncRead + AsyncWrite + Unpin,
    S: Service<Request<Body>, Response = Response<B>>,
    S::Error: Into<BoxError>,
{
    if let Err(err) = poll_fn(|cx| service.poll_ready(cx)).await {
        let err = Error::user(err);
        return Answer::Refuse(StatusCode::INTERNAL_SERVER_ERROR, err);
    }
    debug::request(
        Side::Server,
        req.method(),
        req.uri(),
        req.version(),
        req.headers(),
    );
    let mut response = pin!(AssertUnwindSafe(service.call(req)).catch_unwind());
    let outcome = poll_fn(|cx| {
        if let Some(p) = pump.as_mut()
            && let Poll::Ready(result) = p.poll(cx, io)
        {
            match result {
                Ok(()) => *pump = None,
                Err(err) => return Poll::Ready(Err(err)),
            }
        }
        response.as_mut().poll(cx).map(Ok)
    })
    .await;
    match outcome {
        Ok(Ok(Ok(res))) => Answer::Response(res),
        Ok(Ok(Err(err))) => {
            let err = Error::user(err);
            tracing::warn!(error = %err, "handler failed");
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

/// RFC 9112 §6.3 from the server's side: which framing the response gets.
fn response_framing<B: HttpBody>(
    status: StatusCode,
    headers: &HeaderMap,
    body: &B,
    version: Version,
    is_head: bool,
) -> Framing {
    if status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return Framing::Empty;
    }
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared.or_else(|| body.size_hint().exact()) {
        Some(0) if !is_head => Framing::Empty,
        Some(n) => Framing::Length(n),
        // A HEAD response gets the framing header a GET would have (and no
        // body), so it never claims a length it does not know.
        None if version == Version::HTTP_10 => Framing::CloseDelimited,
        None => Framing::Chunked,
    }
}

fn write_head<I>(
    io: &mut Buffered<I>,
    now: Instant,
    config: &Config,
    status: StatusCode,
    headers: &HeaderMap,
    framing: Framing,
    connection: Option<&'static str>,
) {
    debug::response(Side::Server, Version::HTTP_11, status, headers);
    let dst = io.write_buf.head_mut();
    let mut encode = |date: Option<&[u8]>| {
        codec::encode_response_head(
            &ResponseHeadOut {
                version: Version::HTTP_11,
                status,
                headers,
                framing,
                connection,
                date,
            },
            dst,
        )
    };
    if config.date {
        date::with_date(now, |date| encode(Some(date)));
    } else {
        encode(None);
    }
}

/// Writes the response body, still feeding the request body to the handler
/// (a handler may stream one into the other). A request body that fails
/// meanwhile clears `keep_alive`.
async fn write_body<I, B>(
    io: &mut Buffered<I>,
    body: B,
    framing: Framing,
    pump: &mut Option<Pump>,
    keep_alive: &mut bool,
) -> Result<(), Error>
where
    I: AsyncRead + AsyncWrite + Unpin,
    B: HttpBody,
    B::Error: Into<BoxError>,
{
    let mut body = pin!(body);
    let mut encoder = Encoder::new(framing);
    let mut trailers: Option<HeaderMap> = None;
    poll_fn(|cx| {
        loop {
            if let Some(p) = pump.as_mut()
                && let Poll::Ready(result) = p.poll(cx, io)
            {
                match result {
                    Ok(()) => *pump = None,
                    // The handler's body sees the error and the response goes
                    // on, but where the next request starts is unknown.
                    Err(err) => {
                        tracing::debug!(?err, "request body failed while responding");
                        *pump = None;
                        *keep_alive = false;
                    }
                }
            }
            if io.write_buf.len() >= WRITE_HIGH_WATER {
                match io.poll_flush(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(err)) => return Poll::Ready(Err(Error::io(err))),
                    Poll::Pending => return Poll::Pending,
                }
            }
            let step = poll_encode(
                cx,
                body.as_mut(),
                &mut encoder,
                &mut trailers,
                &mut io.write_buf,
            );
            match step {
                Poll::Ready(Ok(Step::Frame)) => {}
                Poll::Ready(Ok(Step::End)) => return Poll::Ready(Ok(())),
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Pending => {
                    // Send what is ready while the body produces more.
                    if let Poll::Ready(Err(err)) = io.poll_flush(cx) {
                        return Poll::Ready(Err(Error::io(err)));
                    }
                    return Poll::Pending;
                }
            }
        }
    })
    .await
}

/// After the response: lets the handler finish reading the request body,
/// or reads and discards a small unread rest. Returns whether the
/// connection can carry another request.
async fn finish_body<I>(
    io: &mut Buffered<I>,
    mut pump: Pump,
    config: &Config,
    deadline: &mut Deadline,
) -> bool
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    // Whatever is queued goes out first: the client may wait for it.
    if poll_fn(|cx| io.poll_flush(cx)).await.is_err() {
        return false;
    }
    deadline.set(config.idle_timeout.map(timer::after));
    let mut budget = config.max_drain;
    poll_fn(|cx| {
        if deadline.poll_expired(cx).is_ready() {
            return Poll::Ready(false);
        }
        if pump.is_abandoned() {
            return pump.poll_discard(cx, io, &mut budget);
        }
        pump.poll(cx, io).map(|result| result.is_ok())
    })
    .await
}

/// Ends the connection after its last response.
async fn close<I>(io: &mut Buffered<I>, err: Option<Error>) -> Result<(), Error>
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    let shutdown = poll_fn(|cx| io.poll_shutdown(cx)).await;
    match err {
        Some(err) => Err(err),
        None => shutdown.map_err(Error::io),
    }
}

/// Answers a request that cannot be served with `status`, then closes.
async fn refuse<I>(
    io: &mut Buffered<I>,
    config: &Config,
    status: StatusCode,
    err: Error,
) -> Result<(), Error>
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    tracing::debug!(%status, error = %err, "refusing request");
    let reason = status.canonical_reason().unwrap_or("error");
    let mut text = reason.to_ascii_lowercase();
    text.push('\n');
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    write_head(
        io,
        Instant::now(),
        config,
        status,
        &headers,
        Framing::Length(text.len() as u64),
        Some("close"),
    );
    io.write_buf.push(Bytes::from(text));
    if poll_fn(|cx| io.poll_shutdown(cx)).await.is_ok() {
        linger(io).await;
    }
    Err(err)
}

/// Reads and discards what the client still sends for a little while, so
/// that closing with unread data does not reset the connection before the
/// client has read the response.
async fn linger<I>(io: &mut Buffered<I>)
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    let mut read = 0;
    let drain = async {
        while read < LINGER_BYTES {
            io.read_buf.clear();
            let next = tokio::time::timeout(LINGER_QUIET, poll_fn(|cx| io.poll_read_body(cx)));
            match next.await {
                Ok(Ok(n)) if n > 0 => read += n,
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}
