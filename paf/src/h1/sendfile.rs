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
///
/// A TCP socket is corked meanwhile, as nginx's `tcp_nopush` does: the head
/// leaves with the file's first bytes, and each call's last, partial
/// segment waits for the next call's instead of leaving alone (with
/// `TCP_NODELAY`, it would). On loopback, a server pinned to one CPU
/// served 1.18x the 64 MiB downloads per second (median of 8 rounds). The
/// cork comes off whatever happens, before this returns.
pub(crate) async fn send<I>(io: &mut Buffered<I>, region: &FileRegion) -> io::Result<Sent>
where
    I: AsyncRead + AsyncWrite + Unpin + Any,
{
    let corked = cork(&mut io.io, true).is_ok_and(|tcp| tcp);
    let sent = flush_and_send(io, region).await;
    if corked {
        // Still corked, the end of the body could wait up to 200 ms: a
        // failure here fails the response, unless it failed already.
        let uncorked = cork(&mut io.io, false);
        if sent.is_ok() {
            uncorked?;
        }
    }
    sent
}

/// Sets `TCP_CORK` on `io` if it is a TCP socket: whether it is one.
fn cork<I: Any>(io: &mut I, on: bool) -> io::Result<bool> {
    match socket(io) {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        Some(Socket::Tcp(tcp)) => {
            rustix::net::sockopt::set_tcp_cork(tcp, on)?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// [`send`]'s work, between the cork and its removal.
async fn flush_and_send<I>(io: &mut Buffered<I>, region: &FileRegion) -> io::Result<Sent>
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

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;
    use tokio::io::AsyncReadExt as _;
    use tokio::net::TcpListener;

    use super::*;

    #[tokio::test]
    async fn the_head_and_region_arrive_and_the_socket_is_uncorked() -> io::Result<()> {
        let dir = testkit::TempDir::new("sendfile-cork");
        let path = dir.path().join("file");
        let contents: Vec<u8> = (0..3 * MAX_CALL + 5).map(|i| i as u8).collect();
        std::fs::write(&path, &contents)?;
        let region = FileRegion::new(Arc::new(std::fs::File::open(&path)?), 5, 3 * MAX_CALL);

        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let mut client = TcpStream::connect(listener.local_addr()?).await?;
        let (server, _) = listener.accept().await?;
        server.set_nodelay(true)?;
        let mut io = Buffered::new(server);
        io.write_buf.push(Bytes::from_static(b"head"));
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            client.read_to_end(&mut got).await.map(|_| got)
        });

        assert!(matches!(send(&mut io, &region).await?, Sent::All));
        assert!(!rustix::net::sockopt::tcp_cork(&io.io)?, "still corked");
        assert_eq!(region.sent(), 3 * MAX_CALL);
        drop(io);
        let got = reader.await.map_err(io::Error::other)??;
        assert_eq!(&got[..4], b"head");
        assert!(got[4..] == contents[5..], "the region's bytes");
        Ok(())
    }
}
