//! The HTTP/2 server connection: the `h2` crate runs the protocol; this
//! loop accepts streams, hands each to the handler, and watches the
//! connection (shutdown, keep-alive, idleness, reset floods).
//!
//! # Organization
//! - `mod.rs`: the settings and [`serve`].
//! - `conn.rs`: the connection loop, as events in and actions out.
//! - `stream.rs`: one stream, from request to response.
//! - `resets.rs`: counting streams reset by the peer.

mod conn;
mod resets;
mod stream;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Extensions, Request, Response, Version};
use http_body::Body as HttpBody;
use tokio::io::{AsyncRead, AsyncWrite};
use tower_service::Service;

use self::conn::Conn;
use super::Settings;
use crate::body::Body;
use crate::error::{BoxError, Error, Kind, Timeout};
use crate::protocol_error::OnProtocolError;
use crate::signal::Signal;

/// The settings of HTTP/2 server connections.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) settings: Settings,
    pub(crate) max_concurrent_streams: u32,
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
    /// Shapes refusals and is told of them and of connection errors.
    pub(crate) on_error: OnProtocolError,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            settings: Settings::default(),
            max_concurrent_streams: 200,
            max_pending_accept_resets: 20,
            max_local_error_resets: 1024,
            max_resets: 200,
            reset_window: Duration::from_secs(10),
            max_body: None,
            handshake_timeout: Some(Duration::from_secs(30)),
            idle_timeout: Some(Duration::from_secs(60)),
            date: true,
            on_error: OnProtocolError::default(),
        }
    }
}

impl Config {
    fn builder(&self) -> h2::server::Builder {
        let mut builder = self.settings.server_builder();
        builder
            .max_concurrent_streams(self.max_concurrent_streams)
            .max_pending_accept_reset_streams(self.max_pending_accept_resets)
            .max_local_error_reset_streams(Some(self.max_local_error_resets));
        builder
    }
}

/// What a connection has besides its stream, handler and settings.
pub(crate) struct Extras {
    /// Given to every request (the connection's addresses, TLS details).
    pub(crate) extensions: Extensions,
    pub(crate) signal: Arc<Signal>,
    /// The request of an h2c upgrade, answered on stream 1.
    pub(crate) first: Option<Request<Body>>,
}

/// Serves HTTP/2 on `io` (after the client's preface, if any was read
/// ahead, has been put back).
pub(crate) async fn serve<I, S, B>(
    io: I,
    service: S,
    config: Arc<Config>,
    extras: Extras,
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
    let conn = match config.handshake_timeout {
        Some(limit) => match tokio::time::timeout(limit, handshake).await {
            Ok(conn) => conn,
            Err(_) => return Err(Error::new(Kind::Timeout(Timeout::Head))),
        },
        None => handshake.await,
    }
    .map_err(|e| broke(&config.on_error, Error::h2(e)))?;
    extras.signal.waiting(false);
    let on_error = config.on_error.clone();
    let ended = Conn::new(conn, service, config, extras).run().await;
    ended.map_err(|err| broke(&on_error, err))
}

/// Tells the hook of an HTTP/2 protocol error that ends the connection.
fn broke(on_error: &OnProtocolError, err: Error) -> Error {
    if err.is_http2() {
        on_error.notify(Version::HTTP_2, &err);
    }
    err
}
