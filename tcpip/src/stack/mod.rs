//! The stack: one smoltcp interface, its sockets, and the task that drives
//! them.
//!
//! # Organization
//! - [`Stack`] (here): the handle, [`Stack::new`], addresses.
//! - `core.rs`: what the lock guards: interface, sockets, listeners' queues,
//!   connections closing after their stream was dropped.
//! - `driver.rs`: the task moving frames between the link and smoltcp.
//! - `device.rs`: smoltcp's view of the link; spotting SYNs.
//! - `dhcp.rs`: applying what DHCP gives.

mod core;
mod device;
mod dhcp;
mod driver;

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::task::AtomicWaker;
use smoltcp::iface::{self, Interface, SocketSet};
use smoltcp::socket::{dhcpv4, dns};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr};
use tokio::sync::watch;

pub(crate) use self::core::Core;
use self::device::Frames;
use self::driver::Driver;
use crate::config::{Cidr, Config};
use crate::error::Error;
use crate::link::{Link, Medium};
use crate::rng::Rng;

/// A user-space TCP/IP stack on a [`Link`], with its own addresses.
///
/// `Stack::new` sets the interface up and spawns the one task that drives
/// it: it moves frames between the link and smoltcp, runs timers, answers
/// ARP, NDP and ICMP echo, and runs DHCP when asked. Connections
/// ([`connect`](Stack::connect)), listeners ([`listen`](Stack::listen)) and
/// lookups ([`lookup`](Stack::lookup)) go through cheap clones of this
/// handle. The task ends when the last handle, stream and listener is
/// dropped.
///
/// ```
/// use tcpip::{Config, Stack};
/// use tcpip::link::{MemLink, MemLinkConfig};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (a, b) = MemLink::pair(MemLinkConfig::default());
/// let server = Stack::new(b, Config::new().address("10.0.0.2/24".parse()?))?;
/// let client = Stack::new(a, Config::new().address("10.0.0.1/24".parse()?))?;
///
/// let mut listener = server.listen("10.0.0.2:7".parse()?)?;
/// tokio::spawn(async move {
///     let (mut stream, _peer) = listener.accept().await?;
///     let mut buf = [0; 5];
///     stream.read_exact(&mut buf).await?;
///     stream.write_all(&buf).await?;
///     Ok::<_, std::io::Error>(())
/// });
/// let mut stream = client.connect("10.0.0.2:7".parse()?).await?;
/// stream.write_all(b"hello").await?;
/// let mut echo = [0; 5];
/// stream.read_exact(&mut echo).await?;
/// assert_eq!(&echo, b"hello");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Stack {
    pub(crate) shared: Arc<Shared>,
    _alive: Arc<Alive>,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("addresses", &*self.shared.addresses.borrow())
            .finish_non_exhaustive()
    }
}

/// What the handles, streams and the driver share.
pub(crate) struct Shared {
    core: Mutex<Core>,
    driver: AtomicWaker,
    stopped: AtomicBool,
    epoch: tokio::time::Instant,
    pub(crate) addresses: watch::Sender<Vec<Cidr>>,
    pub(crate) medium: Medium,
}

/// Stops the driver when the last handle goes.
struct Alive(Arc<Shared>);

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.stopped.store(true, Ordering::Release);
        self.0.kick();
    }
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Core> {
        // Every step leaves the sockets consistent: a panic elsewhere while
        // holding the lock does not make them unusable.
        self.core
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Wakes the driver: a socket has something to send, or room to receive.
    pub(crate) fn kick(&self) {
        self.driver.wake();
    }

    pub(crate) fn now(&self) -> Instant {
        let micros = self.epoch.elapsed().as_micros();
        Instant::from_micros(i64::try_from(micros).unwrap_or(i64::MAX))
    }
}

