//! TCP through tokio, with `TCP_NODELAY` on, optional keepalive and local
//! address, and RFC 8305 ordering of a host's addresses.
//!
//! The endpoint key is [`ENDPOINT`]. [`Ctx::with_builtins`](crate::Ctx::with_builtins)
//! derives it from [`keys::ADDRS`](crate::keys::ADDRS) and
//! [`keys::PORT`](crate::keys::PORT); set it directly to skip that.
//! An endpoint with several addresses is split into one attempt per address,
//! interleaving IPv6 and IPv4, so the resolver's race (250 ms stagger by
//! default) is Happy Eyeballs.
//!
//! ```no_run
//! use mimic::{Ctx, tcp};
//!
//! # async fn run() -> Result<(), mimic::ResolveError> {
//! let ctx = Ctx::new()
//!     .with_protocol(&tcp::registration(tcp::Tcp::new()))
//!     .with(&tcp::ENDPOINT, "127.0.0.1:8080".parse::<std::net::SocketAddr>().unwrap().into());
//! let flow = ctx.resolve().await?;
//! let stream: &tokio::net::TcpStream = flow.downcast_ref().expect("a TCP flow");
//! # let _ = stream; Ok(()) }
//! ```

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use socket2::{SockRef, TcpKeepalive};
use tokio::net::{TcpSocket, TcpStream};

use crate::{Info, Key, Protocol, Registration};

/// The endpoint key of the built-in TCP registration.
pub static ENDPOINT: Key<TcpEndpoint> = Key::new("tcp endpoint");

/// The priority of [`registration`]; lower is tried first.
pub const PRIORITY: i32 = 20;

/// One or more socket addresses of the same service.
#[derive(Clone, PartialEq, Eq)]
pub struct TcpEndpoint {
    addrs: Vec<SocketAddr>,
}

impl TcpEndpoint {
    /// An endpoint with these addresses, in the resolver's order.
    pub fn new(addrs: impl IntoIterator<Item = SocketAddr>) -> TcpEndpoint {
        TcpEndpoint {
            addrs: addrs.into_iter().collect(),
        }
    }

    /// The addresses.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }
}

impl From<SocketAddr> for TcpEndpoint {
    fn from(addr: SocketAddr) -> Self {
        TcpEndpoint { addrs: vec![addr] }
    }
}

impl fmt::Display for TcpEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, addr) in self.addrs.iter().enumerate() {
            if n > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{addr}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for TcpEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TcpEndpoint({self})")
    }
}

/// Orders addresses as RFC 8305 section 4 asks: families interleaved,
/// starting with IPv6 when there is any, each family keeping its order.
pub fn rfc8305_order(addrs: &[SocketAddr]) -> Vec<SocketAddr> {
    let (v6, v4): (Vec<SocketAddr>, Vec<SocketAddr>) = addrs.iter().partition(|a| a.is_ipv6());
    let mut ordered = Vec::with_capacity(addrs.len());
    let (mut v6, mut v4) = (v6.into_iter(), v4.into_iter());
    loop {
        match (v6.next(), v4.next()) {
            (None, None) => return ordered,
            (a, b) => ordered.extend(a.into_iter().chain(b)),
        }
    }
}

/// The TCP protocol and its socket options.
#[derive(Clone, Debug)]
pub struct Tcp {
    nodelay: bool,
    keepalive: Option<Duration>,
    local: Vec<IpAddr>,
}

impl Default for Tcp {
    fn default() -> Self {
        Tcp {
            nodelay: true,
            keepalive: None,
            local: Vec::new(),
        }
    }
}

impl Tcp {
    /// TCP with `TCP_NODELAY` on and no keepalive.
    pub fn new() -> Tcp {
        Tcp::default()
    }

    /// Sets `TCP_NODELAY` (on by default).
    pub fn nodelay(mut self, nodelay: bool) -> Tcp {
        self.nodelay = nodelay;
        self
    }

    /// Sends keepalive probes after `idle` without traffic.
    pub fn keepalive(mut self, idle: Duration) -> Tcp {
        self.keepalive = Some(idle);
        self
    }

    /// Binds to `addr` before connecting. Give one address per family to
    /// connect to both; a target whose family has no local address fails.
    pub fn local_address(mut self, addr: IpAddr) -> Tcp {
        self.local.push(addr);
        self
    }

    async fn connect_one(&self, addr: SocketAddr) -> io::Result<TcpStream> {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        if !self.local.is_empty() {
            let local = self
                .local
                .iter()
                .find(|ip| ip.is_ipv4() == addr.is_ipv4())
                .ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("no local address of the family of {addr} to bind to"),
                    )
                })?;
            socket.bind(SocketAddr::new(*local, 0))?;
        }
        let stream = socket.connect(addr).await?;
        stream.set_nodelay(self.nodelay)?;
        if let Some(idle) = self.keepalive {
            SockRef::from(&stream).set_tcp_keepalive(&TcpKeepalive::new().with_time(idle))?;
        }
        Ok(stream)
    }
}

impl Protocol for Tcp {
    type Endpoint = TcpEndpoint;
    type Flow = TcpStream;

    /// Connects to the endpoint's addresses one after the other (the
    /// resolver normally splits them and races them instead).
    async fn connect(&self, endpoint: &TcpEndpoint) -> io::Result<TcpStream> {
        let mut last = None;
        for addr in &endpoint.addrs {
            match self.connect_one(*addr).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "tcp endpoint has no address")
        }))
    }

    fn split(&self, endpoint: &TcpEndpoint) -> Vec<TcpEndpoint> {
        if endpoint.addrs.len() <= 1 {
            return vec![endpoint.clone()];
        }
        rfc8305_order(&endpoint.addrs)
            .into_iter()
            .map(TcpEndpoint::from)
            .collect()
    }

    fn describe(&self, endpoint: &TcpEndpoint) -> String {
        endpoint.to_string()
    }

    fn info(&self, endpoint: &TcpEndpoint, flow: &TcpStream) -> Info {
        let mut info = Info::default();
        if let Ok(local) = flow.local_addr() {
            info = info.with_local_addr(local);
        }
        // A split endpoint has one address: the one connected to.
        let peer = match endpoint.addrs.as_slice() {
            [addr] => Some(*addr),
            _ => flow.peer_addr().ok(),
        };
        if let Some(peer) = peer {
            info = info.with_peer_addr(peer);
        }
        info
    }
}

/// A registration of `tcp` named `tcp`, at [`PRIORITY`], on [`ENDPOINT`].
pub fn registration(tcp: Tcp) -> Registration<TcpEndpoint> {
    Registration::with_key(&ENDPOINT, "tcp", PRIORITY, tcp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("a socket address literal")
    }

    #[test]
    fn rfc8305_interleaves_starting_with_ipv6() {
        let input = [
            addr("10.0.0.1:80"),
            addr("10.0.0.2:80"),
            addr("10.0.0.3:80"),
            addr("[2001:db8::1]:80"),
            addr("[2001:db8::2]:80"),
        ];
        let expected = [
            addr("[2001:db8::1]:80"),
            addr("10.0.0.1:80"),
            addr("[2001:db8::2]:80"),
            addr("10.0.0.2:80"),
            addr("10.0.0.3:80"),
        ];
        assert_eq!(rfc8305_order(&input), expected);
        assert_eq!(rfc8305_order(&input[..2]), input[..2]);
        assert!(rfc8305_order(&[]).is_empty());
    }
}
