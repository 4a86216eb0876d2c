//! Connected streams and what is known about them.
//!
//! # Organization
//! - [`Flow`]: a connected byte stream of any protocol, which can be
//!   downcast to the concrete stream.
//! - [`Info`] (`info.rs`): its protocol stack, addresses, TLS parameters and
//!   the report of the resolution that made it.
//! - [`Addr`] (`addr.rs`): the address of one end: IP, Unix path, in-memory name.
//! - [`TlsInfo`] (`tls_info.rs`): what a TLS handshake negotiated.
//!
//! [`Flow`] and [`Info`] are also at the crate root.

mod addr;
mod info;
mod tls_info;

use std::any::Any;
use std::fmt;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub use addr::Addr;
pub use info::Info;
pub use tls_info::TlsInfo;

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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

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
