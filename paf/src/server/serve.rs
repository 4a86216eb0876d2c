//! [`Serve`]: the entry points shared by every protocol's settings.

use std::future::Future;
use std::pin::Pin;

use conduit::serve::Drain;
use http::Extensions;
use mimic::Flow;
use tokio::io::{AsyncRead, AsyncWrite};

use super::{Connected, Connection, ConnectionHandler, HttpService, ResponseBody};

pub(super) mod sealed {
    use http::Extensions;
    use tokio::io::{AsyncRead, AsyncWrite};

    use super::super::{Connection, HttpService, ResponseBody};

    /// How each protocol's settings start a connection; not nameable
    /// outside the crate, so that only [`Serve`](super::Serve)'s methods
    /// are the API.
    pub trait Start {
        /// Serves `io`, giving every request `extensions`.
        fn start<I, S, B>(&self, io: I, service: S, extensions: Extensions) -> Connection
        where
            I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
            S: HttpService<B>,
            B: ResponseBody;
    }
}

/// Serves connections with a protocol's settings: [`Http1`](super::Http1),
/// [`Http2`](super::Http2) or [`Auto`](super::Auto). Sealed: the settings
/// types are the only implementations.
///
/// ```
/// use std::convert::Infallible;
/// use http::{Request, Response};
/// use paf::Body;
/// use paf::server::{Auto, Serve};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (client_io, server_io) = tokio::io::duplex(64 * 1024);
/// let hello = paf::service_fn(|_req: Request<Body>| async {
///     Ok::<_, Infallible>(Response::new(Body::full("Hello!")))
/// });
/// tokio::spawn(Auto::new().serve_connection(server_io, hello));
///
/// let (mut sender, connection) = paf::client::conn::handshake(client_io);
/// tokio::spawn(connection);
/// let res = sender.send(Request::get("http://example.com/").body(Body::empty())?).await?;
/// assert_eq!(res.into_body().text().await?, "Hello!");
/// # Ok(())
/// # }
/// ```
pub trait Serve: sealed::Start + Clone + Send + Sync + 'static {
    /// Serves any stream. The handler sees no [`Connected`] extension;
    /// [`serve_flow`](Serve::serve_flow) adds one. [`Auto`](super::Auto)
    /// chooses the protocol by the first bytes.
    fn serve_connection<I, S, B>(&self, io: I, service: S) -> Connection
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        S: HttpService<B>,
        B: ResponseBody,
    {
        self.start(io, service, Extensions::new())
    }

    /// Serves a [`Flow`]; requests carry a [`Connected`] with the flow's
    /// addresses and TLS details. [`Auto`](super::Auto) chooses the protocol
    /// by ALPN over TLS, by the first bytes otherwise.
    fn serve_flow<S, B>(&self, flow: Flow, service: S) -> Connection
    where
        S: HttpService<B>,
        B: ResponseBody,
    {
        let mut extensions = Extensions::new();
        extensions.insert(Connected::new(flow.info().clone()));
        self.start(flow, service, extensions)
    }

    /// A connection handler for [`conduit::serve::Server`]: each flow is
    /// served with a clone of `service`, and the server's drain signal ends
    /// connections gracefully (after the request in progress on HTTP/1.1,
    /// with GOAWAY on HTTP/2).
    fn handler<S, B>(&self, service: S) -> impl ConnectionHandler
    where
        S: HttpService<B> + Clone + Sync,
        B: ResponseBody,
    {
        let settings = self.clone();
        move |flow: Flow, drain: Drain| -> Pin<Box<dyn Future<Output = ()> + Send>> {
            crate::debug::connection(crate::debug::Side::Server, flow.info());
            // Formatted only if the error is logged.
            let peer = flow.info().peer_addr().cloned();
            let connection = settings.serve_flow(flow, service.clone());
            Box::pin(async move {
                if let Err(err) = connection.with_drain(drain).await {
                    let peer = peer.as_ref().map(tracing::field::display);
                    tracing::debug!(peer, error = %format_args!("{err:#}"), "connection ended with an error");
                }
            })
        }
    }
}
