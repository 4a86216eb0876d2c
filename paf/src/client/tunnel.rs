//! An HTTP `CONNECT` tunnel as a mimic layer: over the flow to the proxy,
//! beneath TLS to the origin server.

use std::io;
use std::sync::LazyLock;

use http::{HeaderValue, Method, Request, StatusCode, header};
use mimic::{Ctx, Flow, Info, Key, Layer, Registration};
use tokio::task::JoinHandle;

use crate::body::Body;
use crate::upgrade::{self, Upgraded};

/// Where the tunnel leads, and the proxy's credentials.
#[derive(Clone)]
pub(crate) struct TunnelEndpoint {
    /// `host:port` of the origin server (`[v6]:port` for an IPv6 address).
    pub(crate) authority: String,
    pub(crate) authorization: Option<HeaderValue>,
}

impl std::fmt::Debug for TunnelEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TunnelEndpoint")
            .field("authority", &self.authority)
            .field("authorization", &self.authorization.is_some())
            .finish()
    }
}

/// The tunnel layer's endpoint key.
pub(crate) static ENDPOINT: Key<TunnelEndpoint> = Key::new("http connect tunnel");

/// The layer's registration name, as reports and [`Info::protocols`] show it.
pub(crate) const NAME: &str = "http-connect";

/// One registration for every client, so that contexts share it.
static REGISTRATION: LazyLock<Registration<TunnelEndpoint>> =
    LazyLock::new(|| Registration::layer_with_key(&ENDPOINT, NAME, mimic::tls::PRIORITY, Tunnel));

/// Aborts the task driving the `CONNECT` exchange unless it finished: a
/// connection attempt dropped for its timeout, or lost in a race, must not
/// leave the connection to the proxy open behind it.
struct Driver(JoinHandle<Result<(), crate::Error>>);

impl Drop for Driver {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Tunnel;

impl Tunnel {
    /// Why the proxy's answer is not a tunnel, as an error.
    fn refused(endpoint: &TunnelEndpoint, status: StatusCode) -> io::Error {
        let (kind, hint) = match (status, endpoint.authorization.is_some()) {
            (StatusCode::PROXY_AUTHENTICATION_REQUIRED, false) => (
                io::ErrorKind::PermissionDenied,
                " (the proxy requires credentials: `http://user:password@host:port`)",
            ),
            // Some proxies (tinyproxy) answer wrong credentials with 401.
            (StatusCode::PROXY_AUTHENTICATION_REQUIRED | StatusCode::UNAUTHORIZED, true) => (
                io::ErrorKind::PermissionDenied,
                " (the proxy rejected the credentials)",
            ),
            _ => (io::ErrorKind::ConnectionRefused, ""),
        };
        io::Error::new(
            kind,
            format!(
                "the proxy answered CONNECT {} with {status}{hint}",
                endpoint.authority
            ),
        )
    }
}

impl Layer for Tunnel {
    type Endpoint = TunnelEndpoint;
    type Flow = Upgraded;

    async fn connect(&self, endpoint: &TunnelEndpoint, inner: Flow) -> io::Result<Upgraded> {
        let (mut sender, connection) = super::conn::handshake(inner);
        let _driver = Driver(tokio::spawn(connection));
        let mut req = Request::builder()
            .method(Method::CONNECT)
            .uri(endpoint.authority.as_str())
            .header(header::HOST, endpoint.authority.as_str());
        if let Some(auth) = &endpoint.authorization {
            req = req.header(header::PROXY_AUTHORIZATION, auth.clone());
        }
        let req = req.body(Body::empty()).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("CONNECT {}: {e:#}", endpoint.authority),
            )
        })?;
        let mut res = sender.send(req).await.map_err(|e| {
            io::Error::new(
                io::ErrorKind::ConnectionAborted,
                format!(
                    "CONNECT {}: no answer from the proxy: {e:#}",
                    endpoint.authority
                ),
            )
        })?;
        if !res.status().is_success() {
            return Err(Tunnel::refused(endpoint, res.status()));
        }
        // The connection hands its stream over once the head is read; the
        // driver has nothing left to do after that.
        upgrade::on(&mut res).await.map_err(|e| {
            io::Error::new(
                io::ErrorKind::ConnectionAborted,
                format!(
                    "CONNECT {}: the tunnel did not open: {e:#}",
                    endpoint.authority
                ),
            )
        })
    }

    fn describe(&self, endpoint: &TunnelEndpoint) -> String {
        format!("CONNECT {}", endpoint.authority)
    }

    fn info(&self, _endpoint: &TunnelEndpoint, _flow: &Upgraded, inner: Info) -> Info {
        // The addresses are the proxy's: the origin server's are unknown.
        inner
    }
}

/// `proxy_ctx` (which connects to the proxy) with a tunnel to `endpoint`
/// beneath its TLS layer: set the TLS server name afterwards, and the flow
/// is TLS to the origin, inside the tunnel, over the connection to the proxy
/// (`Info::protocols`: `tls`, `http-connect`, `tcp`).
pub(crate) fn through(proxy_ctx: Ctx, endpoint: TunnelEndpoint) -> Ctx {
    proxy_ctx
        .with_protocol_before(&REGISTRATION, "tls")
        .with(&ENDPOINT, endpoint)
}
