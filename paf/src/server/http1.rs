//! [`Http1`]: the HTTP/1.1 server settings.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{Extensions, Response};
use tokio::io::{AsyncRead, AsyncWrite};

use super::serve::sealed::Start;
use super::{Connection, HttpService, ResponseBody, Serve};
use crate::h1;
use crate::protocol_error::{OnProtocolError, ProtocolError};

/// HTTP/1.1 server settings; serves connections with them through [`Serve`].
///
/// The defaults suit a server on the open internet: request heads up to
/// 64 KiB with at most 100 fields and targets up to 8 KiB, 30 seconds to
/// send a head (a slow client gets `408`), idle kept-alive connections
/// closed after 60 seconds (as are bodies that stall as long), and no limit on body sizes (bodies are
/// streamed, never buffered whole).
#[derive(Clone, Debug, Default)]
pub struct Http1 {
    pub(crate) config: Arc<h1::server::Config>,
}

impl Http1 {
    /// The default settings.
    pub fn new() -> Http1 {
        Http1::default()
    }

    fn config(&mut self) -> &mut h1::server::Config {
        Arc::make_mut(&mut self.config)
    }

    /// The largest request head (request line and fields) in bytes; a larger
    /// one is answered `431`.
    pub fn max_head_size(mut self, bytes: usize) -> Self {
        self.config().limits.max_head_bytes = bytes;
        self
    }

    /// The most header fields in a request; more are answered `431`.
    pub fn max_headers(mut self, count: usize) -> Self {
        self.config().limits.max_headers = count;
        self
    }

    /// The longest request target in bytes; a longer one is answered `414`.
    pub fn max_target_len(mut self, bytes: usize) -> Self {
        self.config().limits.max_target_len = bytes;
        self
    }

    /// The largest request body in bytes. A request that declares a larger
    /// `content-length` is answered `413` without calling the handler; a
    /// chunked body that grows past the limit is cut off, its reader gets an
    /// error for which [`Error::is_body_too_large`](crate::Error::is_body_too_large) is true, and the client
    /// gets `413`. Unlimited by default.
    pub fn max_body_size(mut self, bytes: u64) -> Self {
        self.config().max_body = Some(bytes);
        self
    }

    /// How long a client has to send a request head, from its first byte
    /// (from the connection's start for the first request). A client that
    /// sent part of a head by then is answered `408`. `None` waits forever.
    pub fn head_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config().head_timeout = timeout;
        self
    }

    /// How long a kept-alive connection may wait for its next request, and
    /// the longest pause allowed in the middle of a request body (a client
    /// that stalls there is answered `408` and its handler's body fails).
    /// Time the handler takes to read is not counted. `None` waits forever.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config().idle_timeout = timeout;
        self
    }

    /// Whether connections are kept open for further requests (the default).
    pub fn keep_alive(mut self, enabled: bool) -> Self {
        self.config().keep_alive = enabled;
        self
    }

    /// How many bytes of a request body the handler did not read are read
    /// and thrown away to keep the connection; a longer rest closes it.
    pub fn max_drain(mut self, bytes: u64) -> Self {
        self.config().max_drain = bytes;
        self
    }

    /// Whether responses get a `date` header when they have none (the
    /// default, as RFC 9110 asks of servers with a clock).
    pub fn date_header(mut self, enabled: bool) -> Self {
        self.config().date = enabled;
        self
    }

    /// Calls `hook` for every request the server refuses on its own
    /// (`400`, `408`, `413`, `414`, `417`, `431`, `501`, `505`, and `500`
    /// for a handler's panic), before answering: it sees the error (for metrics or logs)
    /// and may shape the answer, returning a response whose fields and body
    /// replace the default plain text (an RFC 9457 problem document, say);
    /// the status stays, and the connection still closes. `None` keeps the
    /// default answer. [`Auto::on_protocol_error`](super::Auto::on_protocol_error)
    /// sets it for both protocols.
    pub fn on_protocol_error<F>(mut self, hook: F) -> Self
    where
        F: Fn(&ProtocolError<'_>) -> Option<Response<Bytes>> + Send + Sync + 'static,
    {
        self.config().on_error = OnProtocolError::new(Arc::new(hook));
        self
    }
}

impl Serve for Http1 {}

impl Start for Http1 {
    fn start<I, S, B>(&self, io: I, service: S, extensions: Extensions) -> Connection
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        S: HttpService<B>,
        B: ResponseBody,
    {
        let config = self.config.clone();
        Connection::start(move |signal| async move {
            let extras = h1::server::Extras {
                early: BytesMut::new(),
                extensions,
                signal,
                h2c: false,
            };
            // Not asked to grant h2c upgrades, so it never switches.
            h1::server::serve(io, service, config, extras)
                .await
                .map(drop)
        })
    }
}
