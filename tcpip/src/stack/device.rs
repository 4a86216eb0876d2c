//! smoltcp's view of the link: frames queued by the driver.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use smoltcp::phy::{self, ChecksumCapabilities, DeviceCapabilities};
use smoltcp::time::Instant;

use crate::link::{LinkCaps, Medium};

/// How many queued frames stop the driver from asking smoltcp for more in
/// one step. The device itself never refuses a frame (see `transmit`), so
/// a step may end a few frames past it, one per socket at most.
pub(crate) const TX_QUEUE: usize = 128;

/// Frames between smoltcp and the link: what the driver received and hands
/// to the interface one at a time, and what the interface sent.
pub(crate) struct Frames {
    pub(crate) rx: Option<Vec<u8>>,
    pub(crate) tx: VecDeque<Vec<u8>>,
    caps: DeviceCapabilities,
}

impl Frames {
    pub(crate) fn new(link: LinkCaps) -> Frames {
        let mut caps = DeviceCapabilities::default();
        caps.medium = match link.medium {
            Medium::Ethernet => phy::Medium::Ethernet,
            Medium::Ip => phy::Medium::Ip,
        };
        caps.max_transmission_unit = link.max_frame();
        if link.skip_checksums {
            caps.checksum = ChecksumCapabilities::ignored();
        }
        Frames {
            rx: None,
            tx: VecDeque::with_capacity(TX_QUEUE),
            caps,
        }
    }
}

pub(crate) struct RxToken(Vec<u8>);

pub(crate) struct TxToken<'a>(&'a mut VecDeque<Vec<u8>>);

impl phy::RxToken for RxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = vec![0; len];
        let result = f(&mut frame);
        self.0.push_back(frame);
        result
    }
}

impl phy::Device for Frames {
    type RxToken<'a> = RxToken;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _: Instant) -> Option<(RxToken, TxToken<'_>)> {
        let frame = self.rx.take()?;
        Some((RxToken(frame), TxToken(&mut self.tx)))
    }

    fn transmit(&mut self, _: Instant) -> Option<TxToken<'_>> {
        // Never refused: a TCP socket changes its state while it builds a
        // segment, before it is emitted, and a refusal then loses what it
        // meant to send. A fast retransmit so lost leaves the socket with
        // no timer running and, with a FIN unacknowledged, its keep-alive
        // probe would land on the FIN's place as a byte of data (see
        // `FIN_GUARD`). The driver bounds the queue instead.
        Some(TxToken(&mut self.tx))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.caps.clone()
    }
}

/// A TCP SYN without ACK: a new connection's first segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Syn {
    pub(crate) src: SocketAddr,
    pub(crate) dst: SocketAddr,
}

/// The SYN in `frame`, if it carries one.
pub(crate) fn syn_of(frame: &[u8], medium: Medium) -> Option<Syn> {
    let packet = match medium {
        Medium::Ethernet => {
            let ethertype = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
            match ethertype {
                0x0800 | 0x86dd => frame.get(14..)?,
                _ => return None,
            }
        }
        Medium::Ip => frame,
    };
    let (src, dst, tcp) = match packet.first()? >> 4 {
        4 => {
            let ihl = usize::from(packet[0] & 0x0f) * 4;
            if *packet.get(9)? != 6 || ihl < 20 {
                return None;
            }
            let src: [u8; 4] = packet.get(12..16)?.try_into().ok()?;
            let dst: [u8; 4] = packet.get(16..20)?.try_into().ok()?;
            let src = IpAddr::V4(Ipv4Addr::from(src));
            (src, IpAddr::V4(Ipv4Addr::from(dst)), packet.get(ihl..)?)
        }
        6 => {
            if *packet.get(6)? != 6 {
                return None;
            }
            let src: [u8; 16] = packet.get(8..24)?.try_into().ok()?;
            let dst: [u8; 16] = packet.get(24..40)?.try_into().ok()?;
            let src = IpAddr::V6(Ipv6Addr::from(src));
            (src, IpAddr::V6(Ipv6Addr::from(dst)), packet.get(40..)?)
        }
        _ => return None,
    };
    let flags = *tcp.get(13)?;
    if flags & 0x12 != 0x02 {
        return None;
    }
    let src_port = u16::from_be_bytes([*tcp.first()?, *tcp.get(1)?]);
    let dst_port = u16::from_be_bytes([*tcp.get(2)?, *tcp.get(3)?]);
    Some(Syn {
        src: SocketAddr::new(src, src_port),
        dst: SocketAddr::new(dst, dst_port),
    })
}

#[cfg(test)]
mod tests {
    use phy::{Device, TxToken as _};

    use super::*;

    #[test]
    fn the_device_never_refuses_a_frame() {
        let link = LinkCaps {
            medium: Medium::Ethernet,
            mtu: 1500,
            skip_checksums: false,
        };
        let mut frames = Frames::new(link);
        for _ in 0..TX_QUEUE + 10 {
            let token = frames.transmit(Instant::from_millis(0));
            token
                .expect("a token past the queue's bound")
                .consume(60, |_| ());
        }
        assert_eq!(frames.tx.len(), TX_QUEUE + 10);
    }

    fn ipv4_tcp(flags: u8) -> Vec<u8> {
        let mut frame = vec![0u8; 14 + 20 + 20];
        frame[12..14].copy_from_slice(&[0x08, 0x00]);
        let ip = &mut frame[14..];
        ip[0] = 0x45;
        ip[9] = 6;
        ip[12..16].copy_from_slice(&[10, 0, 0, 1]);
        ip[16..20].copy_from_slice(&[10, 0, 0, 2]);
        let tcp = &mut ip[20..];
        tcp[0..2].copy_from_slice(&40000u16.to_be_bytes());
        tcp[2..4].copy_from_slice(&80u16.to_be_bytes());
        tcp[13] = flags;
        frame
    }

    #[test]
    fn a_syn_is_found_and_a_syn_ack_is_not() {
        let syn = syn_of(&ipv4_tcp(0x02), Medium::Ethernet).expect("a SYN");
        assert_eq!(syn.src, "10.0.0.1:40000".parse().expect("literal"));
        assert_eq!(syn.dst, "10.0.0.2:80".parse().expect("literal"));
        assert_eq!(syn_of(&ipv4_tcp(0x12), Medium::Ethernet), None);
        assert_eq!(syn_of(&ipv4_tcp(0x10), Medium::Ethernet), None);
        assert_eq!(syn_of(&ipv4_tcp(0x02)[..30], Medium::Ethernet), None);
        assert_eq!(
            syn_of(&ipv4_tcp(0x02)[14..], Medium::Ip).map(|s| s.dst.port()),
            Some(80)
        );
    }
}
