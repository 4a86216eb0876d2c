//! The connection's buffers: everything that touches the socket.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite};

use super::codec::WriteBuf;

/// Spare room kept in the read buffer while reading heads.
const HEAD_READ: usize = 8 * 1024;
/// Spare room while reading bodies: bigger reads, fewer system calls.
const BODY_READ: usize = 64 * 1024;
/// Queued output is written out once it reaches this size, even when more
/// could be added (pipelined responses, body frames ready at once).
pub(crate) const WRITE_HIGH_WATER: usize = 64 * 1024;
/// How many buffers one vectored write takes at most.
const MAX_IOVECS: usize = 64;

/// A stream with a read buffer and a write queue.
pub(crate) struct Buffered<I> {
    pub(crate) io: I,
    pub(crate) read_buf: BytesMut,
    pub(crate) write_buf: WriteBuf,
}

impl<I> Buffered<I>
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    pub(crate) fn new(io: I) -> Buffered<I> {
        Buffered::with_read_buf(io, BytesMut::with_capacity(HEAD_READ))
    }

    /// With bytes already read from `io`.
    pub(crate) fn with_read_buf(io: I, read_buf: BytesMut) -> Buffered<I> {
        Buffered {
            io,
            read_buf,
            write_buf: WriteBuf::new(),
        }
    }

    /// Reads more into the read buffer; `Ok(0)` is the end of the stream.
    pub(crate) fn poll_read_head(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        self.poll_read(cx, HEAD_READ)
    }

    /// Reads more body bytes into the read buffer; `Ok(0)` is the end of the stream.
    pub(crate) fn poll_read_body(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        self.poll_read(cx, BODY_READ)
    }

    fn poll_read(&mut self, cx: &mut Context<'_>, room: usize) -> Poll<io::Result<usize>> {
        if self.read_buf.capacity() - self.read_buf.len() < room / 2 {
            self.read_buf.reserve(room);
        }
        tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, &mut self.read_buf)
    }

    /// Writes out everything queued, then flushes the stream (TLS streams
    /// hold records back until flushed).
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.write_buf.is_empty() {
            let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
            let count = self.write_buf.chunks_vectored(&mut slices);
            // One buffer (the usual case: heads and small bodies are staged
            // together) takes `write`, which the kernel does a little
            // cheaper than a `writev` of one.
            let n = if count > 1 && self.io.is_write_vectored() {
                ready!(Pin::new(&mut self.io).poll_write_vectored(cx, &slices[..count]))?
            } else {
                ready!(Pin::new(&mut self.io).poll_write(cx, &slices[0]))?
            };
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.write_buf.advance(n);
        }
        Pin::new(&mut self.io).poll_flush(cx)
    }

    /// Flushes, then closes the writing side.
    pub(crate) fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_flush(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
