//! Accepting connections on the stack, with a real backlog.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::Poll;

use conduit::listener::{Connecting, Listener};
use mimic::flow::Addr;
use mimic::{Flow, Info};

use super::TcpStream;
use crate::stack::Stack;

/// A listening TCP port on a [`Stack`].
///
/// smoltcp has no accept queue: a listening socket becomes the connection.
/// This listener keeps one socket listening whenever it has room, re-armed
/// as soon as a SYN takes it, and queues the connections that complete
/// their handshake until [`accept`](TcpListener::accept) takes them. Up to
/// the backlog connections wait, in handshake or accepted-to-be; past it,
/// new SYNs are ignored, so that the peer repeats them (as with a full
/// kernel queue) instead of being refused.
///
/// It is also a [`conduit::listener::Listener`], so `conduit::serve` and
/// paf's server run on it; accepted flows have the protocol `tcpip`.
/// Dropping it resets the connections not accepted yet.
pub struct TcpListener {
    stack: Stack,
    id: u64,
    addr: SocketAddr,
}

impl std::fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpListener")
            .field("addr", &self.addr)
            .finish()
    }
}

impl Stack {
    /// Listens on `addr` with the configured backlog. The unspecified
    /// address (`0.0.0.0` or `[::]`) takes connections to every address of
    /// the stack, IPv4 and IPv6 alike.
    pub fn listen(&self, addr: SocketAddr) -> io::Result<TcpListener> {
        let backlog = self.shared.lock().config.backlog;
        self.listen_with_backlog(addr, backlog)
    }

    /// Listens on `addr` holding up to `backlog` connections that are in
    /// handshake or waiting to be accepted.
    pub fn listen_with_backlog(&self, addr: SocketAddr, backlog: usize) -> io::Result<TcpListener> {
        if addr.port() == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a listener on the stack needs a port other than 0",
            ));
        }
        let mut core = self.shared.lock();
        if core.port_in_use(addr.port()) {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("port {} is already in use on the stack", addr.port()),
            ));
        }
        let id = core.add_listener(addr, backlog.max(1));
        drop(core);
        Ok(TcpListener {
            stack: self.clone(),
            id,
            addr,
        })
    }
}

impl TcpListener {
    /// Waits for the next connection.
    pub async fn accept(&mut self) -> io::Result<(TcpStream, SocketAddr)> {
        let handle = poll_fn(|cx| {
            let mut core = self.stack.shared.lock();
            let Some(listening) = core.listeners.get_mut(&self.id) else {
                return Poll::Ready(Err(io::Error::other("the listener is closed")));
            };
            match listening.ready.pop_front() {
                Some(handle) => {
                    // Room again: arm a socket if none is listening.
                    core.refresh(self.id);
                    Poll::Ready(Ok(handle))
                }
                None => {
                    listening.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await?;
        self.stack.shared.kick();
        let stream = TcpStream::new(self.stack.clone(), handle)?;
        let peer = stream.peer_addr();
        Ok((stream, peer))
    }

    /// The address listened on.
    pub fn local_socket_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Listener for TcpListener {
    async fn accept(&mut self) -> io::Result<Connecting> {
        let (stream, peer) = TcpListener::accept(self).await?;
        let info = Info::new("tcpip")
            .with_local_addr(stream.local_addr())
            .with_peer_addr(peer);
        Ok(Connecting::ready(Flow::new(stream, info)))
    }

    fn local_addr(&self) -> Addr {
        Addr::Inet(self.addr)
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        self.stack.shared.lock().remove_listener(self.id);
        self.stack.shared.kick();
    }
}
