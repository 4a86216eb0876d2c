//! The sending half of a client connection.

use std::fmt;
use std::sync::Arc;

use http::{Request, Response};
use tokio::sync::{mpsc, oneshot};

use super::shared::{Envelope, Shared};
use crate::body::Body;
use crate::error::{BoxError, Error, Kind};

/// Sends requests on a connection started with
/// [`handshake`](super::handshake).
///
/// Clones send on the same connection: their requests are queued and
/// written in turn (or pipelined, with [`Builder::pipeline`]).
///
/// [`Builder::pipeline`]: super::Builder::pipeline
#[derive(Clone)]
pub struct SendRequest {
    tx: mpsc::UnboundedSender<Envelope>,
    shared: Arc<Shared>,
}

impl SendRequest {
    pub(crate) fn new(tx: mpsc::UnboundedSender<Envelope>, shared: Arc<Shared>) -> SendRequest {
        SendRequest { tx, shared }
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
    /// # tokio::spawn(paf::server::Http1::new().serve_connection(server_io, echo));
    /// let (mut sender, connection) = paf::client::handshake(io);
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
    pub async fn send<B>(&mut self, req: Request<B>) -> Result<Response<Body>, Error>
    where
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        if self.shared.is_closed() {
            return Err(Error::new(Kind::Closed));
        }
        let (reply, response) = oneshot::channel();
        self.shared.begin();
        if self.tx.send((req.map(Body::new), reply)).is_err() {
            self.shared.finish(1);
            return Err(Error::new(Kind::Closed));
        }
        match response.await {
            Ok(result) => result,
            Err(_) => Err(Error::with(
                Kind::Canceled,
                "the connection was dropped before the response arrived",
            )),
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
    /// let (mut sender, connection) = paf::client::handshake(io);
    /// tokio::spawn(connection);
    /// sender.ready().await?;
    /// assert!(sender.is_ready());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn ready(&mut self) -> Result<(), Error> {
        if self.shared.wait_ready().await {
            Ok(())
        } else {
            Err(Error::new(Kind::Closed))
        }
    }

    /// Whether a request sent now would be written without waiting: the
    /// connection is open, will be reused, and is idle (no request queued
    /// or in progress, response bodies read) or pipelining is on.
    pub fn is_ready(&self) -> bool {
        self.shared.is_ready()
    }

    /// Whether the connection is gone or takes no more requests: the server
    /// answered `connection: close` or closed it, it failed, it switched
    /// protocols, or the [`Connection`](super::Connection) was dropped.
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }
}

impl fmt::Debug for SendRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendRequest")
            .field("ready", &self.is_ready())
            .field("closed", &self.is_closed())
            .finish()
    }
}
