//! Capture of every frame to a pcap file.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use super::{Link, LinkCaps, Medium};

/// A link whose every frame, sent or received, is also written to a pcap
/// file (the classic format, microsecond timestamps), which Wireshark and
/// `tcpdump -r` read.
///
/// Writes are buffered and flushed whenever the link has nothing more to
/// receive, and when the capture is dropped. Capturing costs a copy and a
/// write per frame: it is for debugging, not for benchmarks.
///
/// ```no_run
/// use tcpip::link::{Capture, MemLink, MemLinkConfig};
///
/// # fn run() -> std::io::Result<()> {
/// let (a, _b) = MemLink::pair(MemLinkConfig::default());
/// let a = Capture::new(a, "/tmp/a.pcap")?;
/// # let _ = a; Ok(()) }
/// ```
#[derive(Debug)]
pub struct Capture<L> {
    link: L,
    file: BufWriter<File>,
}

impl<L: Link> Capture<L> {
    /// Captures `link`'s frames to a new file at `path` (replacing one that
    /// is there).
    pub fn new(link: L, path: impl AsRef<Path>) -> io::Result<Capture<L>> {
        let mut file = BufWriter::new(File::create(path)?);
        let linktype: u32 = match link.caps().medium {
            Medium::Ethernet => 1,
            // LINKTYPE_RAW: IPv4 or IPv6, told by the version nibble.
            Medium::Ip => 101,
        };
        file.write_all(&0xa1b2_c3d4_u32.to_le_bytes())?;
        file.write_all(&2u16.to_le_bytes())?;
        file.write_all(&4u16.to_le_bytes())?;
        file.write_all(&0i32.to_le_bytes())?;
        file.write_all(&0u32.to_le_bytes())?;
        file.write_all(&65535u32.to_le_bytes())?;
        file.write_all(&linktype.to_le_bytes())?;
        file.flush()?;
        Ok(Capture { link, file })
    }

    /// The captured link.
    pub fn get_ref(&self) -> &L {
        &self.link
    }

    fn record(&mut self, frame: &[u8]) {
        if let Err(err) = write_record(&mut self.file, frame) {
            tracing::warn!("tcpip: cannot write to the capture file: {err}");
        }
    }
}

fn write_record(file: &mut impl Write, frame: &[u8]) -> io::Result<()> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
    let secs = u32::try_from(now.as_secs()).unwrap_or(u32::MAX);
    file.write_all(&secs.to_le_bytes())?;
    file.write_all(&now.subsec_micros().to_le_bytes())?;
    file.write_all(&len.to_le_bytes())?;
    file.write_all(&len.to_le_bytes())?;
    file.write_all(frame)
}

impl<L: Link> Link for Capture<L> {
    fn caps(&self) -> LinkCaps {
        self.link.caps()
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Vec<u8>>> {
        match self.link.poll_recv(cx) {
            Poll::Ready(Ok(frame)) => {
                self.record(&frame);
                Poll::Ready(Ok(frame))
            }
            Poll::Pending => {
                if let Err(err) = self.file.flush() {
                    tracing::warn!("tcpip: cannot write to the capture file: {err}");
                }
                Poll::Pending
            }
            other => other,
        }
    }

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.link.poll_ready(cx)
    }

    fn send(&mut self, frame: Vec<u8>) -> io::Result<()> {
        self.record(&frame);
        self.link.send(frame)
    }
}
