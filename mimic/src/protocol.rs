use std::fmt;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncRead, AsyncWrite};

use crate::derive::{AnyValue, BoxFuture};
use crate::flow::{Flow, Info};
use crate::key::{Key, Named};

/// A way to open a connection to an endpoint.
///
/// A protocol names its endpoint type (what it connects to: a socket
/// address, a path...) and its flow type (the stream it gives). Register it
/// in a context with a [`Registration`]; when the context holds (or can
/// derive) a value for the registration's endpoint key, the protocol is a
/// candidate of the resolution.
///
/// ```
/// use std::io;
/// use mimic::{Info, Protocol};
///
/// /// Connects to nothing: every attempt is refused.
/// struct Refuse;
///
/// impl Protocol for Refuse {
///     type Endpoint = String;
///     type Flow = tokio::io::DuplexStream;
///
///     async fn connect(&self, endpoint: &String) -> io::Result<Self::Flow> {
///         Err(io::Error::new(io::ErrorKind::ConnectionRefused, format!("{endpoint} refused")))
///     }
/// }
/// ```
pub trait Protocol: Send + Sync + 'static {
    /// What the protocol connects to.
    type Endpoint: Clone + fmt::Debug + Send + Sync + 'static;
    /// The stream a successful connection gives.
    type Flow: AsyncRead + AsyncWrite + Send + Unpin + 'static;

    /// Opens a connection to `endpoint`.
    fn connect(
        &self,
        endpoint: &Self::Endpoint,
    ) -> impl Future<Output = io::Result<Self::Flow>> + Send;

    /// Splits an endpoint into the endpoints to attempt, best first. TCP
    /// splits a host's addresses into one attempt each (RFC 8305 order);
    /// most protocols keep the endpoint whole.
    fn split(&self, endpoint: &Self::Endpoint) -> Vec<Self::Endpoint> {
        vec![endpoint.clone()]
    }

    /// Describes an endpoint for reports.
    fn describe(&self, endpoint: &Self::Endpoint) -> String {
        format!("{endpoint:?}")
    }

    /// Connection information for a new flow to `endpoint`: its addresses.
    /// The protocol name is filled in by the resolver.
    fn info(&self, endpoint: &Self::Endpoint, flow: &Self::Flow) -> Info {
        let _ = (endpoint, flow);
        Info::default()
    }
}

/// A protocol that runs over the flow of another candidate, such as TLS.
///
/// When a context holds a value for a layer's endpoint key, every candidate
/// the layer applies to is wrapped by it and no longer tried bare: a context
/// that asks for TLS never falls back to clear text. One TLS layer thus gives
/// TLS over TCP, over Unix sockets and over any user protocol.
pub trait Layer: Send + Sync + 'static {
    /// The layer's own parameters, such as the TLS server name.
    type Endpoint: Clone + fmt::Debug + Send + Sync + 'static;
    /// The stream the layer gives.
    type Flow: AsyncRead + AsyncWrite + Send + Unpin + 'static;

    /// Runs the layer's handshake over `inner`.
    fn connect(
        &self,
        endpoint: &Self::Endpoint,
        inner: Flow,
    ) -> impl Future<Output = io::Result<Self::Flow>> + Send;

    /// Describes an endpoint for reports.
    fn describe(&self, endpoint: &Self::Endpoint) -> String {
        format!("{endpoint:?}")
    }

    /// Connection information for a new flow, from the inner flow's: a TLS
    /// layer adds what was negotiated. The protocol name is pushed on the
    /// stack by the resolver.
    fn info(&self, endpoint: &Self::Endpoint, flow: &Self::Flow, inner: Info) -> Info {
        let _ = (endpoint, flow);
        inner
    }
}

/// Which candidates a layer wraps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Over {
    /// Every candidate built before this layer applies.
    Any,
    /// Candidates whose outermost protocol has one of these names.
    Only(Vec<&'static str>),
}

/// Type-erased protocol, as the resolver drives it.
pub(crate) trait ErasedProtocol: Send + Sync {
    fn split(&self, endpoint: &AnyValue) -> Vec<AnyValue>;
    fn describe(&self, endpoint: &AnyValue) -> String;
    fn connect(self: Arc<Self>, endpoint: AnyValue) -> BoxFuture<'static, io::Result<Flow>>;
}

pub(crate) trait ErasedLayer: Send + Sync {
    fn describe(&self, endpoint: &AnyValue) -> String;
    fn connect(
        self: Arc<Self>,
        endpoint: AnyValue,
        inner: Flow,
    ) -> BoxFuture<'static, io::Result<Flow>>;
}

struct Erased<P>(P);

fn mismatch() -> io::Error {
    io::Error::other("endpoint value does not have the protocol's endpoint type")
}

impl<P: Protocol> ErasedProtocol for Erased<P> {
    fn split(&self, endpoint: &AnyValue) -> Vec<AnyValue> {
        match endpoint.downcast_ref::<P::Endpoint>() {
            Some(e) => self
                .0
                .split(e)
                .into_iter()
                .map(|e| Arc::new(e) as AnyValue)
                .collect(),
            None => vec![endpoint.clone()],
        }
    }

    fn describe(&self, endpoint: &AnyValue) -> String {
        endpoint
            .downcast_ref::<P::Endpoint>()
            .map_or_else(String::new, |e| self.0.describe(e))
    }

    fn connect(self: Arc<Self>, endpoint: AnyValue) -> BoxFuture<'static, io::Result<Flow>> {
        Box::pin(async move {
            let edn = endpoint
                .downcast_ref::<P::Endpoint>()
                .ok_or_else(mismatch)?;
            let io = self.0.connect(edn).await?;
            let info = self.0.info(edn, &io);
            Ok(Flow::new(io, info))
        })
    }
}

