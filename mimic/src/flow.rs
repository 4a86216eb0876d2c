use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::report::Report;

/// What a [`Flow`] can hold: any tokio stream that can move between tasks.
trait Io: AsyncRead + AsyncWrite + Send + Unpin + Any {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + Any> Io for T {}

/// A connected byte stream of any protocol.
///
/// `Flow` is what resolving a [`Ctx`](crate::Ctx) gives: one boxed type that
/// implements tokio's [`AsyncRead`] and [`AsyncWrite`] (vectored writes are
/// passed through to the stream), whatever protocol produced it. It can be
/// downcast back to the concrete stream, and it carries an [`Info`] telling
/// which protocols it went through, its addresses and, for TLS, what was
/// negotiated.
///
/// ```
/// use mimic::{Flow, Info};
///
/// let (client, _server) = tokio::io::duplex(64);
/// let flow = Flow::new(client, Info::new("pipe"));
/// assert_eq!(flow.info().protocol(), "pipe");
/// assert!(flow.downcast_ref::<tokio::io::DuplexStream>().is_some());
/// ```
pub struct Flow {
    io: Box<dyn Io>,
    // Boxed so that a flow is two pointers wide: flows move through every layer.
    info: Box<Info>,
}

impl Flow {
    /// Wraps a stream with its connection information.
    pub fn new<T>(io: T, info: Info) -> Flow
    where
        T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        Flow {
            io: Box::new(io),
            info: Box::new(info),
        }
    }

    /// What is known about this connection.
    pub fn info(&self) -> &Info {
        &self.info
    }

    /// Mutable access to the connection information, for layers that add to it.
    pub fn info_mut(&mut self) -> &mut Info {
        &mut self.info
    }

    /// Whether the stream inside is a `T`.
    pub fn is<T: Any>(&self) -> bool {
        self.downcast_ref::<T>().is_some()
    }

    /// The stream inside, if it is a `T`.
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        let io: &dyn Any = &*self.io;
        io.downcast_ref()
    }

    /// The stream inside, mutably, if it is a `T`.
    pub fn downcast_mut<T: Any>(&mut self) -> Option<&mut T> {
        let io: &mut dyn Any = &mut *self.io;
        io.downcast_mut()
    }

    /// Takes the stream out if it is a `T`; gives the flow back otherwise.
    pub fn downcast<T: Any>(self) -> Result<(T, Info), Flow> {
        if !self.is::<T>() {
            return Err(self);
        }
        let Flow { io, info } = self;
        let io: Box<dyn Any> = io;
        match io.downcast::<T>() {
            Ok(io) => Ok((*io, *info)),
            // `is` said yes just above; the type cannot have changed.
            Err(_) => unreachable!("downcast after a successful type check"),
        }
    }
}

impl fmt::Debug for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flow").field("info", &self.info).finish()
    }
}

impl AsyncRead for Flow {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Flow {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.io).poll_shutdown(cx)
    }
}

/// The address of one end of a flow.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Addr {
    /// An IP socket address.
    Inet(SocketAddr),
    /// A Unix domain socket path.
    Unix(PathBuf),
    /// The name of an in-memory listener.
    Mem(String),
    /// Anything else, described by its protocol.
    Other(String),
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::Inet(addr) => write!(f, "{addr}"),
            Addr::Unix(path) => write!(f, "unix:{}", path.display()),
            Addr::Mem(name) => write!(f, "mem:{name}"),
            Addr::Other(text) => f.write_str(text),
        }
    }
}

impl From<SocketAddr> for Addr {
    fn from(addr: SocketAddr) -> Self {
        Addr::Inet(addr)
    }
}

/// What was negotiated on a TLS connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsInfo {
    /// The application protocol chosen by ALPN, if any.
    pub alpn: Option<Vec<u8>>,
    /// The protocol version, such as `TLSv1_3`.
    pub version: Option<String>,
    /// The cipher suite, such as `TLS13_AES_128_GCM_SHA256`.
    pub cipher_suite: Option<String>,
    /// The server name: the one asked for by a client, or received by a server (SNI).
    pub server_name: Option<String>,
    /// The peer's certificate chain in DER, end entity first.
    pub peer_certificates: Vec<Vec<u8>>,
}

impl TlsInfo {
    /// An empty record, to be filled field by field.
    pub fn new() -> TlsInfo {
        TlsInfo::default()
    }
}

