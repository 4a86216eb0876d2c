//! What went wrong while serving: the events of the `on_error` hook.

use std::fmt;
use std::io;
use std::time::Duration;

use mimic::flow::Addr;
use mimic::report::Chain;

/// Something that went wrong while serving, given to the
/// [`on_error`](super::Builder::on_error) hook. None of them stops the
/// server, and none is returned to you: errors you handle are
/// [`conduit::Error`](crate::Error); these are reports, for logs and metrics.
///
/// Like conduit's errors, `{}` is the failure's own text, with its advice,
/// [`source`](std::error::Error::source) the system's error, and `{:#}`
/// both: log with `{:#}`.
///
/// ```
/// use conduit::serve::{Failure, Server};
///
/// let builder = Server::builder().on_error(|failure: &Failure| match failure {
///     Failure::Accept { .. } => eprintln!("{failure:#}"),
///     _ => {} // a client gave up during its handshake: not worth a line
/// });
/// # drop(builder);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Failure {
    /// Accepting failed; the server pauses for `retry_in`, then accepts again.
    Accept {
        /// The listener's address.
        listener: Addr,
        /// Why.
        error: io::Error,
        /// How long the server waits before accepting again.
        retry_in: Duration,
    },
    /// A connection's setup (its TLS handshake) failed; it was closed.
    Handshake {
        /// The listener's address.
        listener: Addr,
        /// The peer's address, when known.
        peer: Option<Addr>,
        /// Why.
        error: io::Error,
    },
    /// A connection's setup took longer than the handshake timeout; it was closed.
    HandshakeTimeout {
        /// The listener's address.
        listener: Addr,
        /// The peer's address, when known.
        peer: Option<Addr>,
        /// The timeout.
        after: Duration,
    },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            return Chain(self).fmt(f);
        }
        let peer = |peer: &Option<Addr>| {
            peer.as_ref()
                .map_or("a client".to_string(), Addr::to_string)
        };
        match self {
            Failure::Accept {
                listener,
                error,
                retry_in,
            } => {
                write!(
                    f,
                    "accepting on {listener} failed; retrying in {retry_in:?}"
                )?;
                if is_resource_exhaustion(error) {
                    f.write_str(
                        " (out of file descriptors or memory: raise the descriptor limit, \
                         `ulimit -n`, or lower `max_connections`)",
                    )?;
                }
                Ok(())
            }
            Failure::Handshake {
                listener,
                peer: who,
                ..
            } => write!(f, "handshake with {} on {listener} failed", peer(who)),
            Failure::HandshakeTimeout {
                listener,
                peer: who,
                after,
            } => write!(
                f,
                "handshake with {} on {listener} did not complete within {after:?}",
                peer(who)
            ),
        }
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Failure::Accept { error, .. } | Failure::Handshake { error, .. } => Some(error),
            Failure::HandshakeTimeout { .. } => None,
        }
    }
}

/// Logs with `tracing`, the whole chain: accept failures as warnings,
/// handshake failures at debug level.
pub(super) fn default_hook(failure: &Failure) {
    match failure {
        Failure::Accept { .. } => tracing::warn!(error = %format_args!("{failure:#}"), "conduit"),
        _ => tracing::debug!(error = %format_args!("{failure:#}"), "conduit"),
    }
}

/// Running out of descriptors or memory: accepting again at once would spin.
fn is_resource_exhaustion(error: &io::Error) -> bool {
    if error.kind() == io::ErrorKind::OutOfMemory {
        return true;
    }
    #[cfg(unix)]
    if let Some(code) = error.raw_os_error() {
        return matches!(
            code,
            libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM
        );
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn own_text_with_advice_then_the_cause_once() {
        let listener = Addr::Inet(([127, 0, 0, 1], 80).into());
        let failure = Failure::Accept {
            listener: listener.clone(),
            error: io::Error::from_raw_os_error(libc::EMFILE),
            retry_in: Duration::from_millis(50),
        };
        let own = "accepting on 127.0.0.1:80 failed; retrying in 50ms (out of file descriptors \
                   or memory: raise the descriptor limit, `ulimit -n`, or lower `max_connections`)";
        assert_eq!(failure.to_string(), own);
        assert_eq!(
            format!("{failure:#}"),
            format!("{own}: Too many open files (os error 24)")
        );

        let failure = Failure::Handshake {
            listener: listener.clone(),
            peer: None,
            error: io::Error::new(io::ErrorKind::InvalidData, "not TLS"),
        };
        assert_eq!(
            failure.to_string(),
            "handshake with a client on 127.0.0.1:80 failed"
        );
        assert_eq!(
            format!("{failure:#}"),
            "handshake with a client on 127.0.0.1:80 failed: not TLS"
        );

        let failure = Failure::HandshakeTimeout {
            listener,
            peer: Some(Addr::Inet(([10, 0, 0, 1], 5000).into())),
            after: Duration::from_secs(10),
        };
        let own = "handshake with 10.0.0.1:5000 on 127.0.0.1:80 did not complete within 10s";
        assert_eq!(failure.to_string(), own);
        assert_eq!(format!("{failure:#}"), own);
    }
}
