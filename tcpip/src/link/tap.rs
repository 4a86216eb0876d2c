//! TAP devices (Linux), through tokio-tun.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tun::Tun;

use super::{Link, LinkCaps, Medium};
use crate::error::Error;

/// A TAP device: Ethernet frames to and from the kernel.
///
/// [`TapLink::open`] attaches to the device of that name, creating it when
/// there is none (which needs `CAP_NET_ADMIN` and `/dev/net/tun`), and sets
/// it up. The kernel side of the device is a network interface like any
/// other: give it an address (`ip addr add 10.0.0.1/24 dev tap0`) and the
/// stack's own address is reachable from the host.
///
/// Available with the `tap` feature, on Linux.
#[derive(Debug)]
pub struct TapLink {
    tun: TunDebug,
    mtu: usize,
    read_buf: Vec<u8>,
    /// A frame the device could not take yet.
    pending: Option<Vec<u8>>,
}

/// tokio-tun's device, which has no `Debug`.
struct TunDebug(Tun);

impl std::fmt::Debug for TunDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Tun").field(&self.0.name()).finish()
    }
}

impl TapLink {
    /// Opens (or creates) the TAP device `name` with a 1500-byte MTU.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime with IO enabled.
    pub fn open(name: &str) -> Result<TapLink, Error> {
        TapLink::open_with_mtu(name, 1500)
    }

    /// Opens (or creates) the TAP device `name` and sets its MTU.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime with IO enabled.
    pub fn open_with_mtu(name: &str, mtu: usize) -> Result<TapLink, Error> {
        let fail = |source: Box<dyn std::error::Error + Send + Sync>| Error::link(name, source);
        let mtu_arg = i32::try_from(mtu).map_err(|e| fail(e.into()))?;
        let mut tuns = Tun::builder()
            .name(name)
            .tap()
            .mtu(mtu_arg)
            .up()
            .build()
            .map_err(|e| fail(e.into()))?;
        let tun = tuns
            .pop()
            .ok_or_else(|| fail("tokio-tun gave no queue".into()))?;
        Ok(TapLink {
            tun: TunDebug(tun),
            mtu,
            read_buf: vec![0; mtu + 14],
            pending: None,
        })
    }

    /// The device's name.
    pub fn name(&self) -> &str {
        self.tun.0.name()
    }
}

impl Link for TapLink {
    fn caps(&self) -> LinkCaps {
        LinkCaps {
            medium: Medium::Ethernet,
            mtu: self.mtu,
            skip_checksums: false,
        }
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Vec<u8>>> {
        let mut buf = ReadBuf::new(&mut self.read_buf);
        match Pin::new(&mut self.tun.0).poll_read(cx, &mut buf) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(buf.filled().to_vec())),
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(frame) = &self.pending else {
            return Poll::Ready(Ok(()));
        };
        match Pin::new(&mut self.tun.0).poll_write(cx, frame) {
            Poll::Ready(result) => {
                self.pending = None;
                Poll::Ready(result.map(drop))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn send(&mut self, frame: Vec<u8>) -> io::Result<()> {
        match self.tun.0.try_send(&frame) {
            Ok(_) => Ok(()),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                self.pending = Some(frame);
                Ok(())
            }
            Err(err) => Err(err),
        }
    }
}
