//! A TCP connection through the stack, as a tokio stream.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp::{self, RecvError, SendError};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::stack::Stack;

/// A TCP connection through a [`Stack`]: tokio's [`AsyncRead`] and
/// [`AsyncWrite`].
///
/// - Reading gives `Ok(0)` (end of stream) only after the peer's FIN; a
///   connection that was reset, or that timed out, gives an error of kind
///   [`ConnectionReset`](io::ErrorKind::ConnectionReset) once the data
///   received before is read.
/// - `shutdown` sends FIN after the queued data: the write half is closed,
///   and reading goes on (half-close).
/// - Writing queues data in the socket's send buffer; `flush` has nothing
///   to wait for.
/// - Dropping the stream closes the connection gracefully in the
///   background; one that does not close within 30 s is reset.
pub struct TcpStream {
    stack: Stack,
    handle: SocketHandle,
    local: SocketAddr,
    peer: SocketAddr,
    write_closed: bool,
}

impl std::fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.local)
            .field("peer", &self.peer)
            .finish()
    }
}

fn reset(peer: SocketAddr) -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionReset,
        format!("the connection with {peer} was reset"),
    )
}

impl TcpStream {
    pub(crate) fn new(stack: Stack, handle: SocketHandle) -> io::Result<TcpStream> {
        let (local, peer) = {
            let mut core = stack.shared.lock();
            let socket = core.tcp(handle);
            (socket.local_endpoint(), socket.remote_endpoint())
        };
        match (local, peer) {
            (Some(local), Some(peer)) => Ok(TcpStream {
                stack,
                handle,
                local: local.into(),
                peer: peer.into(),
                write_closed: false,
            }),
            _ => {
                let now = stack.shared.now();
                stack.shared.lock().orphan(handle, now);
                Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "the connection was closed before it could be used",
                ))
            }
        }
    }

    /// The stack's end.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The peer's end.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// The stack this connection runs on.
    pub fn stack(&self) -> &Stack {
        &self.stack
    }

    /// Resets the connection at once (RST), instead of closing it.
    pub fn abort(&mut self) {
        self.stack.shared.lock().tcp(self.handle).abort();
        self.stack.shared.kick();
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let mut core = this.stack.shared.lock();
        let socket = core.tcp(this.handle);
        // A receive buffer more than half full may have shrunk the window:
        // after reading, the driver tells the peer it has room again.
        let was_full = socket.recv_queue() * 2 > socket.recv_capacity();
        match socket.recv_slice(buf.initialize_unfilled()) {
            Ok(0) if buf.remaining() > 0 => {
                socket.register_recv_waker(cx.waker());
                Poll::Pending
            }
            Ok(n) => {
                buf.advance(n);
                drop(core);
                if was_full {
                    this.stack.shared.kick();
                }
                Poll::Ready(Ok(()))
            }
            Err(RecvError::Finished) => Poll::Ready(Ok(())),
            Err(RecvError::InvalidState) => Poll::Ready(Err(reset(this.peer))),
        }
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.write_closed {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the write half of this connection is shut down",
            )));
        }
        let mut core = this.stack.shared.lock();
        let socket = core.tcp(this.handle);
        match socket.send_slice(data) {
            Ok(0) if !data.is_empty() => {
                socket.register_send_waker(cx.waker());
                Poll::Pending
            }
            Ok(n) => {
                drop(core);
                this.stack.shared.kick();
                Poll::Ready(Ok(n))
            }
            Err(SendError::InvalidState) => Poll::Ready(Err(match socket.state() {
                // The peer closed its side and then went away.
                tcp::State::Closed | tcp::State::TimeWait => reset(this.peer),
                _ => io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    format!("the connection with {} is closing", this.peer),
                ),
            })),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.write_closed {
            this.write_closed = true;
            this.stack.shared.lock().close(this.handle);
            this.stack.shared.kick();
        }
        Poll::Ready(Ok(()))
    }
}

impl Drop for TcpStream {
    fn drop(&mut self) {
        let now = self.stack.shared.now();
        self.stack.shared.lock().orphan(self.handle, now);
        self.stack.shared.kick();
    }
}
