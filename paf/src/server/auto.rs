//! [`Auto`]: HTTP/1.1 and HTTP/2 on the same listener, the protocol
//! chosen per connection.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::{Extensions, Response};
use mimic::flow::TlsInfo;
use tokio::io::{AsyncRead, AsyncWrite};

use super::serve::sealed::Start;
use super::{Connected, Connection, Http1, Http2, HttpService, ResponseBody, Serve, h2c};
use crate::error::{Error, Kind};
use crate::protocol_error::ProtocolError;
use crate::rewind::Rewind;
use crate::signal::Signal;
use crate::{h1, h2};

/// Serves HTTP/1.1 and HTTP/2 with one handler, each protocol with its own
/// settings, choosing the protocol per connection:
///
/// - **TLS**: the protocol negotiated by ALPN decides (`h2` or `http/1.1`),
///   and nothing else: the first bytes are never sniffed. A client that
///   negotiated nothing gets HTTP/1.1. Give the TLS listener
///   [`alpn_protocols`](Auto::alpn_protocols) to advertise.
/// - **Clear text**: a connection starting with the HTTP/2 preface is
///   HTTP/2 (prior knowledge); any other is HTTP/1.1, where a bodiless
///   request with `Upgrade: h2c` and `HTTP2-Settings` is answered `101` and
///   then on stream 1 of HTTP/2. Either can be switched off.
///
/// ```
/// use std::convert::Infallible;
/// use std::time::Duration;
/// use conduit::listener::TcpListener;
/// use http::{Request, Response, Version};
/// use paf::Body;
/// use paf::server::{Auto, Serve};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let hello = paf::service_fn(|req: Request<Body>| async move {
///     let text = format!("Hello over {:?}!", req.version());
///     Ok::<_, Infallible>(Response::new(Body::full(text)))
/// });
/// let tcp = TcpListener::bind("127.0.0.1:0".parse()?)?;
/// let server = conduit::serve::Server::builder()
///     .listener(tcp)
///     .serve(Auto::new().handler(hello));
/// let addr = server.local_addrs()[0].to_string();
///
/// // An HTTP/2 client with prior knowledge.
/// let tcp = tokio::net::TcpStream::connect(&addr).await?;
/// let (mut sender, connection) = paf::client::conn::Builder::new().http2().handshake(tcp);
/// tokio::spawn(connection);
/// let res = sender.send(Request::get(format!("http://{addr}/")).body(Body::empty())?).await?;
/// assert_eq!(res.version(), Version::HTTP_2);
/// assert_eq!(res.into_body().text().await?, "Hello over HTTP/2.0!");
///
/// server.shutdown(Duration::from_secs(5)).await;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Auto {
    http1: Http1,
    http2: Http2,
    h1: bool,
    h2: bool,
    prior_knowledge: bool,
    h2c_upgrade: bool,
}

impl Default for Auto {
    fn default() -> Auto {
        Auto {
            http1: Http1::new(),
            http2: Http2::new(),
            h1: true,
            h2: true,
            prior_knowledge: true,
            h2c_upgrade: true,
        }
    }
}

impl Auto {
    /// Both protocols with their default settings, prior knowledge and h2c
    /// upgrades accepted.
    pub fn new() -> Auto {
        Auto::default()
    }

    /// The settings for HTTP/1.1 connections.
    pub fn http1(mut self, http1: Http1) -> Self {
        self.http1 = http1;
        self
    }

    /// The settings for HTTP/2 connections.
    pub fn http2(mut self, http2: Http2) -> Self {
        self.http2 = http2;
        self
    }