impl<L: Layer> ErasedLayer for Erased<L> {
    fn describe(&self, endpoint: &AnyValue) -> String {
        endpoint
            .downcast_ref::<L::Endpoint>()
            .map_or_else(String::new, |e| self.0.describe(e))
    }

    fn connect(
        self: Arc<Self>,
        endpoint: AnyValue,
        inner: Flow,
    ) -> BoxFuture<'static, io::Result<Flow>> {
        Box::pin(async move {
            let edn = endpoint
                .downcast_ref::<L::Endpoint>()
                .ok_or_else(mismatch)?;
            let inner_info = inner.info().clone();
            let io = self.0.connect(edn, inner).await?;
            let info = self.0.info(edn, &io, inner_info);
            Ok(Flow::new(io, info))
        })
    }
}

pub(crate) enum Kind {
    Protocol(Arc<dyn ErasedProtocol>),
    Layer(Arc<dyn ErasedLayer>, Over),
}

/// A registration as stored in a context.
pub(crate) struct Registered {
    pub(crate) id: u64,
    pub(crate) name: &'static str,
    pub(crate) priority: i32,
    pub(crate) key: Named,
    pub(crate) kind: Kind,
}

impl Registered {
    /// Whether adding `newer` to a context removes `self`.
    pub(crate) fn replaced_by(&self, newer: &Registered) -> bool {
        self.id == newer.id || (self.name == newer.name && self.key.id == newer.key.id)
    }
}

static NEXT_REGISTRATION: AtomicU64 = AtomicU64::new(1);

/// A protocol or layer with its name, priority and endpoint key, ready to be
/// added to contexts with [`Ctx::with_protocol`](crate::Ctx::with_protocol).
///
/// Candidates are tried in increasing priority number (0 before 10); equal
/// priorities keep the order in which the registrations were added to the
/// context. A layered candidate is ordered by the layer's priority first,
/// then by the candidate it wraps.
pub struct Registration<E> {
    key: Key<E>,
    inner: Arc<Registered>,
}

impl<E> Clone for Registration<E> {
    fn clone(&self) -> Self {
        Registration {
            key: self.key.clone(),
            inner: self.inner.clone(),
        }
    }
}

impl<E> fmt::Debug for Registration<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("name", &self.inner.name)
            .field("priority", &self.inner.priority)
            .field("endpoint", &self.key)
            .field("layer", &matches!(self.inner.kind, Kind::Layer(..)))
            .finish()
    }
}

impl<E: Send + Sync + 'static> Registration<E> {
    /// Registers `protocol` under `name` and `priority`, with a fresh
    /// endpoint key named after the protocol, declared where this is
    /// called: each call makes another key, so make the registration once
    /// and share it (or its [`endpoint`](Self::endpoint) key).
    #[track_caller]
    pub fn new<P>(name: &'static str, priority: i32, protocol: P) -> Self
    where
        P: Protocol<Endpoint = E>,
    {
        Self::with_key(&Key::new(name), name, priority, protocol)
    }

    /// Registers `protocol` with an existing endpoint key, so that several
    /// protocols can be candidates for the same endpoint value.
    pub fn with_key<P>(key: &Key<E>, name: &'static str, priority: i32, protocol: P) -> Self
    where
        P: Protocol<Endpoint = E>,
    {
        let kind = Kind::Protocol(Arc::new(Erased(protocol)));
        Self::make(key, name, priority, kind)
    }

    /// Registers a layer that wraps every candidate built before it
    /// applies, with a fresh endpoint key declared where this is called.
    #[track_caller]
    pub fn layer<L>(name: &'static str, priority: i32, layer: L) -> Self
    where
        L: Layer<Endpoint = E>,
    {
        Self::layer_with_key(&Key::new(name), name, priority, layer)
    }

    /// Registers a layer with an existing endpoint key.
    pub fn layer_with_key<L>(key: &Key<E>, name: &'static str, priority: i32, layer: L) -> Self
    where
        L: Layer<Endpoint = E>,
    {
        let kind = Kind::Layer(Arc::new(Erased(layer)), Over::Any);
        Self::make(key, name, priority, kind)
    }

    /// Restricts a layer to candidates whose outermost protocol is one of
    /// `protocols` (by registration name). No effect on plain protocols.
    pub fn over(self, protocols: &[&'static str]) -> Self {
        let Registered {
            name,
            priority,
            kind,
            ..
        } = &*self.inner;
        let kind = match kind {
            Kind::Layer(layer, _) => Kind::Layer(layer.clone(), Over::Only(protocols.to_vec())),
            Kind::Protocol(p) => Kind::Protocol(p.clone()),
        };
        Self::make(&self.key, name, *priority, kind)
    }

    fn make(key: &Key<E>, name: &'static str, priority: i32, kind: Kind) -> Self {
        Registration {
            key: key.clone(),
            inner: Arc::new(Registered {
                id: NEXT_REGISTRATION.fetch_add(1, Ordering::Relaxed),
                name,
                priority,
                key: key.named(),
                kind,
            }),
        }
    }

    /// The endpoint key: set it, or derive it, to make this a candidate.
    pub fn endpoint(&self) -> &Key<E> {
        &self.key
    }

    /// The registration's name.
    pub fn name(&self) -> &'static str {
        self.inner.name
    }

    /// The registration's priority; lower numbers are tried first.
    pub fn priority(&self) -> i32 {
        self.inner.priority
    }

    pub(crate) fn registered(&self) -> &Arc<Registered> {
        &self.inner
    }
}
