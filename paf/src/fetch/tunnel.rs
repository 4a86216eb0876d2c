//! An HTTP `CONNECT` tunnel as a mimic layer: over the flow to the proxy,
//! beneath TLS to the origin server.

use std::io;

use http::{HeaderValue, Method, Request, header};
use mimic::{Ctx, Flow, Info, Key, Layer, Registration};

use crate::body::Body;
use crate::upgrade::{self, Upgraded};

/// Where the tunnel leads, and the proxy's credentials.
#[derive(Clone)]
pub(crate) struct TunnelEndpoint {
    /// `host:port` of the origin server.
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

/// The layer's registration name.
const NAME: &str = "http-connect";

struct Tunnel;

impl Layer for Tunnel {
    type Endpoint = TunnelEndpoint;
    type Flow = Upgraded;

    async fn connect(&self, endpoint: &TunnelEndpoint, inner: Flow) -> io::Result<Upgraded> {
        let (mut sender, connection) = crate::client::handshake(inner);
        let driver = tokio::spawn(connection);
        let mut req = Request::builder()
            .method(Method::CONNECT)
            .uri(endpoint.authority.as_str())
            .header(header::HOST, endpoint.authority.as_str());
        if let Some(auth) = &endpoint.authorization {
            req = req.header(header::PROXY_AUTHORIZATION, auth.clone());
        }
        let req = req
            .body(Body::empty())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let mut res = sender.send(req).await.map_err(|e| {
            driver.abort();
            io::Error::new(
                io::ErrorKind::ConnectionAborted,
                format!("proxy CONNECT failed: {e}"),
            )
        })?;
        if !res.status().is_success() {
            driver.abort();
            let kind = if res.status() == http::StatusCode::PROXY_AUTHENTICATION_REQUIRED {
                io::ErrorKind::PermissionDenied
            } else {
                io::ErrorKind::ConnectionRefused
            };
            return Err(io::Error::new(
                kind,
                format!(
                    "the proxy refused CONNECT {}: {}",
                    endpoint.authority,
                    res.status()
                ),
            ));
        }
        upgrade::on(&mut res).await.map_err(|e| {
            io::Error::new(
                io::ErrorKind::ConnectionAborted,
                format!("proxy tunnel: {e}"),
            )
        })
    }

    fn describe(&self, endpoint: &TunnelEndpoint) -> String {
        format!("CONNECT {}", endpoint.authority)
    }

    fn info(&self, _endpoint: &TunnelEndpoint, _flow: &Upgraded, inner: Info) -> Info {
        inner
    }
}

/// `proxy_ctx` (which connects to the proxy) with a tunnel to `endpoint`
/// beneath its TLS layer: set the TLS server name afterwards, and the flow
/// is TLS to the origin, inside the tunnel, over the connection to the proxy.
pub(crate) fn through(proxy_ctx: Ctx, endpoint: TunnelEndpoint) -> Ctx {
    let registration = Registration::layer_with_key(&ENDPOINT, NAME, mimic::tls::PRIORITY, Tunnel);
    proxy_ctx
        .with_protocol_before(&registration, "tls")
        .with(&ENDPOINT, endpoint)
}
