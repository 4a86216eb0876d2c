//! The sending half of a client connection.

use std::fmt;
use std::future::Future;

use futures_util::FutureExt;
use http::{Request, Response, Version};

use crate::body::Body;
use crate::debug::{self, Side};
use crate::error::{BoxError, Error};
use crate::{h1, h2};

/// Sends requests on a connection started with
/// [`handshake`](super::handshake).
///
/// Clones send on the same connection. On HTTP/1.1 their requests are
/// queued and written in turn (or pipelined, with [`Builder::pipeline`]);
/// on HTTP/2 they go out at once, each on its own stream, up to the
/// server's limit of concurrent streams.
///
/// [`Builder::pipeline`]: super::Builder::pipeline
#[derive(Clone)]
pub struct SendRequest {
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    Http1(h1::client::Handle),
    Http2(h2::client::Handle),
}

impl SendRequest {
    pub(crate) fn http1(handle: h1::client::Handle) -> SendRequest {
        SendRequest {
            inner: Inner::Http1(handle),
        }
    }

    pub(crate) fn http2(handle: h2::client::Handle) -> SendRequest {
        SendRequest {
            inner: Inner::Http2(handle),
        }
    }

    /// The protocol of the connection: `HTTP/1.1` or `HTTP/2.0`.
    pub fn version(&self) -> Version {
        match self.inner {
            Inner::Http1(_) => Version::HTTP_11,
            Inner::Http2(_) => Version::HTTP_2,
        }
    }

    /// Sends a request; returns its response once the response head has
    /// arrived, with the body still streaming from the connection.
    ///
    /// The body can be any [`http_body::Body`] (a [`Body`], an
    /// `http_body_util::Full`, ...). The request waits its turn when another
    /// is in progress. On a closed connection it fails at once with
    /// [`Error::is_closed`]; the [module documentation](super) lists the
    /// other errors and which requests may be sent again.
    ///
    /// ```
    /// use http::Request;
    /// use paf::Body;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let (io, server_io) = tokio::io::duplex(64 * 1024);
    /// # let echo = paf::service_fn(|req: Request<Body>| async move {
    /// #     Ok::<_, std::convert::Infallible>(http::Response::new(req.into_body()))
    /// # });
    /// # use paf::server::Serve;
    /// # tokio::spawn(paf::server::Http1::new().serve_connection(server_io, echo));
    /// let (mut sender, connection) = paf::client::conn::handshake(io);
    /// tokio::spawn(connection);
    ///
    /// // A body produced piece by piece goes out chunked.
    /// let (mut tx, body) = Body::channel();
    /// tokio::spawn(async move {
    ///     tx.send_data("ping ").await?;
    ///     tx.send_data("pong").await
    /// });
    /// let req = Request::post("http://example.com/echo").body(body)?;
    /// let res = sender.send(req).await?;
    /// assert_eq!(res.into_body().text().await?, "ping pong");
    /// # Ok(())
    /// # }
    /// ```
    pub fn send<B>(
        &mut self,
        req: Request<B>,
    ) -> impl Future<Output = Result<Response<Body>, Error>> + Send + '_
    where
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        debug::request(
            Side::Client,
            req.method(),
            req.uri(),
            self.version(),
            req.headers(),
        );
        // Not an `async fn` holding the request beside the future that
        // takes it: request futures are moved at every `.await` around
        // them, so their size costs on every request.
        self.send_inner(req.map(Body::new)).inspect(|result| {
            if let Ok(res) = result {
                debug::response(Side::Client, res.version(), res.status(), res.headers());
            }
        })
    }

    async fn send_inner(&mut self, req: Request<Body>) -> Result<Response<Body>, Error> {
        match &self.inner {
            Inner::Http1(handle) => handle.send(req).await,
            Inner::Http2(handle) => handle.send(req).await,
        }
    }

    /// Waits until a request sent now would be written without waiting:
    /// the connection is idle (or pipelining is on) and reusable. Fails with
    /// [`Error::is_closed`] once the connection takes no more requests.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), paf::Error> {
    /// # let (io, _server_io) = tokio::io::duplex(1024);
    /// let (mut sender, connection) = paf::client::conn::handshake(io);
    /// tokio::spawn(connection);
    /// sender.ready().await?;
    /// assert!(sender.is_ready());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn ready(&mut self) -> Result<(), Error> {
        match &self.inner {
            Inner::Http1(handle) => handle.ready().await,
            Inner::Http2(handle) => handle.ready().await,
        }
    }

    /// Whether a request sent now would be written without waiting. On
    /// HTTP/1.1: the connection is open, will be reused, and is idle (no
    /// request queued or in progress, response bodies read) or pipelining
    /// is on. On HTTP/2: the connection is open and has a stream to spare.
    pub fn is_ready(&self) -> bool {
        match &self.inner {
            Inner::Http1(handle) => handle.is_ready(),
            Inner::Http2(handle) => handle.is_ready(),
        }
    }

    /// Whether the connection is gone or takes no more requests: the server
    /// answered `connection: close`, closed it or sent GOAWAY, it failed,
    /// it switched protocols, or the [`Connection`](super::Connection) was
    /// dropped.
    pub fn is_closed(&self) -> bool {
        match &self.inner {
            Inner::Http1(handle) => handle.is_closed(),
            Inner::Http2(handle) => handle.is_closed(),
        }
    }

    /// How many requests the connection carries at once: 1 on HTTP/1.1 (a
    /// pipelined connection still answers one at a time), the server's
    /// `SETTINGS_MAX_CONCURRENT_STREAMS` on HTTP/2 (`usize::MAX`, no limit,
    /// until the server's settings arrive). A pool opens another
    /// connection when [`active_requests`](SendRequest::active_requests)
    /// reaches it.
    pub fn max_concurrent_requests(&self) -> usize {
        match &self.inner {
            Inner::Http1(_) => 1,
            Inner::Http2(handle) => handle.max_concurrent_streams(),
        }
    }

    /// How many requests are in progress: sent, and their response body not
    /// yet read to its end or dropped.
    pub fn active_requests(&self) -> usize {
        match &self.inner {
            Inner::Http1(handle) => handle.active_requests(),
            Inner::Http2(handle) => handle.active_streams(),
        }
    }
}

impl fmt::Debug for SendRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendRequest")
            .field("version", &self.version())
            .field("ready", &self.is_ready())
            .field("closed", &self.is_closed())
            .finish()
    }
}
