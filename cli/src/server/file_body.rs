//! [`FileBody`]: parts of a file, and bytes between them, read from disk
//! (or memory) as the connection asks for them.
//!
//! Each chunk is read with a positioned read only when the connection polls
//! for the next one, so memory stays at about one chunk per response
//! whatever the file's size, and a slow client slows the reads down rather
//! than filling buffers. The read is first tried on the connection's thread
//! with `RWF_NOWAIT`, which the kernel answers only from the page cache; a
//! chunk that would wait for the disk is read on the blocking pool.

use std::collections::VecDeque;
use std::fs::File;
use std::future::Future;
use std::io;
use std::os::unix::fs::FileExt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio::task::JoinHandle;

/// How much is read from the file at a time: large enough that a big file
/// costs few wake-ups, small enough for one per connection.
pub(crate) const CHUNK: u64 = 256 * 1024;

/// Where a body's file parts are read from.
#[derive(Clone, Debug)]
pub(crate) enum Source {
    /// An open file.
    File(Arc<File>),
    /// The whole file, in memory.
    Memory(Bytes),
}

/// A piece of the body.
#[derive(Debug)]
pub(crate) enum Part {
    /// Bytes in memory (the headers of a `multipart/byteranges` part).
    Bytes(Bytes),
    /// `len` bytes of the file from `offset`.
    File {
        /// Where the bytes start.
        offset: u64,
        /// How many.
        len: u64,
    },
}

/// A response body made of file ranges and in-memory bytes, with an exact
/// length.
///
/// A file that shrinks while being sent ends the body with an error (the
/// connection is then closed, since the promised length cannot be kept).
#[derive(Debug)]
pub(crate) struct FileBody {
    source: Source,
    parts: VecDeque<Part>,
    remaining: u64,
    reading: Option<JoinHandle<io::Result<Bytes>>>,
}

impl FileBody {
    /// A body made of `parts`, in order.
    pub(crate) fn new(source: Source, parts: impl IntoIterator<Item = Part>) -> FileBody {
        let parts: VecDeque<Part> = parts.into_iter().collect();
        let remaining = parts
            .iter()
            .map(|part| match part {
                Part::Bytes(bytes) => bytes.len() as u64,
                Part::File { len, .. } => *len,
            })
            .sum();
        FileBody {
            source,
            parts,
            remaining,
            reading: None,
        }
    }
}

