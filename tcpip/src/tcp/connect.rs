//! Opening connections from the stack.

use std::future::poll_fn;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::task::Poll;

use smoltcp::iface::{Interface, SocketHandle};
use smoltcp::socket::tcp::{self, ConnectError};

use super::TcpStream;
use crate::stack::Stack;

/// Aborts and frees a connection attempt that did not finish.
struct Attempt<'a> {
    stack: &'a Stack,
    handle: Option<SocketHandle>,
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            let now = self.stack.shared.now();
            let mut core = self.stack.shared.lock();
            core.tcp(handle).abort();
            core.orphan(handle, now);
            drop(core);
            self.stack.shared.kick();
        }
    }
}

impl Stack {
    /// Connects to `addr` from one of the stack's addresses and an
    /// ephemeral port.
    ///
    /// Fails with [`TimedOut`](io::ErrorKind::TimedOut) after the
    /// configured connect timeout (10 s by default), with
    /// [`ConnectionRefused`](io::ErrorKind::ConnectionRefused) when the peer
    /// resets, and with [`NetworkUnreachable`](io::ErrorKind::NetworkUnreachable)
    /// when the stack has no address or route for it.
    pub async fn connect(&self, addr: SocketAddr) -> io::Result<TcpStream> {
        let timeout = self.shared.lock().config.connect_timeout;
        let mut attempt = Attempt {
            stack: self,
            handle: Some(self.start(addr)?),
        };
        self.shared.kick();
        let handle = attempt.handle.expect("set just above");
        let wait = poll_fn(|cx| {
            let mut core = self.shared.lock();
            let socket = core.tcp(handle);
            match socket.state() {
                tcp::State::SynSent | tcp::State::SynReceived => {
                    socket.register_send_waker(cx.waker());
                    Poll::Pending
                }
                tcp::State::Closed => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::ConnectionRefused,
                    format!("{addr} refused the connection"),
                ))),
                _ => {
                    core.established(handle);
                    Poll::Ready(Ok(()))
                }
            }
        });
        match tokio::time::timeout(timeout, wait).await {
            Ok(Ok(())) => {
                attempt.handle = None;
                TcpStream::new(self.clone(), handle)
            }
            Ok(Err(err)) => Err(err),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "connecting to {addr} timed out after {} ms",
                    timeout.as_millis()
                ),
            )),
        }
    }

    fn start(&self, addr: SocketAddr) -> io::Result<SocketHandle> {
        let mut core = self.shared.lock();
        if !routable(&core.iface, addr.ip()) {
            return Err(io::Error::new(
                io::ErrorKind::NetworkUnreachable,
                format!(
                    "no route to {addr}: it is on none of the stack's networks, \
                     and the stack has no gateway of its family"
                ),
            ));
        }
        let port = core
            .ephemeral_port()
            .ok_or_else(|| io::Error::new(io::ErrorKind::AddrNotAvailable, "no free local port"))?;
        let handle = core.socket();
        let core = &mut *core;
        let socket = core.sockets.get_mut::<tcp::Socket>(handle);
        let result = socket.connect(core.iface.context(), addr, port);
        if result.is_err() {
            core.release(handle);
        }
        match result {
            Ok(()) => Ok(handle),
            Err(ConnectError::Unaddressable) => Err(io::Error::new(
                io::ErrorKind::NetworkUnreachable,
                format!("no route to {addr}: the stack has no address of its family"),
            )),
            Err(ConnectError::InvalidState) => Err(io::Error::other(
                "a new socket refused to connect (smoltcp said: invalid state)",
            )),
        }
    }
}

/// Whether `ip` is on one of the interface's networks, or has a gateway.
fn routable(iface: &Interface, ip: IpAddr) -> bool {
    let on_link = iface
        .ip_addrs()
        .iter()
        .any(|cidr| cidr.contains_addr(&ip.into()));
    let routes = iface.routes();
    on_link
        || match ip {
            IpAddr::V4(_) => routes.get_default_ipv4_route().is_some(),
            IpAddr::V6(_) => routes.get_default_ipv6_route().is_some(),
        }
}
