//! The address of one end of a flow.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The address of one end of a flow.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Addr {
    /// An IP socket address.
    Inet(SocketAddr),
    /// A Unix domain socket path.
    Unix(PathBuf),
    /// The name of an in-memory listener.
    Mem(String),
    /// Anything else, described by its protocol.
    Other(String),
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::Inet(addr) => write!(f, "{addr}"),
            Addr::Unix(path) => write!(f, "unix:{}", path.display()),
            Addr::Mem(name) => write!(f, "mem:{name}"),
            Addr::Other(text) => f.write_str(text),
        }
    }
}

impl From<SocketAddr> for Addr {
    fn from(addr: SocketAddr) -> Self {
        Addr::Inet(addr)
    }
}
