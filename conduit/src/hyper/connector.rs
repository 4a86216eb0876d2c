//! [`Connector`]: URIs to [`HyperIo`]s through a [`Resolver`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::Uri;
use mimic::tls;
use tower_service::Service;

use super::HyperIo;
use crate::error::Error;
use crate::resolver::{Overrides, Resolver};

type ErrorHook = Arc<dyn Fn(&Error) + Send + Sync>;

/// Connects hyper-util's client, tonic, or anything that takes a
/// `tower_service::Service<http::Uri>`, through a conduit [`Resolver`].
///
/// Each URI goes through the resolver's rules as paf's client's do: its
/// scheme (`http`, `https`, your own), static entries and rewrites, then
/// mimic's race of every candidate, with TLS from the resolver's TLS layer.
/// A failure is a conduit [`Error`] whose [`report`](Error::report) tells
/// what each candidate did; [`connect_error`](super::connect_error) finds it
/// in the client's error.
///
/// `http::Uri` takes no `unix:` URI and no percent-encoded host, so a Unix
/// socket is reached through a rule instead: a static host
/// ([`ResolverBuilder::static_host`](crate::ResolverBuilder::static_host)
/// with [`Destination::Unix`](crate::Destination::Unix), for
/// `http://app.local/...`), or [`Overrides::unix_socket`] for every
/// connection, as curl's `--unix-socket`.
///
/// Cloning is cheap: clones share the resolver and the settings.
#[derive(Clone)]
pub struct Connector {
    resolver: Resolver,
    settings: Arc<Settings>,
}

/// What every connection shares, behind an `Arc`: a call clones the
/// connector, and overrides and ALPN lists are not cheap to copy.
#[derive(Clone, Default)]
struct Settings {
    overrides: Overrides,
    alpn: Option<Vec<Vec<u8>>>,
    on_error: Option<ErrorHook>,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("resolver", &self.resolver)
            .field("overrides", &self.settings.overrides)
            .field("alpn", &self.settings.alpn)
            .finish_non_exhaustive()
    }
}

impl Default for Connector {
    fn default() -> Self {
        Connector::new()
    }
}

impl Connector {
    /// A connector over [`Resolver::new`]: the system's DNS, the built-in
    /// schemes and `/etc/services`, and TLS trusting the webpki roots
    /// bundled with mimic (not the system's: for those, give
    /// [`with_resolver`](Connector::with_resolver) a resolver with
    /// [`Resolver::with_tls`] and mimic's `native-roots` feature).
    pub fn new() -> Connector {
        Connector::with_resolver(Resolver::new())
    }

    /// A connector over `resolver`, its rules and its TLS layer.
    pub fn with_resolver(resolver: Resolver) -> Connector {
        Connector {
            resolver,
            settings: Arc::default(),
        }
    }

    /// Applies `overrides` (`--unix-socket`, `--connect-to`, `--resolve`) to
    /// every connection.
    #[must_use]
    pub fn overrides(mut self, overrides: Overrides) -> Connector {
        Arc::make_mut(&mut self.settings).overrides = overrides;
        self
    }

    /// Offers these protocols by ALPN on TLS connections, in place of the
    /// scheme's (`https` offers `h2` and `http/1.1`). A client built
    /// without HTTP/2 should offer `http/1.1` alone; a gRPC client, `h2`.
    #[must_use]
    pub fn alpn<P: AsRef<[u8]>>(mut self, protocols: impl IntoIterator<Item = P>) -> Connector {
        let alpn = protocols.into_iter().map(|p| p.as_ref().to_vec()).collect();
        Arc::make_mut(&mut self.settings).alpn = Some(alpn);
        self
    }

    /// Calls `hook` with every failure before it is returned, as in
    /// `.on_error(|err| eprintln!("{err:#}"))`, which prints mimic's
    /// report of every candidate (by default failures are logged with
    /// `tracing` at debug level).
    #[must_use]
    pub fn on_error(mut self, hook: impl Fn(&Error) + Send + Sync + 'static) -> Connector {
        Arc::make_mut(&mut self.settings).on_error = Some(Arc::new(hook));
        self
    }

    /// The resolver connections go through.
    pub fn resolver(&self) -> &Resolver {
        &self.resolver
    }

    /// Resolves and connects `uri`.
    pub async fn connect(&self, uri: &Uri) -> Result<HyperIo, Error> {
        let text = uri.to_string();
        let result = self.open(&text).await;
        if let Err(err) = &result {
            match &self.settings.on_error {
                Some(hook) => hook(err),
                None => {
                    tracing::debug!(error = %format_args!("{err:#}"), "conduit: connection failed")
                }
            }
        }
        result
    }

    async fn open(&self, text: &str) -> Result<HyperIo, Error> {
        let mut resolution = self.resolver.resolve_with(text, &self.settings.overrides)?;
        if let Some(alpn) = &self.settings.alpn
            && resolution.ctx.contains(&tls::SERVER_NAME)
        {
            resolution.ctx = resolution.ctx.with(&tls::ALPN, alpn.clone());
        }
        let flow = resolution
            .ctx
            .resolve()
            .await
            .map_err(|source| Error::connect(text, source))?;
        Ok(HyperIo::new(flow))
    }
}

/// The connection a [`Connector`] is opening.
#[must_use = "a connection is opened only when awaited"]
pub struct HttpConnecting {
    future: Pin<Box<dyn Future<Output = Result<HyperIo, Error>> + Send>>,
}

impl fmt::Debug for HttpConnecting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpConnecting").finish_non_exhaustive()
    }
}

impl Future for HttpConnecting {
    type Output = Result<HyperIo, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.future.as_mut().poll(cx)
    }
}

impl Service<Uri> for Connector {
    type Response = HyperIo;
    type Error = Error;
    type Future = HttpConnecting;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> HttpConnecting {
        let connector = self.clone();
        HttpConnecting {
            future: Box::pin(async move { connector.connect(&uri).await }),
        }
    }
}
