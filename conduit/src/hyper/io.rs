//! [`HyperIo`]: a mimic flow as hyper's I/O.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use mimic::{Flow, Info};
use tokio::time::Sleep;

use crate::serve::Drain;

/// A [`Flow`] as hyper reads and writes it: [`hyper::rt::Read`] and
/// [`hyper::rt::Write`] over the flow's tokio I/O.
///
/// The [`Connector`](super::Connector) returns one per connection. For
/// hyper-util's client it is a [`Connection`]: the flow's [`Info`], as an
/// `Arc<mimic::Info>`, goes into every response's extensions, and a TLS
/// connection on which ALPN chose `h2` is marked as HTTP/2.
pub struct HyperIo {
    io: TokioIo<Flow>,
    /// Server side, until the first read completes.
    waiting: Option<FirstRead>,
}

/// A server connection waiting for its client's first bytes: idle for the
/// connection limit, and closed if nothing arrives in time (hyper has no
/// timeout before a request begins).
struct FirstRead {
    drain: Drain,
    timeout: Duration,
    timer: Pin<Box<Sleep>>,
}

impl HyperIo {
    /// `flow` as hyper's I/O.
    pub fn new(flow: Flow) -> HyperIo {
        HyperIo {
            io: TokioIo::new(flow),
            waiting: None,
        }
    }

    /// A server's connection: marked idle through `drain` until the client
    /// sends its first bytes, and failing with [`io::ErrorKind::TimedOut`]
    /// if none arrive within `timeout`.
    pub(crate) fn accepted(flow: Flow, drain: Drain, timeout: Duration) -> HyperIo {
        drain.set_idle(true);
        HyperIo {
            io: TokioIo::new(flow),
            waiting: Some(FirstRead {
                drain,
                timeout,
                timer: Box::pin(tokio::time::sleep(timeout)),
            }),
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

impl fmt::Debug for HyperIo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperIo")
            .field("info", self.info())
            .finish()
    }
}

impl From<Flow> for HyperIo {
    fn from(flow: Flow) -> HyperIo {
        HyperIo::new(flow)
    }
}

impl Read for HyperIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let read = Pin::new(&mut self.io).poll_read(cx, buf);
        let Some(waiting) = &mut self.waiting else {
            return read;
        };
        if read.is_ready() {
            // Bytes, the end or an error: the client is no longer silent.
            waiting.drain.set_idle(false);
            self.waiting = None;
        } else if waiting.timer.as_mut().poll(cx).is_ready() {
            let timeout = waiting.timeout;
            self.waiting = None;
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the client sent nothing within {timeout:?}"),
            )));
        }
        read
    }
}

impl Write for HyperIo {
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

/// The flow's [`Info`] as an `Arc<mimic::Info>` extra (responses carry it
/// in their extensions; one copy per connection, shared by its responses),
/// and HTTP/2 when ALPN chose `h2`.
impl Connection for HyperIo {
    fn connected(&self) -> Connected {
        let connected = Connected::new().extra(Arc::new(self.info().clone()));
        match self.is_h2() {
            true => connected.negotiated_h2(),
            false => connected,
        }
    }
}
