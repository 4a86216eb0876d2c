//! Links: what carries the stack's frames.
//!
//! A [`Link`] sends and receives whole frames (Ethernet frames, or bare IP
//! packets for a [`Medium::Ip`] device). The stack's driver task is its
//! only user: it polls for received frames and pushes frames to send.
//!
//! # Organization
//! - [`Link`], [`Medium`], [`LinkCaps`]: the trait and what a link tells
//!   about itself.
//! - [`MemLink`] (`mem.rs`): two links joined in memory, with optional loss,
//!   delay, reordering and MTU ([`MemLinkConfig`]).
//! - [`TapLink`] (`tap.rs`, feature `tap`, Linux): a TAP device.
//! - [`Capture`] (`pcap.rs`): any link, with every frame written to a pcap
//!   file that Wireshark and tcpdump read.

use std::io;
use std::task::{Context, Poll};

mod mem;
mod pcap;
#[cfg(all(feature = "tap", target_os = "linux"))]
mod tap;

pub use mem::{MemLink, MemLinkConfig};
pub use pcap::Capture;
#[cfg(all(feature = "tap", target_os = "linux"))]
pub use tap::TapLink;

/// What a link's frames hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Medium {
    /// Ethernet frames: the stack answers ARP and NDP, and has a MAC address.
    Ethernet,
    /// Bare IPv4 and IPv6 packets, as on a TUN device.
    Ip,
}

/// What a link tells the stack about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkCaps {
    /// What the frames hold.
    pub medium: Medium,
    /// The largest IP packet the link carries, in bytes (1500 on Ethernet).
    /// An Ethernet frame is 14 bytes longer.
    pub mtu: usize,
    /// Whether the stack may skip computing and verifying checksums, because
    /// nothing on the link can corrupt a frame (two stacks in one process).
    /// A frame captured from such a link shows wrong checksums.
    pub skip_checksums: bool,
}

impl LinkCaps {
    /// The largest frame, header included.
    pub fn max_frame(&self) -> usize {
        match self.medium {
            Medium::Ethernet => self.mtu + 14,
            Medium::Ip => self.mtu,
        }
    }
}

/// A device that sends and receives frames.
///
/// The stack's driver task owns the link. It calls [`poll_recv`] until it
/// returns `Pending` (which must arrange a wake-up when a frame arrives),
/// and [`poll_ready`] before each [`send`]: `Pending` there is back
/// pressure, and the stack keeps its frames until the link is ready again.
/// An error from either is logged and the link is polled again later: a
/// link that is gone for good should keep returning `Pending`.
///
/// [`poll_recv`]: Link::poll_recv
/// [`poll_ready`]: Link::poll_ready
/// [`send`]: Link::send
pub trait Link: Send + 'static {
    /// The medium, MTU and checksum policy.
    fn caps(&self) -> LinkCaps;

    /// The next received frame.
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Vec<u8>>>;

    /// Whether [`send`](Link::send) can take a frame now.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Sends one frame; called after [`poll_ready`](Link::poll_ready) said
    /// ready.
    fn send(&mut self, frame: Vec<u8>) -> io::Result<()>;
}

impl<L: Link + ?Sized> Link for Box<L> {
    fn caps(&self) -> LinkCaps {
        (**self).caps()
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Vec<u8>>> {
        (**self).poll_recv(cx)
    }

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        (**self).poll_ready(cx)
    }

    fn send(&mut self, frame: Vec<u8>) -> io::Result<()> {
        (**self).send(frame)
    }
}