/// One line for logs: `TLSv1_3 / TLS13_AES_128_GCM_SHA256, ALPN: h2, server
/// name: example.com`, with `?` for what is unknown and `none` for no ALPN.
impl fmt::Display for TlsInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known = |v: &Option<String>| v.as_deref().unwrap_or("?").to_string();
        let alpn = self
            .alpn
            .as_deref()
            .map_or_else(|| "none".into(), String::from_utf8_lossy);
        write!(
            f,
            "{} / {}, ALPN: {alpn}, server name: {}",
            known(&self.version),
            known(&self.cipher_suite),
            known(&self.server_name)
        )
    }
}

/// What is known about a connection: its protocol stack, its addresses,
/// TLS parameters, and how the resolution that produced it went.
#[derive(Clone, Debug, Default)]
pub struct Info {
    protocols: Vec<Cow<'static, str>>,
    endpoint: Option<String>,
    local: Option<Addr>,
    peer: Option<Addr>,
    tls: Option<TlsInfo>,
    report: Option<Arc<Report>>,
}

impl Info {
    /// Information about a flow of `protocol`.
    pub fn new(protocol: impl Into<Cow<'static, str>>) -> Info {
        Info {
            protocols: vec![protocol.into()],
            ..Info::default()
        }
    }

    /// The outermost protocol's name, such as `tls` for TLS over TCP.
    pub fn protocol(&self) -> &str {
        self.protocols.first().map_or("", |p| p)
    }

    /// Every protocol of the stack, outermost first: `["tls", "tcp"]`.
    pub fn protocols(&self) -> impl Iterator<Item = &str> {
        self.protocols.iter().map(|p| &**p)
    }

    /// The endpoint connected to, as the resolution report describes it.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// The local address, when the protocol has one.
    pub fn local_addr(&self) -> Option<&Addr> {
        self.local.as_ref()
    }

    /// The peer's address, when the protocol has one.
    pub fn peer_addr(&self) -> Option<&Addr> {
        self.peer.as_ref()
    }

    /// TLS parameters, when a TLS layer is part of the stack.
    pub fn tls(&self) -> Option<&TlsInfo> {
        self.tls.as_ref()
    }

    /// The report of the resolution that produced this flow: every candidate
    /// and how it ended, the winner included.
    pub fn report(&self) -> Option<&Report> {
        self.report.as_deref()
    }

    /// Sets the local address.
    pub fn with_local_addr(mut self, addr: impl Into<Addr>) -> Info {
        self.local = Some(addr.into());
        self
    }

    /// Sets the peer address.
    pub fn with_peer_addr(mut self, addr: impl Into<Addr>) -> Info {
        self.peer = Some(addr.into());
        self
    }

    /// Sets the TLS parameters.
    pub fn with_tls(mut self, tls: TlsInfo) -> Info {
        self.tls = Some(tls);
        self
    }

    /// Puts `protocol` on top of the stack, for a layer over this flow.
    pub fn push_protocol(&mut self, protocol: impl Into<Cow<'static, str>>) {
        self.protocols.insert(0, protocol.into());
    }

    pub(crate) fn set_endpoint(&mut self, endpoint: String) {
        self.endpoint = Some(endpoint);
    }

    pub(crate) fn set_report(&mut self, report: Arc<Report>) {
        self.report = Some(report);
    }

    pub(crate) fn set_protocols(&mut self, protocols: Vec<Cow<'static, str>>) {
        self.protocols = protocols;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

    #[test]
    fn tls_info_reads_on_one_line() {
        let mut tls = TlsInfo::new();
        assert_eq!(tls.to_string(), "? / ?, ALPN: none, server name: ?");
        tls.version = Some("TLSv1_3".into());
        tls.cipher_suite = Some("TLS13_AES_128_GCM_SHA256".into());
        tls.alpn = Some(b"h2".to_vec());
        tls.server_name = Some("localhost".into());
        assert_eq!(
            tls.to_string(),
            "TLSv1_3 / TLS13_AES_128_GCM_SHA256, ALPN: h2, server name: localhost"
        );
    }

    #[tokio::test]
    async fn reads_writes_and_downcasts() {
        let (a, mut b) = tokio::io::duplex(64);
        let mut flow = Flow::new(a, Info::new("pipe").with_peer_addr(Addr::Mem("b".into())));
        flow.write_all(b"ping").await.expect("write to duplex");
        let mut buf = [0; 4];
        b.read_exact(&mut buf).await.expect("read from duplex");
        assert_eq!(&buf, b"ping");
        assert!(flow.downcast_mut::<DuplexStream>().is_some());
        assert!(!flow.is::<tokio::io::Empty>());
        let flow = flow
            .downcast::<tokio::io::Empty>()
            .expect_err("not an Empty");
        let (_stream, info) = flow.downcast::<DuplexStream>().expect("a DuplexStream");
        assert_eq!(info.peer_addr(), Some(&Addr::Mem("b".into())));
    }
}
