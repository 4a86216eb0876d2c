//! [`FileRegion`]: a response body's bytes as a part of an open file, which
//! an HTTP/1.1 connection on a plain socket sends with `sendfile(2)`.

use std::fmt;
use std::fs::File;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The bytes of a response body, named as `len` bytes of an open file from
/// `offset`: put it in the response's extensions, and an HTTP/1.1
/// connection on a plain TCP or Unix socket (a [`tokio::net::TcpStream`] or
/// [`tokio::net::UnixStream`], or a [`mimic::Flow`] of one) sends them with
/// `sendfile(2)`, which copies from the page cache to the socket without
/// passing through user space. The body is then dropped without being
/// polled, once the region is sent (or sending failed).
///
/// The body must still produce the very same bytes: it is what is sent
/// everywhere else (over TLS, on HTTP/2, when the request's body is still
/// being read, when the framing is not the region's exact length, off
/// Linux, and when the file system cannot be sent from). A file that turns
/// out shorter than the region ends the connection, as a body shorter than
/// its `content-length` does.
///
/// A file that is not in the page cache is read by the kernel during the
/// call, on the connection's thread, at most 2 MiB at a time; bodies that
/// must never wait for a disk are better sent as bodies that read on a
/// blocking pool. As with any write, sending to a client that has gone
/// raises `SIGPIPE`, which Rust programs ignore unless told otherwise.
///
/// ```
/// use std::sync::Arc;
/// use http::Response;
/// use paf::Body;
/// use paf::body::FileRegion;
///
/// # fn main() -> std::io::Result<()> {
/// # let path = std::env::temp_dir().join(format!("paf-region-doc-{}", std::process::id()));
/// # std::fs::write(&path, b"hello")?;
/// let file = Arc::new(std::fs::File::open(&path)?);
/// let len = file.metadata()?.len();
/// let mut res = Response::new(Body::full(std::fs::read(&path)?));
/// res.extensions_mut().insert(FileRegion::new(file, 0, len));
/// # std::fs::remove_file(&path)?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct FileRegion {
    file: Arc<File>,
    offset: u64,
    len: u64,
    sent: Arc<AtomicU64>,
}

impl FileRegion {
    /// `len` bytes of `file` from `offset`.
    pub fn new(file: Arc<File>, offset: u64, len: u64) -> FileRegion {
        FileRegion {
            file,
            offset,
            len,
            sent: Arc::default(),
        }
    }

    /// The file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Where the bytes start in the file.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// How many bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the region is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many of its bytes the connection sent with `sendfile(2)` so far,
    /// seen by every clone: 0 when the body was sent instead. For access
    /// logs, which count the body's bytes otherwise.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Records `n` more bytes sent.
    pub(crate) fn add_sent(&self, n: u64) {
        self.sent.fetch_add(n, Ordering::Relaxed);
    }
}

impl fmt::Debug for FileRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileRegion")
            .field("offset", &self.offset)
            .field("len", &self.len)
            .field("sent", &self.sent())
            .finish()
    }
}
