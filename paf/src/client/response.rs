//! What [`Client`](super::Client) returns, and the body that gives its
//! connection back to the pool.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::Stream;
use http::{HeaderMap, StatusCode, Uri, Version};
use http_body::{Body as _, Frame, SizeHint};
use mimic::Info;
use tokio::time::{Instant, Sleep};

use super::pool::Pooled;
use crate::body::Body;
use crate::error::{Error, Kind, Timeout};

/// A response from [`Client`](super::Client): status, head, the connection
/// it came on, and a body that streams from that connection.
///
/// Read the body ([`bytes`](Response::bytes), [`text`](Response::text),
/// [`chunk`](Response::chunk), [`chunks`](Response::chunks)), or drop it:
/// either way the connection goes back to the pool (see
/// [`ClientBuilder`](super::ClientBuilder) for what a dropped body costs).
///
/// `bytes`, `text` and `json` hold the whole body in memory, so they take
/// at most the client's
/// [`max_response_body`](super::ClientBuilder::max_response_body) (64 MiB
/// by default) and fail with [`Error::is_body_too_large`] past it: a server
/// sending without end cannot fill the client's memory. The pieces
/// (`chunk`, `chunks`, [`into_body`](Response::into_body)) have no limit.
///
/// ```no_run
/// # async fn run() -> Result<(), paf::Error> {
/// let client = paf::Client::new();
/// let mut res = client.get("https://example.com/").await?;
/// println!("{} over {:?} from {:?}", res.status(), res.version(), res.connection().peer_addr());
/// while let Some(chunk) = res.chunk().await? {
///     println!("{} bytes", chunk.len());
/// }
/// # Ok(()) }
/// ```
pub struct Response {
    inner: http::Response<Body>,
    uri: Uri,
    info: Arc<Info>,
    redirects: Vec<Uri>,
    /// The most bytes `bytes`, `text` and `json` read.
    limit: Option<u64>,
}

impl Response {
    pub(crate) fn new(
        inner: http::Response<Body>,
        uri: Uri,
        info: Arc<Info>,
        redirects: Vec<Uri>,
    ) -> Response {
        Response {
            inner,
            uri,
            info,
            redirects,
            limit: None,
        }
    }

    /// Sets the most bytes `bytes`, `text` and `json` read.
    pub(crate) fn with_body_limit(mut self, limit: Option<u64>) -> Response {
        self.limit = limit;
        self
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.inner.status()
    }

    /// The header fields.
    pub fn headers(&self) -> &HeaderMap {
        self.inner.headers()
    }

    /// The protocol the response came in: `HTTP/1.1` or `HTTP/2.0`.
    pub fn version(&self) -> Version {
        self.inner.version()
    }

    /// The URI that answered: the request's, or the last redirect's.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The URIs that answered with a redirect on the way here, in order
    /// (empty when none was followed).
    pub fn redirects(&self) -> &[Uri] {
        &self.redirects
    }

    /// The connection it came on: protocols (`["tls", "tcp"]`), addresses,
    /// TLS parameters (ALPN, version, cipher, certificates), and the report
    /// of the resolution that opened it.
    pub fn connection(&self) -> &Info {
        &self.info
    }

    /// The body, to read it frame by frame.
    pub fn body_mut(&mut self) -> &mut Body {
        self.inner.body_mut()
    }

    /// Gives up the wrapper for the plain `http` response; the body still
    /// gives the connection back when it ends or is dropped.
    pub fn into_http(self) -> http::Response<Body> {
        self.inner
    }

    /// The body alone.
    pub fn into_body(self) -> Body {
        self.inner.into_body()
    }

    /// Reads the whole body, up to the client's
    /// [`max_response_body`](super::ClientBuilder::max_response_body).
    ///
    /// A larger body fails with [`Error::is_body_too_large`]: at once when
    /// its declared length is larger, or as soon as the limit is passed.
    /// The rest is not read: the HTTP/1.1 connection is closed (unless
    /// little is left), the HTTP/2 stream reset.
    pub async fn bytes(self) -> Result<Bytes, Error> {
        let limit = self.limit;
        read_limited(self.into_body(), limit).await
    }

    /// Reads the whole body as UTF-8 text, up to the same limit as
    /// [`bytes`](Response::bytes).
    pub async fn text(self) -> Result<String, Error> {
        let bytes = self.bytes().await?;
        String::from_utf8(bytes.into()).map_err(|err| Error::with(Kind::Body, err.utf8_error()))
    }

    /// Reads the whole body as JSON into a `T`, up to the same limit as
    /// [`bytes`](Response::bytes).
    #[cfg(feature = "serde")]
    #[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
    pub async fn json<T: serde::de::DeserializeOwned>(self) -> Result<T, Error> {
        let bytes = self.bytes().await?;
        serde_json::from_slice(&bytes).map_err(|err| Error::with(Kind::Body, err))
    }