impl Stack {
    /// Sets up a stack on `link` and spawns its driver task.
    ///
    /// Fails when the configuration does not fit the stack: more than four
    /// addresses, a gateway outside every address's family, a MAC address
    /// that is not unicast.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime.
    pub fn new(link: impl Link, config: Config) -> Result<Stack, Error> {
        let caps = link.caps();
        let mut frames = Frames::new(caps);
        let mut rng = Rng::new(Rng::entropy());
        let hardware = match caps.medium {
            Medium::Ethernet => HardwareAddress::Ethernet(ethernet(&config, &mut rng)?),
            Medium::Ip => HardwareAddress::Ip,
        };
        let mut iface_config = iface::Config::new(hardware);
        iface_config.random_seed = rng.next_u64();
        let epoch = tokio::time::Instant::now();
        let mut iface = Interface::new(iface_config, &mut frames, Instant::from_micros(0));
        configure(&mut iface, &config)?;
        let mut sockets = SocketSet::new(Vec::new());
        let dhcp = (config.dhcp && caps.medium == Medium::Ethernet)
            .then(|| sockets.add(dhcpv4::Socket::new()));
        let servers: Vec<IpAddress> = config.dns_servers.iter().map(|ip| (*ip).into()).collect();
        let dns = sockets.add(dns::Socket::new(&servers, Vec::new()));
        let addresses = iface.ip_addrs().iter().map(cidr_of).collect();
        let core = Core::new(iface, sockets, dhcp, dns, config);
        let shared = Arc::new(Shared {
            core: Mutex::new(core),
            driver: AtomicWaker::new(),
            stopped: AtomicBool::new(false),
            epoch,
            addresses: watch::Sender::new(addresses),
            medium: caps.medium,
        });
        tokio::spawn(Driver::new(shared.clone(), link, frames));
        Ok(Stack {
            _alive: Arc::new(Alive(shared.clone())),
            shared,
        })
    }

    /// The stack's addresses now (DHCP may change them).
    pub fn addresses(&self) -> Vec<Cidr> {
        self.shared.addresses.borrow().clone()
    }

    /// The first IPv4 address, waiting for DHCP to give one if need be.
    pub async fn ipv4(&self) -> std::net::Ipv4Addr {
        let mut watch = self.shared.addresses.subscribe();
        loop {
            let found = watch
                .borrow_and_update()
                .iter()
                .find_map(|c| match c.addr() {
                    IpAddr::V4(v4) => Some(v4),
                    IpAddr::V6(_) => None,
                });
            if let Some(v4) = found {
                return v4;
            }
            if watch.changed().await.is_err() {
                // The sender lives in `shared`, which this handle keeps alive.
                std::future::pending::<()>().await;
            }
        }
    }

    /// The Ethernet address, on an Ethernet link.
    pub fn mac(&self) -> Option<[u8; 6]> {
        match self.shared.lock().iface.hardware_addr() {
            HardwareAddress::Ethernet(mac) => Some(mac.0),
            _ => None,
        }
    }
}

fn ethernet(config: &Config, rng: &mut Rng) -> Result<EthernetAddress, Error> {
    let mac = match config.mac {
        Some(mac) => EthernetAddress(mac),
        None => {
            let bytes = rng.next_u64().to_be_bytes();
            // Locally administered, unicast.
            let first = (bytes[0] & 0xfe) | 0x02;
            EthernetAddress([first, bytes[1], bytes[2], bytes[3], bytes[4], bytes[5]])
        }
    };
    if !mac.is_unicast() {
        return Err(Error::config(format!("MAC address {mac} is not unicast")));
    }
    Ok(mac)
}

fn configure(iface: &mut Interface, config: &Config) -> Result<(), Error> {
    if config.addresses.len() > 4 {
        return Err(Error::config("a stack takes at most four addresses"));
    }
    iface.update_ip_addrs(|addrs| {
        for cidr in &config.addresses {
            let cidr = IpCidr::new(cidr.addr().into(), cidr.prefix());
            // The length was checked above against the same capacity.
            let _ = addrs.push(cidr);
        }
    });
    for gateway in &config.gateways {
        let added = match gateway {
            IpAddr::V4(v4) => iface.routes_mut().add_default_ipv4_route(*v4).map(drop),
            IpAddr::V6(v6) => iface.routes_mut().add_default_ipv6_route(*v6).map(drop),
        };
        if added.is_err() {
            return Err(Error::config(format!(
                "cannot add the route to gateway {gateway}"
            )));
        }
    }
    Ok(())
}

pub(crate) fn cidr_of(cidr: &IpCidr) -> Cidr {
    Cidr::new(cidr.address().into(), cidr.prefix_len())
        .expect("smoltcp's prefix lengths fit their addresses")
}
