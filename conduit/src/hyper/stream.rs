//! [`Stream`]: a mimic flow as hyper's I/O.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use mimic::{Flow, Info};

/// A [`Flow`] as hyper reads and writes it: [`hyper::rt::Read`] and
/// [`hyper::rt::Write`] over the flow's tokio I/O.
///
/// The [`Connector`](super::Connector) returns one per connection. For
/// hyper-util's client it is a [`Connection`]: the flow's [`Info`] goes into
/// every response's extensions, and a TLS connection on which ALPN chose
/// `h2` is marked as HTTP/2.
pub struct Stream {
    io: TokioIo<Flow>,
}

impl Stream {
    /// `flow` as hyper's I/O.
    pub fn new(flow: Flow) -> Stream {
        Stream {
            io: TokioIo::new(flow),
        }
    }

    /// What is known about the connection: protocols, addresses, TLS, and
    /// mimic's report of the resolution.
    pub fn info(&self) -> &Info {
        self.io.inner().info()
    }

    /// Whether ALPN chose HTTP/2 (`h2`) on this connection's TLS layer.
    pub fn is_h2(&self) -> bool {
        self.info()
            .tls()
            .and_then(|tls| tls.alpn.as_deref())
            .is_some_and(|alpn| alpn == b"h2")
    }

    /// The flow, for a downcast or for tokio's I/O traits.
    pub fn into_flow(self) -> Flow {
        self.io.into_inner()
    }
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stream").field("info", self.info()).finish()
    }
}

impl From<Flow> for Stream {
    fn from(flow: Flow) -> Stream {
        Stream::new(flow)
    }
}

impl Read for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl Write for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
}

/// The flow's [`Info`] as an extra (responses carry it in their
/// extensions), and HTTP/2 when ALPN chose `h2`.
impl Connection for Stream {
    fn connected(&self) -> Connected {
        let connected = Connected::new().extra(self.info().clone());
        match self.is_h2() {
            true => connected.negotiated_h2(),
            false => connected,
        }
    }
}