    /// The next piece of the body as it arrives, or `None` at its end.
    /// Trailers are skipped.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        let body = self.inner.body_mut();
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                return Ok(Some(data));
            }
        }
        Ok(None)
    }

    /// The body as a stream of pieces, as they arrive.
    pub fn chunks(self) -> impl Stream<Item = Result<Bytes, Error>> + Send + 'static {
        futures_util::stream::unfold(Some(self), |state| async move {
            let mut res = state?;
            match res.chunk().await {
                Ok(Some(data)) => Some((Ok(data), Some(res))),
                Ok(None) => None,
                Err(err) => Some((Err(err), None)),
            }
        })
    }

    /// Reads the body to its end and throws it away; returns its length.
    pub async fn drain(self) -> Result<u64, Error> {
        self.into_body().drain().await
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status())
            .field("version", &self.version())
            .field("uri", &self.uri)
            .field("headers", self.headers())
            .finish()
    }
}

/// Reads `body` whole, failing once it is over `limit` bytes (at once when
/// its declared length is).
async fn read_limited(mut body: Body, limit: Option<u64>) -> Result<Bytes, Error> {
    let Some(limit) = limit else {
        return body.bytes().await;
    };
    let too_large = || {
        let why = format!(
            "more than {limit} bytes, the most `bytes()`, `text()` and `json()` read \
             (ClientBuilder::max_response_body): read it piece by piece with `chunk()`"
        );
        Error::with(Kind::BodyTooLarge, why)
    };
    if body.size_hint().lower() > limit {
        return Err(too_large());
    }
    // One piece, the common case, is kept without copying.
    let mut first: Option<Bytes> = None;
    let mut rest = BytesMut::new();
    let mut total = 0u64;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        total += data.len() as u64;
        if total > limit {
            return Err(too_large());
        }
        match first.take() {
            None if rest.is_empty() => first = Some(data),
            earlier => {
                if let Some(earlier) = earlier {
                    rest.put(earlier);
                }
                rest.put(data);
            }
        }
    }
    Ok(first.unwrap_or_else(|| rest.freeze()))
}

/// Timers on a response body.
pub(crate) struct Timers {
    /// The whole request's deadline.
    pub(crate) deadline: Option<Instant>,
    /// The longest wait for the next piece.
    pub(crate) read: Option<Duration>,
}

/// A response body that holds its connection's loan, and the client's
/// timers. The loan ends with the body: at its end, on an error, or when
/// the body is dropped.
pub(crate) struct Tracked {
    body: Body,
    loan: Option<Pooled>,
    deadline: Option<Pin<Box<Sleep>>>,
    read: Option<(Duration, Pin<Box<Sleep>>)>,
}

impl Tracked {
    pub(crate) fn wrap(body: Body, loan: Option<Pooled>, timers: &Timers) -> Body {
        if body.is_end_stream() {
            drop(loan);
            return body;
        }
        if loan.is_none() && timers.deadline.is_none() && timers.read.is_none() {
            return body;
        }
        Body::new(Tracked {
            body,
            loan,
            deadline: timers
                .deadline
                .map(|at| Box::pin(tokio::time::sleep_until(at))),
            read: timers.read.map(|d| (d, Box::pin(tokio::time::sleep(d)))),
        })
    }

    fn end(&mut self) {
        self.loan = None;
        self.deadline = None;
        self.read = None;
    }
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(None) => {
                this.end();
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(err))) => {
                this.end();
                Poll::Ready(Some(Err(err)))
            }
            Poll::Ready(Some(Ok(frame))) => {
                if let Some((every, sleep)) = &mut this.read {
                    sleep.as_mut().reset(crate::timer::after(*every));
                }
                // The loan ends at `None`, not at the last frame: only then
                // is the connection done with the exchange and ready.
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                let expired = |sleep: &mut Pin<Box<Sleep>>, cx: &mut Context<'_>| {
                    sleep.as_mut().poll(cx).is_ready()
                };
                let timeout = if this.deadline.as_mut().is_some_and(|s| expired(s, cx)) {
                    Some(Timeout::Request)
                } else if this.read.as_mut().is_some_and(|(_, s)| expired(s, cx)) {
                    Some(Timeout::Read)
                } else {
                    None
                };
                match timeout {
                    Some(which) => {
                        // The connection is in the middle of a body: it
                        // cannot be reused.
                        if let Some(loan) = this.loan.take() {
                            loan.discard();
                        }
                        this.end();
                        this.body = Body::empty();
                        Poll::Ready(Some(Err(Error::new(Kind::Timeout(which)))))
                    }
                    None => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
