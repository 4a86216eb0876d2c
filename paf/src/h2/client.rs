//! The HTTP/2 client connection: one connection multiplexes any number of
//! requests, up to the server's stream limit.
//!
//! The `h2` handshake writes the preface, so it runs inside the connection
//! future; handles wait for it on their first request. Handles reach the
//! connection's `h2` sender through a shared cell, which the connection
//! itself holds only weakly: `h2` closes the connection once every handle
//! is gone.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::header::{self, HeaderMap};
use http::uri::{Authority, Scheme};
use http::{Request, Response, Uri, Version};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use super::ping::KeepAlive;
use super::send::{SendError, send_body};
use super::settings::Settings;
use super::{content_length, strip_connection_fields};
use crate::body::h2_stream::{Active, Recv};
use crate::body::{Body, declares_length};
use crate::error::{Error, Kind};

type H2Sender = h2::client::SendRequest<Bytes>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Handshaking,
    Open,
    Closed,
}

/// A handle to send requests on one HTTP/2 connection.
#[derive(Clone)]
pub(crate) struct Handle {
    sender: Arc<OnceLock<H2Sender>>,
    phase: watch::Receiver<Phase>,
    /// Streams sent and not finished (response body read or dropped).
    active: Arc<AtomicUsize>,
    scheme: Scheme,
}

/// Starts a connection on `io`; the future runs it. `tls` tells the scheme
/// given to requests whose URI has none.
pub(crate) fn handshake<I>(
    io: I,
    settings: &Settings,
    tls: bool,
) -> (
    Handle,
    impl Future<Output = Result<(), Error>> + Send + 'static,
)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let sender = Arc::new(OnceLock::new());
    let (phase_tx, phase) = watch::channel(Phase::Handshaking);
    let handle = Handle {
        sender: sender.clone(),
        phase,
        active: Arc::new(AtomicUsize::new(0)),
        scheme: if tls { Scheme::HTTPS } else { Scheme::HTTP },
    };
    let builder = settings.client_builder();
    let keep_alive = settings.keep_alive();
    let weak = Arc::downgrade(&sender);
    drop(sender);
    let run = async move {
        // Closed however this ends, even when the future is dropped.
        let _closed = ClosedOnDrop(phase_tx);
        let (h2_sender, mut conn) = builder.handshake::<_, Bytes>(io).await.map_err(Error::h2)?;
        if let Some(cell) = weak.upgrade() {
            let _ = cell.set(h2_sender);
        }
        _closed.0.send_replace(Phase::Open);
        let mut keep_alive = keep_alive.and_then(|(interval, timeout)| {
            Some(KeepAlive::new(conn.ping_pong()?, interval, timeout))
        });
        // Requests hand their streams to `h2` from their own tasks, each
        // waking this one. Yielding once after a wake-up lets the others
        // hand theirs over too, so that they leave in one write; without it
        // a multi-thread runtime runs this task at once (from the worker's
        // LIFO slot) and writes each request alone, at twice the CPU.
        let mut yielded = false;
        poll_fn(|cx| {
            if !yielded {
                yielded = true;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            yielded = false;
            if let Some(Poll::Ready(err)) = keep_alive.as_mut().map(|k| k.poll_dead(cx)) {
                return Poll::Ready(Err(err));
            }
            pin!(&mut conn).poll(cx).map_err(Error::h2)
        })
        .await
    };
    (handle, run)
}

struct ClosedOnDrop(watch::Sender<Phase>);

impl Drop for ClosedOnDrop {
    fn drop(&mut self) {
        self.0.send_replace(Phase::Closed);
    }
}

impl Handle {
    /// The connection's sender, once the handshake is done.
    async fn sender(&self) -> Result<H2Sender, Error> {
        let mut phase = self.phase.clone();
        let open = phase.wait_for(|phase| *phase != Phase::Handshaking).await;
        match (open.map(|p| *p), self.sender.get()) {
            (Ok(Phase::Open), Some(sender)) => Ok(sender.clone()),
            _ => Err(Error::new(Kind::Closed)),
        }
    }

    /// The connection's sender, if the handshake is done and it is open.
    fn open_sender(&self) -> Option<H2Sender> {
        if *self.phase.borrow() != Phase::Open {
            return None;
        }
        self.sender.get().cloned()
    }