    /// Calls `hook` for the protocol errors of both protocols, as
    /// [`Http1::on_protocol_error`] and [`Http2::on_protocol_error`]
    /// describe: it may shape the `400`, `408`, `413`, `414` and `431`
    /// answers (an RFC 9457 problem document, say) and sees every error.
    /// Call it after [`http1`](Self::http1) and [`http2`](Self::http2),
    /// which replace the settings of their protocol.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU64, Ordering};
    ///
    /// let refused = Arc::new(AtomicU64::new(0));
    /// let counter = refused.clone();
    /// let auto = paf::server::Auto::new().on_protocol_error(move |err| {
    ///     counter.fetch_add(1, Ordering::Relaxed);
    ///     let status = err.status?;
    ///     let problem = format!(r#"{{"status":{},"title":"{}"}}"#, status.as_u16(), err.error);
    ///     http::Response::builder()
    ///         .header("content-type", "application/problem+json")
    ///         .body(bytes::Bytes::from(problem))
    ///         .ok()
    /// });
    /// # let _ = auto;
    /// ```
    pub fn on_protocol_error<F>(mut self, hook: F) -> Self
    where
        F: Fn(&ProtocolError<'_>) -> Option<Response<Bytes>> + Send + Sync + 'static,
    {
        let hook = Arc::new(hook);
        let shared = hook.clone();
        self.http1 = self.http1.on_protocol_error(move |err| hook(err));
        self.http2 = self.http2.on_protocol_error(move |err| shared(err));
        self
    }

    /// Serves HTTP/1.1 only: no ALPN `h2`, no preface detection, no h2c.
    pub fn http1_only(mut self) -> Self {
        self.h1 = true;
        self.h2 = false;
        self
    }

    /// Serves HTTP/2 only: clear-text clients must use prior knowledge, TLS
    /// clients ALPN `h2` (or nothing).
    pub fn http2_only(mut self) -> Self {
        self.h1 = false;
        self.h2 = true;
        self
    }

    /// Whether a clear-text connection starting with the HTTP/2 preface is
    /// served as HTTP/2 (the default). Off, every clear-text connection is
    /// HTTP/1.1 and its first bytes are not looked at.
    pub fn prior_knowledge(mut self, enabled: bool) -> Self {
        self.prior_knowledge = enabled;
        self
    }

    /// Whether clear-text HTTP/1.1 requests asking `Upgrade: h2c` are
    /// switched to HTTP/2 (the default). Requests with a body are answered
    /// on HTTP/1.1, as RFC 9113 lets a server do.
    pub fn h2c_upgrade(mut self, enabled: bool) -> Self {
        self.h2c_upgrade = enabled;
        self
    }

    /// The ALPN protocols to configure the TLS listener with, most
    /// preferred first: `h2` and `http/1.1`, or the one enabled.
    ///
    /// ```
    /// # fn tls(cert: &[u8], key: &[u8]) -> Result<(), conduit::Error> {
    /// use conduit::listener::{Identity, TlsAcceptor};
    /// let auto = paf::server::Auto::new();
    /// let acceptor = TlsAcceptor::builder()
    ///     .identity(Identity::from_pem(cert, key)?)
    ///     .alpn(auto.alpn_protocols())
    ///     .build()?;
    /// # let _ = acceptor; Ok(()) }
    /// ```
    pub fn alpn_protocols(&self) -> Vec<&'static str> {
        let mut protocols = Vec::new();
        if self.h2 {
            protocols.push("h2");
        }
        if self.h1 {
            protocols.push("http/1.1");
        }
        protocols
    }

    /// Whether the connection is HTTP/2, and what was read to tell.
    async fn choose<I>(&self, io: &mut I, tls: Option<&TlsInfo>) -> Result<(bool, BytesMut), Error>
    where
        I: AsyncRead + AsyncWrite + Unpin,
    {
        let http2 = match tls.map(|tls| tls.alpn.as_deref()) {
            Some(Some(alpn)) => match (alpn, self.h1, self.h2) {
                (b"h2", _, true) => true,
                (b"http/1.1", true, _) => false,
                _ => {
                    let alpn = String::from_utf8_lossy(alpn);
                    let message = format!("ALPN chose {alpn:?}, which this server does not serve");
                    return Err(Error::with(Kind::Upgrade, message));
                }
            },
            Some(None) => !self.h1,
            None if self.h1 && self.h2 && self.prior_knowledge => {
                return h2c::sniff(io, self.http1.config.head_timeout).await;
            }
            None => !self.h1,
        };
        Ok((http2, BytesMut::new()))
    }

    async fn run<I, S, B>(
        self,
        mut io: I,
        service: S,
        extensions: Extensions,
        signal: Arc<Signal>,
    ) -> Result<(), Error>
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        S: HttpService<B>,
        B: ResponseBody,
    {
        let tls = extensions.get::<Connected>().and_then(Connected::tls);
        let clear_text = tls.is_none();
        let (http2, mut early) = self.choose(&mut io, tls).await?;
        let h2_config = self.http2.config.clone();
        if http2 {
            if early.is_empty() {
                early = h2c::expect_preface(&mut io, h2_config.handshake_timeout).await?;
            }
            let io = Rewind::new(io, early.freeze());
            let extras = h2::server::Extras {
                extensions,
                signal,
                first: None,
            };
            return h2::server::serve(io, service, h2_config, extras).await;
        }
        let extras = h1::server::Extras {
            early,
            extensions: extensions.clone(),
            signal: signal.clone(),
            h2c: self.h2 && self.h2c_upgrade && clear_text,
        };
        let Some(switch) = h1::server::serve(io, service, self.http1.config, extras).await? else {
            return Ok(());
        };
        let h1::server::Switch {
            mut io,
            early,
            head,
            service,
        } = switch;
        let prefix = h2c::splice_preface(&mut io, early, h2_config.handshake_timeout).await?;
        let extras = h2::server::Extras {
            extensions,
            signal,
            first: Some(h2c::upgraded_request(head)),
        };
        let io = Rewind::new(io, prefix);
        h2::server::serve(io, service, h2_config, extras).await
    }
}

impl Serve for Auto {}

impl Start for Auto {
    fn start<I, S, B>(&self, io: I, service: S, extensions: Extensions) -> Connection
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        S: HttpService<B>,
        B: ResponseBody,
    {
        let auto = self.clone();
        Connection::start(move |signal| auto.run(io, service, extensions, signal))
    }
}