impl HttpBody for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        loop {
            if let Some(reading) = &mut this.reading {
                let read = ready!(Pin::new(reading).poll(cx));
                this.reading = None;
                let data = match read {
                    Ok(Ok(data)) => data,
                    Ok(Err(err)) => return Poll::Ready(Some(Err(err))),
                    Err(join) => return Poll::Ready(Some(Err(io::Error::other(join)))),
                };
                this.remaining = this.remaining.saturating_sub(data.len() as u64);
                return Poll::Ready(Some(Ok(Frame::data(data))));
            }
            match this.parts.pop_front() {
                None => return Poll::Ready(None),
                Some(Part::Bytes(data)) => {
                    this.remaining = this.remaining.saturating_sub(data.len() as u64);
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Some(Part::File { offset, len }) => {
                    let n = len.min(CHUNK);
                    if n == 0 {
                        continue;
                    }
                    let file = match &this.source {
                        Source::Memory(contents) => {
                            let data = slice(contents, offset, len);
                            this.remaining = this.remaining.saturating_sub(len);
                            return Poll::Ready(Some(data.map(Frame::data)));
                        }
                        Source::File(file) => file.clone(),
                    };
                    let buf = match read_now(&file, offset, n) {
                        Ok(data) => {
                            let read = data.len() as u64;
                            if len > read {
                                this.parts.push_front(Part::File {
                                    offset: offset + read,
                                    len: len - read,
                                });
                            }
                            this.remaining = this.remaining.saturating_sub(read);
                            return Poll::Ready(Some(Ok(Frame::data(data))));
                        }
                        Err(buf) => buf,
                    };
                    if len > n {
                        this.parts.push_front(Part::File {
                            offset: offset + n,
                            len: len - n,
                        });
                    }
                    this.reading = Some(tokio::task::spawn_blocking(move || {
                        fill_at(&file, offset, buf)
                    }));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0 && self.reading.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

/// `len` bytes of `contents` from `offset`, all at once: they are in
/// memory already.
fn slice(contents: &Bytes, offset: u64, len: u64) -> io::Result<Bytes> {
    let start = usize::try_from(offset).unwrap_or(usize::MAX);
    let end = usize::try_from(offset.saturating_add(len)).unwrap_or(usize::MAX);
    if end > contents.len() {
        return Err(shrank());
    }
    Ok(contents.slice(start..end))
}

/// Up to `len` bytes (at most [`CHUNK`]) from `offset` if the page cache
/// has them, without waiting for the disk; else the buffer, for the read
/// that waits (the read would wait, or the kernel or file system cannot
/// tell, or the file ended: the blocking read tells that apart).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn read_now(file: &File, offset: u64, len: u64) -> Result<Bytes, Vec<u8>> {
    let mut buf = vec![0; len as usize];
    let flags = rustix::io::ReadWriteFlags::NOWAIT;
    loop {
        match rustix::io::preadv2(file, &mut [io::IoSliceMut::new(&mut buf)], offset, flags) {
            Ok(0) => return Err(buf),
            Ok(n) => {
                buf.truncate(n);
                return Ok(Bytes::from(buf));
            }
            Err(rustix::io::Errno::INTR) => {}
            // EAGAIN: not all in memory; EOPNOTSUPP and EINVAL: no
            // `RWF_NOWAIT` here.
            Err(_) => return Err(buf),
        }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn read_now(_: &File, _: u64, len: u64) -> Result<Bytes, Vec<u8>> {
    Err(vec![0; len as usize])
}

fn shrank() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the file shrank while being sent",
    )
}

/// Exactly `len` bytes from `offset`: at most [`CHUNK`], or a file the
/// cache may keep.
pub(crate) fn read_exact_at(file: &File, offset: u64, len: u64) -> io::Result<Bytes> {
    // `len` is at most CHUNK or the cache's largest file: it fits any usize.
    fill_at(file, offset, vec![0; len as usize])
}

/// `buf` filled from `offset`: all of it, or an error.
fn fill_at(file: &File, offset: u64, mut buf: Vec<u8>) -> io::Result<Bytes> {
    match file.read_exact_at(&mut buf, offset) {
        Ok(()) => Ok(Bytes::from(buf)),
        Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => Err(shrank()),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn collect(mut body: FileBody) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
        {
            if let Ok(data) = frame?.into_data() {
                out.extend_from_slice(&data);
            }
        }
        assert!(body.is_end_stream());
        Ok(out)
    }

    #[tokio::test]
    async fn sends_ranges_and_bytes_in_order() {
        let path = std::env::temp_dir().join(format!("paf-cli-file-body-{}", std::process::id()));
        let content: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &content).expect("write a temp file");
        let open = || Source::File(Arc::new(File::open(&path).expect("open the temp file")));

        let whole = FileBody::new(
            open(),
            [Part::File {
                offset: 0,
                len: content.len() as u64,
            }],
        );
        assert_eq!(whole.size_hint().exact(), Some(300_000));
        assert_eq!(collect(whole).await.expect("read"), content);

        let parts = FileBody::new(
            open(),
            [
                Part::Bytes(Bytes::from_static(b"<")),
                Part::File {
                    offset: 10,
                    len: 200_000,
                },
                Part::Bytes(Bytes::from_static(b">")),
                Part::File { offset: 0, len: 0 },
            ],
        );
        assert_eq!(parts.size_hint().exact(), Some(200_002));
        let got = collect(parts).await.expect("read");
        assert_eq!(got[0], b'<');
        assert_eq!(&got[1..200_001], &content[10..200_010]);
        assert_eq!(got[200_001], b'>');

        let past_the_end = FileBody::new(
            open(),
            [Part::File {
                offset: 299_000,
                len: 2_000,
            }],
        );
        let err = collect(past_the_end)
            .await
            .expect_err("the file is shorter");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        let _ = std::fs::remove_file(&path);
    }
}
