//! A user-space TCP/IP stack (smoltcp) under mimic and conduit, so that
//! paf's servers and clients run where the operating system gives no
//! sockets: on a TAP device with the stack's own addresses, or between two
//! stacks in one process.
//!
//! A [`Stack`] owns a [`Link`](link::Link) (a TAP device, an in-memory
//! link, your own) and drives smoltcp on one tokio task: IPv4 and IPv6,
//! static addresses and gateways or DHCPv4, ARP and NDP, ICMP echo
//! answered, DNS. On it:
//!
//! - [`Stack::connect`] and [`TcpStream`]: tokio streams with half-close,
//!   a reset reported as an error, connect and handshake timeouts;
//! - [`Stack::listen`] and [`TcpListener`]: a real backlog, and conduit's
//!   `Listener`, so `conduit::serve` and paf's server run unchanged;
//! - [`protocol`]: mimic's protocol and DNS derivation, so every layer
//!   (TLS, h2 over TLS, paf's client) runs unchanged.
//!
//! ```
//! use tcpip::{Config, Stack};
//! use tcpip::link::{MemLink, MemLinkConfig};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (a, b) = MemLink::pair(MemLinkConfig::default());
//! let server = Stack::new(b, Config::new().address("10.0.0.2/24".parse()?))?;
//! let client = Stack::new(a, Config::new().address("10.0.0.1/24".parse()?))?;
//! let mut listener = server.listen("0.0.0.0:80".parse()?)?;
//! let stream = client.connect("10.0.0.2:80".parse()?).await?;
//! let (_accepted, peer) = listener.accept().await?;
//! assert_eq!(peer, stream.local_addr());
//! # Ok(()) }
//! ```
//!
//! # Organization
//! - [`link`]: the [`Link`](link::Link) trait; [`MemLink`](link::MemLink),
//!   [`TapLink`](link::TapLink) (feature `tap`, Linux),
//!   [`Capture`](link::Capture) to a pcap file.
//! - [`Config`], [`Cidr`]: addresses, sizes, timeouts, with their defaults.
//! - [`Stack`]: the stack and its driver task.
//! - [`TcpStream`], [`TcpListener`]: TCP.
//! - [`Stack::lookup`]: DNS through the stack.
//! - [`protocol`]: mimic's protocol and derivation.
//! - [`Error`]: links, configurations, lookups.
//!
//! The guide is `docs/tcpip.md`.

mod config;
mod dns;
mod error;
pub mod link;
pub mod protocol;
mod rng;
mod stack;
mod tcp;

pub use config::{Cidr, Config, DEFAULT_BACKLOG, DEFAULT_BUFFER, DEFAULT_CONNECT_TIMEOUT};
pub use error::Error;
pub use stack::Stack;
pub use tcp::{TcpListener, TcpStream};
