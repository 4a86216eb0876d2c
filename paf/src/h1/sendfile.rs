//! Sending a response body named by a [`FileRegion`] with `sendfile(2)`,
//! when the connection is a plain TCP or Unix socket.

use std::any::Any;
use std::future::poll_fn;
use std::io;
use std::os::fd::AsFd;
use std::task::{Context, Poll, ready};

use mimic::Flow;
use tokio::io::{AsyncRead, AsyncWrite, Interest};
use tokio::net::{TcpStream, UnixStream};

use super::io::Buffered;
use crate::body::FileRegion;

/// The most one call sends: the kernel's own cap, which keeps a large file
/// from holding the thread in one call.
const MAX_CALL: u64 = 0x7fff_f000;

/// A socket `sendfile(2)` can write to.
enum Socket<'a> {
    Tcp(&'a TcpStream),
    Unix(&'a UnixStream),
}

/// The plain socket under `io`, if it is a [`Flow`] of one.
fn socket<I: Any>(io: &mut I) -> Option<Socket<'_>> {
    let flow = (io as &mut dyn Any).downcast_mut::<Flow>()?;
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
pub(crate) async fn send<I>(io: &mut Buffered<I>, region: &FileRegion) -> io::Result<()>
where
    I: AsyncRead + AsyncWrite + Unpin + Any,
{
    poll_fn(|cx| io.poll_flush(cx)).await?;
    let Some(socket) = socket(&mut io.io) else {
        return Err(io::Error::other(
            "sendfile needs a plain TCP or Unix socket",
        ));
    };
    let mut offset = region.offset();
    let end = offset.saturating_add(region.len());
    poll_fn(|cx| {
        while offset < end {
            let count = (end - offset).min(MAX_CALL) as usize;
            let n = ready!(socket.poll_sendfile(cx, region, &mut offset, count))?;
            if n == 0 {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the file is shorter than the region being sent",
                )));
            }
            region.add_sent(n as u64);
        }
        Poll::Ready(Ok(()))
    })
    .await
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

fn call(out: impl AsFd, region: &FileRegion, offset: &mut u64, count: usize) -> io::Result<usize> {
    Ok(rustix::fs::sendfile(
        out,
        region.file(),
        Some(offset),
        count,
    )?)
}
