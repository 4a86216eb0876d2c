//! Why a listener could not be set up.

use std::fmt;
use std::io;
use std::path::PathBuf;

use mimic::flow::Addr;

/// Why a listener could not be set up.
#[derive(Debug)]
pub(crate) enum Listen {
    /// Creating, configuring or binding the socket failed.
    Bind {
        addr: Addr,
        /// The step that failed, such as `bind` or `listen`.
        step: &'static str,
        source: io::Error,
    },
    /// A live listener already answers on this Unix socket path.
    UnixInUse { path: PathBuf },
    /// The path exists and is not a socket, so it was left alone.
    NotASocket { path: PathBuf },
    /// The permission mode could not be applied to the socket file.
    Permissions {
        path: PathBuf,
        mode: u32,
        source: io::Error,
    },
}

impl Listen {
    /// The closest [`io::ErrorKind`]: `AddrInUse` for an address or socket
    /// file that is taken.
    pub(crate) fn io_kind(&self) -> io::ErrorKind {
        match self {
            Listen::Bind { source, .. } | Listen::Permissions { source, .. } => source.kind(),
            Listen::UnixInUse { .. } | Listen::NotASocket { .. } => io::ErrorKind::AddrInUse,
        }
    }

    pub(crate) fn source(&self) -> Option<&io::Error> {
        match self {
            Listen::Bind { source, .. } | Listen::Permissions { source, .. } => Some(source),
            Listen::UnixInUse { .. } | Listen::NotASocket { .. } => None,
        }
    }
}

/// What to do about a bind that failed for this reason, if we know.
fn advice(kind: io::ErrorKind) -> Option<&'static str> {
    match kind {
        io::ErrorKind::AddrInUse => {
            Some("another socket is bound there: stop it or choose another address")
        }
        io::ErrorKind::PermissionDenied => Some(
            "ports below 1024 need privileges, and socket files need write access to their directory",
        ),
        io::ErrorKind::AddrNotAvailable => {
            Some("no local interface has this address: check the host part")
        }
        _ => None,
    }
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Listen::Bind { addr, step, source } => match advice(source.kind()) {
                Some(advice) => write!(f, "cannot listen on {addr} ({step} failed; {advice})"),
                None => write!(f, "cannot listen on {addr} ({step} failed)"),
            },
            Listen::UnixInUse { path } => write!(
                f,
                "cannot listen on unix:{}: a running server is listening there; stop it or choose another path",
                path.display()
            ),
            Listen::NotASocket { path } => write!(
                f,
                "cannot listen on unix:{}: the path exists and is not a socket; it was left alone, remove it or choose another path",
                path.display()
            ),
            Listen::Permissions { path, mode, .. } => {
                write!(f, "cannot set mode {mode:#o} on unix:{}", path.display())
            }
        }
    }
}
