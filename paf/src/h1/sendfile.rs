//! Sending a response body named by a [`FileRegion`] with `sendfile(2)`,
//! when the connection is a plain TCP or Unix socket (Linux and Android;
//! elsewhere the body is always sent).

use std::any::Any;
use std::future::poll_fn;
use std::io;
use std::task::{Context, Poll, ready};

use mimic::Flow;
use tokio::io::{AsyncRead, AsyncWrite, Interest};
use tokio::net::{TcpStream, UnixStream};

use super::io::Buffered;
use crate::body::FileRegion;

/// The most one call sends, as nginx's `sendfile_max_chunk`. A file that
/// is not in the page cache is read by the kernel during the call, on this
/// thread: the cap bounds each such stretch, and the connection's task
/// yields after each whole call so that other tasks run between them.
const MAX_CALL: u64 = 2 * 1024 * 1024;

/// What [`send`] did.
pub(crate) enum Sent {
    /// The whole region.
    All,
    /// Nothing: this file or socket cannot be sent from (a file system
    /// without `splice_read`, say). The body is to be sent instead.
    Unsupported,
}

/// A socket `sendfile(2)` can write to.
enum Socket<'a> {
    Tcp(&'a TcpStream),
    Unix(&'a UnixStream),
}

/// The plain socket `io` is, or holds as a [`Flow`].
fn socket<I: Any>(io: &mut I) -> Option<Socket<'_>> {
    if !cfg!(any(target_os = "linux", target_os = "android")) {
        return None;
    }
    let io = io as &mut dyn Any;
    if io.is::<TcpStream>() {
        return io.downcast_ref::<TcpStream>().map(Socket::Tcp);
    }
    if io.is::<UnixStream>() {
        return io.downcast_ref::<UnixStream>().map(Socket::Unix);
    }
    let flow = io.downcast_mut::<Flow>()?;
    if let Some(tcp) = flow.downcast_ref::<TcpStream>() {
        return Some(Socket::Tcp(tcp));
    }
    flow.downcast_ref::<UnixStream>().map(Socket::Unix)
}

/// Whether `io` is a plain socket that [`send`] can use.
pub(crate) fn possible<I: Any>(io: &mut I) -> bool {
    socket(io).is_some()
}

/// Writes out what is queued (the head), then all of `region`, counting in
/// the region what is sent.
pub(crate) async fn send<I>(io: &mut Buffered<I>, region: &FileRegion) -> io::Result<Sent>
where
    I: AsyncRead + AsyncWrite + Unpin + Any,
{
    poll_fn(|cx| io.poll_flush(cx)).await?;
    let Some(socket) = socket(&mut io.io) else {
        return Ok(Sent::Unsupported);
    };
    let mut offset = region.offset();
    // Past the largest offset: no file holds it; the body says so.
    let Some(end) = offset.checked_add(region.len()) else {
        return Ok(Sent::Unsupported);
    };
    while offset < end {
        let count = (end - offset).min(MAX_CALL) as usize;
        let sent = poll_fn(|cx| socket.poll_sendfile(cx, region, &mut offset, count)).await;
        let n = match sent {
            Ok(n) => n,
            Err(err) if offset == region.offset() && unsupported(&err) => {
                return Ok(Sent::Unsupported);
            }
            Err(err) => return Err(err),
        };
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file is shorter than the region being sent",
            ));
        }
        region.add_sent(n as u64);
        // A whole call lets the other connections have a turn. A short
        // one filled the socket's buffer: the next call finds it full and
        // waits until the kernel says there is room again, instead of
        // trickling in what the client has read meanwhile (four times the
        // calls and wake-ups per download, measured).
        if offset < end && n == count {
            tokio::task::yield_now().await;
        }
    }
    Ok(Sent::All)
}

/// The errors of a `sendfile` that cannot work with this pair of files.
fn unsupported(err: &io::Error) -> bool {
    use rustix::io::Errno;
    matches!(
        Errno::from_io_error(err),
        Some(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP)
    )
}

impl Socket<'_> {
    /// One `sendfile` call once the socket is writable; `offset` advances.
    fn poll_sendfile(
        &self,
        cx: &mut Context<'_>,
        region: &FileRegion,
        offset: &mut u64,
        count: usize,
    ) -> Poll<io::Result<usize>> {
        loop {
            let sent = match self {
                Socket::Tcp(tcp) => {
                    ready!(tcp.poll_write_ready(cx))?;
                    tcp.try_io(Interest::WRITABLE, || call(tcp, region, offset, count))
                }
                Socket::Unix(unix) => {
                    ready!(unix.poll_write_ready(cx))?;
                    unix.try_io(Interest::WRITABLE, || call(unix, region, offset, count))
                }
            };
            match sent {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                result => return Poll::Ready(result),
            }
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn call(
    out: impl std::os::fd::AsFd,
    region: &FileRegion,
    offset: &mut u64,
    count: usize,
) -> io::Result<usize> {
    Ok(rustix::fs::sendfile(
        out,
        region.file(),
        Some(offset),
        count,
    )?)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn call<T>(_: T, _: &FileRegion, _: &mut u64, _: usize) -> io::Result<usize> {
    Err(io::ErrorKind::Unsupported.into())
}