    /// Sends a request; returns its response once the head has arrived.
    pub(crate) async fn send(&self, req: Request<Body>) -> Result<Response<Body>, Error> {
        let sender = match self.open_sender() {
            Some(sender) => sender,
            // Boxed: only the first requests wait for the handshake.
            None => Box::pin(self.sender()).await?,
        };
        let mut sender = sender.ready().await.map_err(not_sent)?;
        let (mut parts, body) = req.into_parts();
        parts.uri = absolute_uri(parts.uri, &mut parts.headers, &self.scheme)?;
        parts.version = Version::HTTP_2;
        strip_connection_fields(&mut parts.headers);
        // As in HTTP/1.1: servers such as ACME CAs refuse a body of known
        // size without its length.
        if let Some(length) = http_body::Body::size_hint(&body).exact()
            && declares_length(&parts.method, length)
            && !parts.headers.contains_key(header::CONTENT_LENGTH)
        {
            parts.headers.insert(header::CONTENT_LENGTH, length.into());
        }
        let end = http_body::Body::is_end_stream(&body);
        let (response, mut stream) = sender
            .send_request(Request::from_parts(parts, ()), end)
            .map_err(not_sent)?;
        let guard = Active::new(&self.active);
        if !end {
            let mut pump = Box::pin(async move {
                if let Err(err) = send_body(body, &mut stream, None).await {
                    let err = match err {
                        // The server answered without wanting the rest.
                        SendError::Reset(_) => return,
                        err => err.into_error(),
                    };
                    tracing::debug!(error = %format_args!("{err:#}"), "request body not sent");
                }
            });
            // A body already in memory usually goes out at once.
            if pump
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()))
                .is_pending()
            {
                tokio::spawn(pump);
            }
        }
        let res = response.await.map_err(Error::h2)?;
        let (parts, recv) = res.into_parts();
        let body = if recv.is_end_stream() {
            Body::empty()
        } else {
            let length = content_length(&parts.headers);
            Body::h2(Recv::new(recv, length, None).with_guard(guard))
        };
        Ok(Response::from_parts(parts, body))
    }

    /// Waits until a request can be sent without waiting for a stream.
    pub(crate) async fn ready(&self) -> Result<(), Error> {
        let sender = self.sender().await?;
        sender.ready().await.map(drop).map_err(not_sent)
    }

    pub(crate) fn is_closed(&self) -> bool {
        if *self.phase.borrow() == Phase::Closed {
            return true;
        }
        // A GOAWAY from the server shows as an error here, at once.
        let Some(sender) = self.sender.get() else {
            return false;
        };
        let mut sender = sender.clone();
        let mut cx = Context::from_waker(Waker::noop());
        matches!(sender.poll_ready(&mut cx), Poll::Ready(Err(_)))
    }

    /// Unlimited until the server's SETTINGS say otherwise (RFC 9113,
    /// section 6.5.2), as `h2` counts it: a pool then puts requests on a
    /// connection still shaking hands instead of opening more.
    pub(crate) fn max_concurrent_streams(&self) -> usize {
        self.sender
            .get()
            .map_or(usize::MAX, H2Sender::current_max_send_streams)
    }

    pub(crate) fn active_streams(&self) -> usize {
        self.active.load(Ordering::Acquire)
    }

    pub(crate) fn is_ready(&self) -> bool {
        !self.is_closed()
            && self.sender.get().is_some()
            && self.active_streams() < self.max_concurrent_streams()
    }
}

/// A request that never went out: the connection is closed or going away.
fn not_sent(err: h2::Error) -> Error {
    Error::with(Kind::Closed, err)
}

/// HTTP/2 carries the scheme and authority in the request: a URI without
/// them takes the `host` field (which then goes) and the connection's
/// scheme.
fn absolute_uri(uri: Uri, headers: &mut HeaderMap, scheme: &Scheme) -> Result<Uri, Error> {
    if uri.scheme().is_some() && uri.authority().is_some() {
        headers.remove(header::HOST);
        return Ok(uri);
    }
    let host = headers.remove(header::HOST).ok_or_else(|| {
        Error::with(
            Kind::User,
            "an HTTP/2 request needs a URI with an authority, or a host field",
        )
    })?;
    let authority =
        Authority::try_from(host.as_bytes()).map_err(|err| Error::with(Kind::User, err))?;
    let mut parts = uri.into_parts();
    parts.scheme.get_or_insert_with(|| scheme.clone());
    parts.authority = Some(authority);
    if parts.path_and_query.is_none() {
        parts.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
    }
    Uri::from_parts(parts).map_err(|err| Error::with(Kind::User, err))
}
