//! TCP listeners.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use mimic::flow::Addr;
use mimic::{Flow, Info};
use socket2::{Domain, Protocol, Socket, TcpKeepalive, Type};

use super::{Connecting, Listener};
use crate::error::{Error, Listen};

/// The default length of the queue of connections waiting to be accepted.
const DEFAULT_BACKLOG: i32 = 1024;

/// A TCP listener bound to an explicit address.
///
/// Binding to `[::]` accepts IPv4 clients too (the socket is made
/// dual-stack whatever the system default); binding to port 0 lets the
/// system choose, and [`local_addr`](TcpListener::local_addr) tells which
/// port it chose. `SO_REUSEADDR` is set (on Unix) so that a restarted server
/// can bind while old connections linger in `TIME_WAIT`, and accepted
/// sockets get `TCP_NODELAY`.
///
/// Accepted flows have the protocol `tcp`, the local address the peer
/// reached, and the peer's address. IPv4 peers of a dual-stack socket are
/// reported as IPv4 addresses (`127.0.0.1`, not `::ffff:127.0.0.1`).
#[derive(Debug)]
pub struct TcpListener {
    inner: tokio::net::TcpListener,
    local: SocketAddr,
    nodelay: bool,
}

impl TcpListener {
    /// Binds to `addr` with the default options.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime with IO enabled.
    pub fn bind(addr: SocketAddr) -> Result<TcpListener, Error> {
        TcpListener::builder(addr).bind()
    }

    /// Options for a listener on `addr`.
    pub fn builder(addr: SocketAddr) -> TcpListenerBuilder {
        TcpListenerBuilder {
            addr,
            backlog: DEFAULT_BACKLOG,
            nodelay: true,
            only_v6: false,
            keepalive: None,
        }
    }

    /// Wraps a listener bound elsewhere (handed over by a supervisor, say).
    /// It is switched to non-blocking mode; `TCP_NODELAY` is set on accepted
    /// sockets.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime with IO enabled.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        let inner = tokio::net::TcpListener::from_std(listener)?;
        let local = inner.local_addr()?;
        Ok(TcpListener {
            inner,
            local,
            nodelay: true,
        })
    }

    /// The bound address, with the port the system chose for port 0.
    pub fn local_socket_addr(&self) -> SocketAddr {
        self.local
    }
}

impl Listener for TcpListener {
    async fn accept(&mut self) -> io::Result<Connecting> {
        let (stream, peer) = self.inner.accept().await?;
        if self.nodelay
            && let Err(err) = stream.set_nodelay(true)
        {
            // The peer may already be gone; reading or writing will say so.
            tracing::debug!(%peer, %err, "conduit: cannot set TCP_NODELAY");
        }
        let local = stream.local_addr().map_or(self.local, canonical);
        let info = Info::new("tcp")
            .with_local_addr(local)
            .with_peer_addr(canonical(peer));
        Ok(Connecting::ready(Flow::new(stream, info)))
    }

    fn local_addr(&self) -> Addr {
        Addr::Inet(self.local)
    }
}

/// IPv4-mapped IPv6 addresses (from a dual-stack socket) as plain IPv4.
fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

/// Options of a [`TcpListener`], then [`bind`](TcpListenerBuilder::bind).
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `bind` is called"]
pub struct TcpListenerBuilder {
    addr: SocketAddr,
    backlog: i32,
    nodelay: bool,
    only_v6: bool,
    keepalive: Option<Duration>,
}

impl TcpListenerBuilder {
    /// The length of the queue of connections the system has completed but
    /// the server has not accepted yet (default 1024; the system may cap it).
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
        self
    }

    /// Whether accepted sockets get `TCP_NODELAY` (default: yes).
    pub fn nodelay(mut self, nodelay: bool) -> Self {
        self.nodelay = nodelay;
        self
    }

    /// For an IPv6 address: accept IPv6 clients only (default: no, an
    /// IPv6 socket also accepts IPv4 clients).
    pub fn only_v6(mut self, only_v6: bool) -> Self {
        self.only_v6 = only_v6;
        self
    }

    /// Enables TCP keepalive on the listening socket, which accepted sockets
    /// inherit, with `idle` before the first probe (default: off).
    pub fn keepalive(mut self, idle: Option<Duration>) -> Self {
        self.keepalive = idle;
        self
    }

    /// Creates, configures, binds the socket and starts listening.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime with IO enabled.
    pub fn bind(self) -> Result<TcpListener, Error> {
        let addr = self.addr;
        let fail = |step| {
            move |source| {
                Error::from(Listen::Bind {
                    addr: addr.into(),
                    step,
                    source,
                })
            }
        };
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
            .map_err(fail("socket"))?;
        if addr.is_ipv6() {
            socket
                .set_only_v6(self.only_v6)
                .map_err(fail("IPV6_V6ONLY"))?;
        }
        // On Windows SO_REUSEADDR lets another socket steal the port.
        #[cfg(not(windows))]
        socket
            .set_reuse_address(true)
            .map_err(fail("SO_REUSEADDR"))?;
        if let Some(idle) = self.keepalive {
            socket
                .set_tcp_keepalive(&TcpKeepalive::new().with_time(idle))
                .map_err(fail("SO_KEEPALIVE"))?;
        }
        socket.set_nonblocking(true).map_err(fail("O_NONBLOCK"))?;
        socket.bind(&addr.into()).map_err(fail("bind"))?;
        socket.listen(self.backlog).map_err(fail("listen"))?;
        let std: std::net::TcpListener = socket.into();
        let inner = tokio::net::TcpListener::from_std(std).map_err(fail("register"))?;
        let local = inner.local_addr().map_err(fail("getsockname"))?;
        Ok(TcpListener {
            inner,
            local,
            nodelay: self.nodelay,
        })
    }
}
