//! How a stack is set up: addresses, sizes, timeouts.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use crate::error::Error;

/// An address with its prefix length: `10.0.0.2/24`, `fd00::2/64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// `addr/prefix`; fails when the prefix is longer than the address.
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Cidr, Error> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(Error::config(format!(
                "prefix /{prefix} is longer than the {max} bits of {addr}"
            )));
        }
        Ok(Cidr { addr, prefix })
    }

    /// The address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for Cidr {
    type Err = Error;

    fn from_str(text: &str) -> Result<Cidr, Error> {
        let bad = || {
            Error::config(format!(
                "`{text}` is not ADDRESS/PREFIX (10.0.0.2/24, fd00::2/64)"
            ))
        };
        let (addr, prefix) = text.split_once('/').ok_or_else(bad)?;
        let addr = addr.parse().map_err(|_| bad())?;
        let prefix = prefix.parse().map_err(|_| bad())?;
        Cidr::new(addr, prefix)
    }
}

/// The default size of each TCP socket's receive and send buffers.
pub const DEFAULT_BUFFER: usize = 256 * 1024;
/// The default number of connections a listener queues before accepting.
pub const DEFAULT_BACKLOG: usize = 128;
/// The default limit on connecting, and on a peer completing a handshake.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A stack's configuration.
///
/// Nothing is on by default but IPv6 link-local NDP and ICMP echo: give
/// addresses ([`address`](Config::address)), gateways and DNS servers, or
/// ask for [`dhcp`](Config::dhcp).
///
/// | setting | default |
/// |---|---|
/// | MAC address | random, locally administered |
/// | TCP receive and send buffers | 256 KiB each ([`DEFAULT_BUFFER`]) |
/// | listener backlog | 128 ([`DEFAULT_BACKLOG`]) |
/// | connect and handshake timeout | 10 s ([`DEFAULT_CONNECT_TIMEOUT`]) |
/// | Nagle's algorithm | off (as `TCP_NODELAY`) |
/// | keepalive | off |
///
/// ```
/// use tcpip::Config;
///
/// let config = Config::new()
///     .address("10.0.0.2/24".parse()?)
///     .gateway("10.0.0.1".parse().expect("an IP literal"))
///     .dns_server("10.0.0.1".parse().expect("an IP literal"))
///     .backlog(32);
/// # let _ = config;
/// # Ok::<(), tcpip::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) mac: Option<[u8; 6]>,
    pub(crate) addresses: Vec<Cidr>,
    pub(crate) gateways: Vec<IpAddr>,
    pub(crate) dns_servers: Vec<IpAddr>,
    pub(crate) dhcp: bool,
    pub(crate) rx_buffer: usize,
    pub(crate) tx_buffer: usize,
    pub(crate) backlog: usize,
    pub(crate) connect_timeout: Duration,
    pub(crate) nagle: bool,
    pub(crate) keepalive: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mac: None,
            addresses: Vec::new(),
            gateways: Vec::new(),
            dns_servers: Vec::new(),
            dhcp: false,
            rx_buffer: DEFAULT_BUFFER,
            tx_buffer: DEFAULT_BUFFER,
            backlog: DEFAULT_BACKLOG,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            nagle: false,
            keepalive: None,
        }
    }
}

impl Config {
    /// The defaults: no address.
    pub fn new() -> Config {
        Config::default()
    }

    /// The Ethernet address (default: random, locally administered).
    pub fn mac(mut self, mac: [u8; 6]) -> Config {
        self.mac = Some(mac);
        self
    }

    /// Adds a static address, IPv4 or IPv6 (at most four in all).
    pub fn address(mut self, cidr: Cidr) -> Config {
        self.addresses.push(cidr);
        self
    }

    /// The default gateway of the address's family (one per family).
    pub fn gateway(mut self, gateway: IpAddr) -> Config {
        self.gateways.retain(|g| g.is_ipv4() != gateway.is_ipv4());
        self.gateways.push(gateway);
        self
    }

    /// Adds a DNS server for [`Stack::lookup`](crate::Stack::lookup) (at
    /// most four; DHCP adds the ones it is given).
    pub fn dns_server(mut self, server: IpAddr) -> Config {
        self.dns_servers.push(server);
        self
    }

    /// Gets an IPv4 address, gateway and DNS servers by DHCP (default: no).
    pub fn dhcp(mut self, dhcp: bool) -> Config {
        self.dhcp = dhcp;
        self
    }

    /// The receive and send buffer of each TCP socket, in bytes (default
    /// 256 KiB each). The receive buffer bounds the window offered to the
    /// peer; memory is taken as the buffers fill.
    pub fn tcp_buffers(mut self, rx: usize, tx: usize) -> Config {
        self.rx_buffer = rx.max(1024);
        self.tx_buffer = tx.max(1024);
        self
    }

    /// How many connections a listener holds, in handshake or waiting to be
    /// accepted, before it ignores new SYNs (which the peer then repeats),
    /// unless [`Stack::listen_with_backlog`](crate::Stack::listen_with_backlog)
    /// says otherwise (default 128).
    pub fn backlog(mut self, backlog: usize) -> Config {
        self.backlog = backlog.max(1);
        self
    }

    /// How long a connection attempt, and a peer's handshake with a
    /// listener, may take (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Config {
        self.connect_timeout = timeout;
        self
    }

    /// Nagle's algorithm on new sockets (default off, as `TCP_NODELAY`).
    pub fn nagle(mut self, nagle: bool) -> Config {
        self.nagle = nagle;
        self
    }

    /// Keepalive probes after this long without traffic (default off).
    pub fn keepalive(mut self, idle: Option<Duration>) -> Config {
        self.keepalive = idle;
        self
    }
}
